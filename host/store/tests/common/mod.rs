//! Shared helpers for the store's tests: a fresh database per test on either backend, and the
//! macro that runs one test body against both.
//!
//! PostgreSQL: `QUARRY_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! names a database to connect to for `CREATE DATABASE`; each test gets its own database
//! `quarry_test_<pid>_<nanos>_<n>` next to it, dropped when the test ends, passed or failed.

// Not every test file uses every helper; and a failed expect here is a failed test.
#![allow(dead_code, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use quarry_store::{CatalogSpec, ConfigField, Grants, NewPlugin, Store};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, SqliteConnection};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs each named `async fn(&TestDb)` once on SQLite (`sqlite::NAME`) and once on PostgreSQL
/// (`postgres::NAME`).
macro_rules! backend_tests {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = crate::common::TestDb::sqlite();
                    super::$test(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = crate::common::TestDb::postgres().await;
                    super::$test(&db).await;
                }
            )*
        }
    };
}

/// A fresh, empty database for one test, removed when dropped.
pub struct TestDb {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, database: String },
}

impl TestDb {
    /// A SQLite file in a new temporary directory (the file itself does not exist yet).
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("data/quarry.db").display());
        TestDb {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A new database on the test PostgreSQL server. Panics, saying how to start the server,
    /// when it cannot be reached: a missing PostgreSQL must fail the run, not skip it.
    pub async fn postgres() -> TestDb {
        let admin_url = std::env::var("QUARRY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "PostgreSQL is not reachable at {admin_url}: {error}\n\
                 The store's tests need it. Start it with `service postgresql start` (Debian: \
                 `apt-get install postgresql`, then allow `trust` auth for 127.0.0.1 in \
                 pg_hba.conf and `createdb -U postgres -h 127.0.0.1 test`), or point \
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

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.cleanup, Cleanup::Postgres { .. })
    }

    /// Opens (and migrates) the store on this database.
    pub async fn open(&self) -> Store {
        Store::open(&self.url).await.expect("open the store")
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

/// A plugin declaration with one plain and one secret config field.
pub fn new_plugin(name: &str, version: &str) -> NewPlugin {
    NewPlugin {
        name: name.to_owned(),
        version: version.to_owned(),
        contract_version: "0.1.0".to_owned(),
        config_fields: vec![
            ConfigField {
                name: "user".to_owned(),
                doc: "who connects".to_owned(),
                required: true,
                secret: false,
                default_value: None,
            },
            ConfigField {
                name: "password".to_owned(),
                doc: "their password".to_owned(),
                required: false,
                secret: true,
                default_value: Some(String::new()),
            },
        ],
        description: format!("the {name} connector"),
    }
}

/// Bytes standing in for a component; different `seed`s give different bytes.
pub fn component(seed: u8) -> Vec<u8> {
    let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
    bytes.extend((0..4096u32).map(|i| (i as u8).wrapping_mul(seed)));
    bytes
}

/// A catalog definition on `plugin@version` with a literal secret and an env reference.
pub fn catalog_spec(plugin: &str, version: &str) -> CatalogSpec {
    CatalogSpec {
        plugin_name: plugin.to_owned(),
        plugin_version: version.to_owned(),
        properties: BTreeMap::from([
            ("user".to_owned(), "alice".to_owned()),
            ("password".to_owned(), "${ENV:PG_PASSWORD}".to_owned()),
        ]),
        grants: Grants {
            allowed_paths: vec!["/data/sales".to_owned()],
            allowed_hosts: vec!["https://db.example.com:443".to_owned()],
            allowed_sockets: vec!["db.example.com:5432".to_owned()],
        },
    }
}

/// A store with the plugin `pg@1.0.0` uploaded.
pub async fn store_with_plugin(db: &TestDb) -> Store {
    let store = db.open().await;
    store
        .create_plugin(&new_plugin("pg", "1.0.0"), &component(1))
        .await
        .expect("create plugin");
    store
}
