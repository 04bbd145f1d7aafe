//! Opening a store: migrations, reopening with data intact, refusing a newer schema, and the
//! SQLite file settings.

use crate::common::{OpenStore, TestDb, catalog_spec, component, new_plugin};
use quarry_store::{Error, Store};

backend_tests!(
    data_survives_close_and_reopen,
    opening_twice_is_idempotent,
    a_newer_schema_is_refused
);

async fn data_survives_close_and_reopen(db: &TestDb) {
    let store = db.open().await;
    let plugin = store
        .create_plugin(&new_plugin("pg", "1.0.0"), &component(3))
        .await
        .unwrap();
    let catalog = store
        .create_catalog("sales", &catalog_spec("pg", "1.0.0"))
        .await
        .unwrap();
    store
        .register_worker("w1", "127.0.0.1:9001", chrono::Utc::now())
        .await
        .unwrap();
    store.close().await;

    let reopened = db.open().await;
    assert_eq!(reopened.get_plugin("pg", "1.0.0").await.unwrap(), plugin);
    assert_eq!(
        reopened.plugin_component(&plugin.sha256).await.unwrap(),
        component(3)
    );
    assert_eq!(reopened.get_catalog("sales").await.unwrap(), catalog);
    assert_eq!(reopened.list_workers().await.unwrap().len(), 1);
}

async fn opening_twice_is_idempotent(db: &TestDb) {
    let first = db.open().await;
    let second = db.open().await;
    assert_eq!(first.schema_version(), second.schema_version());
    assert!(second.list_catalogs().await.unwrap().is_empty());
}

async fn a_newer_schema_is_refused(db: &TestDb) {
    let store = db.open().await;
    let known = store.schema_version();
    store.close().await;
    // What a newer quarry would leave behind: an applied migration this binary does not have.
    db.execute_raw(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (7, 'from the future', TRUE, X'00', 0)",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (7, 'from the future', TRUE, '\\x00'::bytea, 0)",
    )
    .await;

    let error = Store::open(db.url()).await.unwrap_err();
    assert!(
        matches!(error, Error::SchemaTooNew { found: 7, known: k } if k == known),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "database schema version 7 is newer than this quarry knows (up to {known}); \
             upgrade quarry"
        )
    );
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode_with_foreign_keys() {
    let db = TestDb::sqlite_in_new_directory();
    let store = db.open().await;
    let path = db.sqlite_path().unwrap();
    assert!(path.exists(), "{} was not created", path.display());
    assert_eq!(store.backend_name(), "sqlite");
    store.close().await;
    // WAL is persistent in the file; a plain connection sees it.
    db.execute_raw("SELECT 1", "SELECT 1").await;
    use sqlx::{Connection, SqliteConnection};
    let mut conn = SqliteConnection::connect(db.url()).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn an_unsupported_url_names_only_the_scheme() {
    let error = Store::open("mysql://root:hunter2@localhost/quarry")
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("\"mysql\""), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

/// The SQLite file holds plugin components and catalog definitions: no other user reads it,
/// whether Quarry creates it or finds it readable by others.
#[tokio::test]
async fn the_sqlite_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let db = TestDb::sqlite_in_new_directory();
    let path = db.sqlite_path().unwrap().to_owned();
    let store = db.open().await;
    assert_eq!(mode(&path), 0o600, "a new database file");
    store.close().await;

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = db.open().await;
    assert_eq!(
        mode(&path),
        0o600,
        "an existing database file readable by others"
    );
    store.close().await;
}
