//! The embedded migrations, one set per backend, and the check that refuses a database whose
//! schema is newer than this binary.
//!
//! Migration files live at the repository root in `migrations/sqlite/` and
//! `migrations/postgres/`; both sets must mean the same thing and carry the same version numbers.
//! They are embedded at compile time (`build.rs` makes cargo notice when they change) and applied
//! when a store is opened. On PostgreSQL sqlx serialises concurrent migrators with an advisory
//! lock, so several coordinators may start at once.

use sqlx::migrate::{Migrate, MigrateError, Migrator};

use crate::error::{Error, Result};

pub(crate) static SQLITE: Migrator = sqlx::migrate!("../../migrations/sqlite");
pub(crate) static POSTGRES: Migrator = sqlx::migrate!("../../migrations/postgres");

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

    #[test]
    fn both_backends_know_the_same_versions() {
        let versions = |migrator: &Migrator| -> Vec<i64> {
            migrator.iter().map(|migration| migration.version).collect()
        };
        assert_eq!(versions(&SQLITE), versions(&POSTGRES));
        assert!(known_version(&SQLITE) >= 1);
    }
}
