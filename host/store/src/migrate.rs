//! The embedded migrations, one set per backend, and the check that refuses a database whose
//! schema is newer than this binary.
//!
//! Migration files live at the repository root in `migrations/sqlite/` and
//! `migrations/postgres/`; both sets must mean the same thing and carry the same version numbers.
//! They are embedded at compile time with `include_str!` and applied when a store is opened. On
//! PostgreSQL sqlx serialises concurrent migrators with an advisory lock, so several coordinators
//! may start at once.
//!
//! The files are listed by hand in [`MIGRATIONS`] rather than found by `sqlx::migrate!`, whose
//! proc-macro crate would compile sqlx's drivers and SQLite a second time (ADR 0014). A test
//! fails, naming the file, when a migration file is not listed.

use std::sync::LazyLock;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationType, Migrator};

use crate::error::{Error, Result};

/// One migration: its version, the description sqlx records (the file name after the version,
/// underscores as spaces, as `sqlx::migrate!` would give) and its SQL for each backend.
struct MigrationFiles {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration, oldest first; file `NNNN_name.sql` in both `migrations/sqlite/` and
/// `migrations/postgres/`.
const MIGRATIONS: &[MigrationFiles] = &[
    MigrationFiles {
        version: 1,
        description: "catalog store",
        sqlite: include_str!("../../../migrations/sqlite/0001_catalog_store.sql"),
        postgres: include_str!("../../../migrations/postgres/0001_catalog_store.sql"),
    },
    MigrationFiles {
        version: 2,
        description: "worker keys",
        sqlite: include_str!("../../../migrations/sqlite/0002_worker_keys.sql"),
        postgres: include_str!("../../../migrations/postgres/0002_worker_keys.sql"),
    },
];

fn migrator(sql_of: fn(&MigrationFiles) -> &'static str) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|files| {
                Migration::new(
                    files.version,
                    files.description.into(),
                    MigrationType::Simple,
                    sql_of(files).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

pub(crate) static SQLITE: LazyLock<Migrator> = LazyLock::new(|| migrator(|files| files.sqlite));
pub(crate) static POSTGRES: LazyLock<Migrator> = LazyLock::new(|| migrator(|files| files.postgres));

/// The newest schema version `migrator` knows.
pub(crate) fn known_version(migrator: &Migrator) -> i64 {
    migrator
        .iter()
        .filter(|migration| !migration.migration_type.is_down_migration())
        .map(|migration| migration.version)
        .max()
        .unwrap_or(0)
}

/// Refuses a database that a newer quarry migrated: one with an applied migration version above
/// the newest this binary knows. Call before running `migrator` on the same connection.
pub(crate) async fn check_not_newer<C: Migrate>(migrator: &Migrator, conn: &mut C) -> Result<()> {
    let known = known_version(migrator);
    // Under the migration lock, so that a newer quarry migrating at the same moment is seen
    // either before it starts or after it is done.
    conn.lock().await?;
    let applied = applied_versions(migrator, conn).await;
    conn.unlock().await?;
    match applied?.into_iter().max() {
        Some(found) if found > known => Err(Error::SchemaTooNew { found, known }),
        _ => Ok(()),
    }
}

/// Maps an error from running `migrator`, turning a missing newer version (a newer quarry
/// migrated between [`check_not_newer`] and the run) into [`Error::SchemaTooNew`].
pub(crate) fn run_error(migrator: &Migrator, error: MigrateError) -> Error {
    let known = known_version(migrator);
    match error {
        MigrateError::VersionMissing(found) if found > known => {
            Error::SchemaTooNew { found, known }
        }
        other => Error::Migrate(other),
    }
}

async fn applied_versions<C: Migrate>(migrator: &Migrator, conn: &mut C) -> Result<Vec<i64>> {
    conn.ensure_migrations_table(&migrator.table_name).await?;
    let applied = conn.list_applied_migrations(&migrator.table_name).await?;
    Ok(applied
        .into_iter()
        .map(|migration| migration.version)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `NNNN_description.sql` files of one backend's migration directory.
    fn files_in(backend: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_migration_file_is_listed_for_both_backends() {
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|files| {
                format!(
                    "{:04}_{}.sql",
                    files.version,
                    files.description.replace(' ', "_")
                )
            })
            .collect();
        for backend in ["sqlite", "postgres"] {
            assert_eq!(
                files_in(backend),
                listed,
                "migrations/{backend}/ and MIGRATIONS in host/store/src/migrate.rs differ: \
                 list every migration file there"
            );
        }
    }

    #[test]
    fn both_backends_know_the_same_versions() {
        let versions = |migrator: &Migrator| -> Vec<i64> {
            migrator.iter().map(|migration| migration.version).collect()
        };
        assert_eq!(versions(&SQLITE), versions(&POSTGRES));
        assert!(known_version(&SQLITE) >= 1);
    }
}
