//! The store's error type: one variant per thing a caller may want to react to differently
//! (404, 409, refuse to start), and `Database` for everything else.

use std::fmt;
use std::path::PathBuf;

use sqlx::error::ErrorKind;

/// What kind of thing an error is about; shown in messages (`catalog "sales" not found`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Plugin,
    /// The bytes of a plugin component, addressed by sha256.
    PluginComponent,
    Catalog,
    Worker,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::Plugin => "plugin",
            Entity::PluginComponent => "plugin component",
            Entity::Catalog => "catalog",
            Entity::Worker => "worker",
        })
    }
}

/// Errors at the store's boundary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named thing does not exist. `name` is `name@version` for a plugin and the hex sha256
    /// for a plugin component.
    #[error("{kind} \"{name}\" not found")]
    NotFound { kind: Entity, name: String },

    /// The change collides with the current state: a name that already exists, a stale
    /// expected generation, a report for a generation that does not exist yet. The message
    /// names the thing (`catalog "sales" already exists`).
    #[error("{0}")]
    Conflict(String),

    /// A plugin cannot be deleted while catalogs use it.
    #[error("plugin \"{plugin}\" is used by {}", quoted_list("catalog", catalogs))]
    InUse {
        plugin: String,
        catalogs: Vec<String>,
    },

    /// The database was migrated by a newer quarry; this binary refuses to touch it.
    #[error(
        "database schema version {found} is newer than this quarry knows (up to {known}); \
         upgrade quarry"
    )]
    SchemaTooNew { found: i64, known: i64 },

    /// A name (catalog, plugin, worker id) or version that is not acceptable.
    #[error("invalid {kind} \"{value}\": {reason}")]
    InvalidName {
        kind: &'static str,
        value: String,
        reason: &'static str,
    },

    /// The database URL names no backend this store supports. Only the scheme is kept, so a
    /// password in the URL never reaches a log.
    #[error(
        "unsupported database url scheme \"{scheme}\": expected sqlite://PATH or \
         postgres://USER@HOST/DATABASE"
    )]
    UnsupportedUrl { scheme: String },

    /// The directory that should hold the SQLite file could not be created.
    #[error("cannot create database directory \"{}\": {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The SQLite file could not be created or restricted to its owner (mode 0600).
    #[error("cannot make database file \"{}\" readable by its owner only: {source}", path.display())]
    FileMode {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Applying the embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// Anything else the database said.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn not_found(kind: Entity, name: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            name: name.into(),
        }
    }
}

/// A state column held a value this binary does not know (`worker state "zombie"`).
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} \"{value}\"")]
pub struct UnknownState {
    pub kind: &'static str,
    pub value: String,
}

/// Whether a database error is a unique (or primary key) violation, on either backend.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    database_error_kind(error) == Some(ErrorKind::UniqueViolation)
}

/// Whether a database error is a foreign key violation, on either backend.
pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    database_error_kind(error) == Some(ErrorKind::ForeignKeyViolation)
}

fn database_error_kind(error: &sqlx::Error) -> Option<ErrorKind> {
    match error {
        sqlx::Error::Database(database_error) => Some(database_error.kind()),
        _ => None,
    }
}

fn quoted_list(noun: &str, names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("\"{name}\"")).collect();
    let plural = if names.len() == 1 { "" } else { "s" };
    format!("{noun}{plural} {}", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_name_the_thing() {
        assert_eq!(
            Error::not_found(Entity::Catalog, "sales").to_string(),
            "catalog \"sales\" not found"
        );
        assert_eq!(
            Error::InUse {
                plugin: "tpch@0.1.0".into(),
                catalogs: vec!["a".into(), "b".into()],
            }
            .to_string(),
            "plugin \"tpch@0.1.0\" is used by catalogs \"a\", \"b\""
        );
        assert_eq!(
            Error::SchemaTooNew { found: 7, known: 3 }.to_string(),
            "database schema version 7 is newer than this quarry knows (up to 3); upgrade quarry"
        );
    }
}
