//! [`Store`]: a connection pool to SQLite or PostgreSQL, opened and migrated.
//!
//! # Two backends
//!
//! The store holds an enum over the two native pools, [`SqlitePool`] and [`PgPool`], rather
//! than sqlx's `Any` driver. `Any` maps every value onto a lowest common denominator: it has no
//! timestamp type (times would travel as text or integers we format ourselves), no JSON type,
//! and it would run one set of migrations against both databases, so PostgreSQL would lose
//! `TIMESTAMPTZ`, `JSONB` and `BYTEA`. With native pools each backend gets its own migrations and
//! column types, and sqlx decodes them into `DateTime<Utc>`, JSON documents and bytes directly.
//!
//! The cost is that each query is compiled once per backend. [`on_backend!`] keeps that to one
//! written copy: it expands the same block for each pool, and the SQL is shared because both
//! backends accept `$N` parameters, `ON CONFLICT`, and `RETURNING`. Where the dialects differ
//! (comparing timestamps, which SQLite stores as text), the query matches on the backend itself.
//!
//! Timestamps are taken on the coordinator ([`now`]) and bound as parameters, never from the
//! database's clock, so both backends store the same value; they are truncated to microseconds,
//! PostgreSQL's precision, so a value reads back equal to what was written.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Postgres, Sqlite, Transaction};

use crate::error::{Error, Result};
use crate::migrate;

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The catalog store: plugins, catalogs, workers and what each worker reports per catalog.
///
/// Cheap to clone (the pool is shared). Every change is one transaction.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) backend: Backend,
}

/// The database a [`Store`] talks to.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the store's native pool, once per backend; see the module
/// documentation.
macro_rules! on_backend {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Starting a transaction that will write.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;

    fn begin_write(&self) -> impl Future<Output = sqlx::Result<Transaction<'static, Self::Db>>>;
}

impl BeginWrite for SqlitePool {
    type Db = Sqlite;

    /// `BEGIN IMMEDIATE` takes SQLite's write lock up front, waiting up to the busy timeout.
    /// A deferred transaction that reads first and writes later would instead fail at once with
    /// `SQLITE_BUSY` when another writer committed in between, and the busy timeout does not
    /// help there.
    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Db = Postgres;

    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        self.begin().await
    }
}

/// The current time, at the precision both backends store.
pub(crate) fn now() -> DateTime<Utc> {
    storage_precision(Utc::now())
}

/// `time` truncated to microseconds, the precision both backends store, so that what is
/// written reads back equal and compares equal in SQL.
pub(crate) fn storage_precision(time: DateTime<Utc>) -> DateTime<Utc> {
    time.trunc_subsecs(6)
}

impl Store {
    /// Opens (and migrates) the store at `url`:
    ///
    /// - `sqlite://PATH`: a SQLite file, created with its directory if missing, in WAL mode with
    ///   foreign keys enforced and a busy timeout, so concurrent writers wait instead of failing;
    /// - `postgres://…` (or `postgresql://…`): a PostgreSQL database that must exist.
    ///
    /// Fails with [`Error::SchemaTooNew`] when a newer quarry already migrated the database.
    pub async fn open(url: &str) -> Result<Store> {
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        match scheme {
            "sqlite" => Self::open_sqlite(url).await,
            "postgres" | "postgresql" => Self::open_postgres(url).await,
            other => Err(Error::UnsupportedUrl {
                scheme: other.to_owned(),
            }),
        }
    }

    async fn open_sqlite(url: &str) -> Result<Store> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        let path = options.get_filename().to_owned();
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let in_memory = path.as_os_str() == ":memory:" || url.contains("mode=memory");
        if !in_memory {
            owner_only(&path)?;
        }
        let pool = SqlitePoolOptions::new().connect_with(options).await?;
        let mut conn = pool.acquire().await?;
        migrate::check_not_newer(&migrate::SQLITE, &mut *conn).await?;
        migrate::SQLITE
            .run(&mut *conn)
            .await
            .map_err(|error| migrate::run_error(&migrate::SQLITE, error))?;
        drop(conn);
        tracing::info!(path = %path.display(), "opened the sqlite catalog store");
        Ok(Store {
            backend: Backend::Sqlite(pool),
        })
    }

    async fn open_postgres(url: &str) -> Result<Store> {
        let pool = PgPoolOptions::new().connect(url).await?;
        let mut conn = pool.acquire().await?;
        migrate::check_not_newer(&migrate::POSTGRES, &mut *conn).await?;
        migrate::POSTGRES
            .run(&mut *conn)
            .await
            .map_err(|error| migrate::run_error(&migrate::POSTGRES, error))?;
        drop(conn);
        tracing::info!("opened the postgres catalog store");
        Ok(Store {
            backend: Backend::Postgres(pool),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The newest schema version this binary knows (the database is at this version once open).
    pub fn schema_version(&self) -> i64 {
        match self.backend {
            Backend::Sqlite(_) => migrate::known_version(&migrate::SQLITE),
            Backend::Postgres(_) => migrate::known_version(&migrate::POSTGRES),
        }
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        on_backend!(self, pool => pool.close().await)
    }
}

/// Creates the SQLite file with mode 0600 when it is missing, and takes group and other
/// permissions away from an existing one. SQLite gives its `-wal` and `-shm` files the mode of
/// the database file.
fn owner_only(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let error = |source| Error::FileMode {
        path: path.to_owned(),
        source,
    };
    match std::fs::metadata(path) {
        Ok(metadata) => {
            let mode = metadata.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
                    .map_err(error)?;
                tracing::warn!(path = %path.display(), "the catalog database was readable by other users; made it owner-only (0600)");
            }
        }
        Err(_) => {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(error)?;
        }
    }
    Ok(())
}
