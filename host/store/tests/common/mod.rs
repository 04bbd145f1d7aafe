//! Shared helpers for the store's tests: the macro that runs one test body against both
//! backends, each on a fresh database ([`TestDb`], from quarry-testing), opening the store on
//! it, and sample plugins and catalogs.

// Not every test file uses every helper; and a failed expect here is a failed test.
#![allow(dead_code, clippy::expect_used)]

use std::collections::BTreeMap;

use quarry_store::{CatalogSpec, ConfigField, Grants, NewPlugin, Store};
pub use quarry_testing::TestDb;

/// Runs each named `async fn(&TestDb)` once on SQLite (`sqlite::NAME`) and once on PostgreSQL
/// (`postgres::NAME`).
macro_rules! backend_tests {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = crate::common::TestDb::sqlite_in_new_directory();
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

/// Opening the store on a test database.
pub(crate) trait OpenStore {
    /// Opens (and migrates) the store on this database.
    async fn open(&self) -> Store;
}

impl OpenStore for TestDb {
    async fn open(&self) -> Store {
        Store::open(self.url()).await.expect("open the store")
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
