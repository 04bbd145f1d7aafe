//! A fresh, empty database per test, on SQLite (a file in a temporary directory) or PostgreSQL
//! (a new database `quarry_test_<pid>_<nanos>_<n>` on the test server, dropped when the test
//! ends, passed or failed). `QUARRY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) names a database on another server to connect to
//! for `CREATE DATABASE`. Statements can also be run on it directly, bypassing the store.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, SqliteConnection};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh, empty database for one test, removed when dropped.
pub struct TestDb {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The file, and the directory that holds it and goes with the test.
    Sqlite {
        file: PathBuf,
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        database: String,
    },
}

impl TestDb {
    /// A SQLite file `quarry.db` in a new temporary directory (the file itself does not exist
    /// yet).
    pub fn sqlite() -> TestDb {
        TestDb::sqlite_at(Path::new("quarry.db"))
    }

    /// A SQLite file in a directory that does not exist yet (`data/quarry.db` in a new
    /// temporary directory): whoever opens it creates both.
    pub fn sqlite_in_new_directory() -> TestDb {
        TestDb::sqlite_at(Path::new("data/quarry.db"))
    }

    /// A SQLite file at `relative` in a new temporary directory.
    fn sqlite_at(relative: &Path) -> TestDb {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let file = dir.path().join(relative);
        TestDb {
            url: format!("sqlite://{}", file.display()),
            cleanup: Cleanup::Sqlite { file, _dir: dir },
        }
    }

    /// A new database on the test PostgreSQL server. Panics, saying how to start the server,
    /// when it cannot be reached: a missing PostgreSQL fails the run, it does not skip it.
    pub async fn postgres() -> TestDb {
        let admin_url = std::env::var("QUARRY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "PostgreSQL is not reachable at {admin_url}: {error}\n\
                     Start it with `service postgresql start` (Debian: `apt-get install \
                     postgresql`, then allow `trust` auth for 127.0.0.1 in pg_hba.conf and \
                     `createdb -U postgres -h 127.0.0.1 test`), or point \
                     QUARRY_TEST_POSTGRES_URL at another server."
                )
            });
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos();
        let database = format!(
            "quarry_test_{}_{}_{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .await
            .expect("create the test database");
        admin.close().await.ok();
        let (base, _) = admin_url
            .rsplit_once('/')
            .expect("QUARRY_TEST_POSTGRES_URL ends in /DATABASE");
        TestDb {
            url: format!("{base}/{database}"),
            cleanup: Cleanup::Postgres {
                admin_url,
                database,
            },
        }
    }

    /// The database URL, for `Store::open` or `quarry coordinator --database`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        matches!(self.cleanup, Cleanup::Postgres { .. })
    }

    /// The SQLite file, for a SQLite database.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.cleanup {
            Cleanup::Sqlite { file, .. } => Some(file.as_path()),
            Cleanup::Postgres { .. } => None,
        }
    }

    /// Runs one statement directly, bypassing the store: `sqlite_sql` or `postgres_sql`
    /// according to the backend.
    pub async fn execute_raw(&self, sqlite_sql: &'static str, postgres_sql: &'static str) {
        if self.is_postgres() {
            let mut conn = PgConnection::connect(&self.url).await.expect("connect");
            conn.execute(postgres_sql).await.expect("run raw sql");
            conn.close().await.ok();
        } else {
            let mut conn = SqliteConnection::connect(&self.url).await.expect("connect");
            conn.execute(sqlite_sql).await.expect("run raw sql");
            conn.close().await.ok();
        }
    }

    /// Counts the rows of `table` directly, bypassing the store.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let sql = AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        if self.is_postgres() {
            let mut conn = PgConnection::connect(&self.url).await.expect("connect");
            sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect("count rows")
        } else {
            let mut conn = SqliteConnection::connect(&self.url).await.expect("connect");
            sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect("count rows")
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Cleanup::Postgres {
            admin_url,
            database,
        } = &self.cleanup
        else {
            return; // the temporary directory removes itself
        };
        let (admin_url, database) = (admin_url.clone(), database.clone());
        // Drop runs inside the test's runtime (or while unwinding from a failed test), where
        // blocking on a future is not allowed: use a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build a runtime");
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin
                    .execute(AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                    )))
                    .await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database: {dropped:?}");
        }
    }
}
