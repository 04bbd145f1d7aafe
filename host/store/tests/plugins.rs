//! Plugins: upload, read, content-addressed bytes, uniqueness, and deletion rules.

use crate::common::{OpenStore, TestDb, catalog_spec, component, new_plugin, store_with_plugin};
use quarry_store::{Entity, Error};
use sha2::{Digest, Sha256};

backend_tests!(
    create_get_list_and_delete,
    identical_bytes_are_stored_once,
    a_plugin_name_version_is_unique,
    concurrent_creates_of_one_plugin_give_one_success,
    a_plugin_in_use_cannot_be_deleted,
    invalid_names_are_refused_before_writing,
);

async fn create_get_list_and_delete(db: &TestDb) {
    let store = db.open().await;
    let bytes = component(7);
    let created = store
        .create_plugin(&new_plugin("pg", "1.0.0"), &bytes)
        .await
        .unwrap();
    assert_eq!(created.sha256, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(created.size, bytes.len() as u64);
    assert_eq!(created.contract_version, "0.1.0");
    assert_eq!(
        created.config_fields,
        new_plugin("pg", "1.0.0").config_fields
    );
    assert_eq!(created.reference(), "pg@1.0.0");

    assert_eq!(store.get_plugin("pg", "1.0.0").await.unwrap(), created);
    assert_eq!(
        store.plugin_component(&created.sha256).await.unwrap(),
        bytes
    );
    store
        .create_plugin(&new_plugin("pg", "1.1.0"), &component(8))
        .await
        .unwrap();
    store
        .create_plugin(&new_plugin("files", "0.1.0"), &component(9))
        .await
        .unwrap();
    let listed: Vec<String> = store
        .list_plugins()
        .await
        .unwrap()
        .iter()
        .map(|p| p.reference())
        .collect();
    assert_eq!(listed, ["files@0.1.0", "pg@1.0.0", "pg@1.1.0"]);
    assert_eq!(store.list_plugin_versions("pg").await.unwrap().len(), 2);

    store.delete_plugin("pg", "1.0.0").await.unwrap();
    let error = store.get_plugin("pg", "1.0.0").await.unwrap_err();
    assert_eq!(error.to_string(), "plugin \"pg@1.0.0\" not found");
    // Its bytes went with it: nothing else had them.
    assert!(matches!(
        store.plugin_component(&created.sha256).await,
        Err(Error::NotFound {
            kind: Entity::PluginComponent,
            ..
        })
    ));
    let error = store.delete_plugin("pg", "1.0.0").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::NotFound {
                kind: Entity::Plugin,
                ..
            }
        ),
        "{error:?}"
    );
}

async fn identical_bytes_are_stored_once(db: &TestDb) {
    let store = db.open().await;
    let a = store
        .create_plugin(&new_plugin("pg", "1.0.0"), &component(5))
        .await
        .unwrap();
    let b = store
        .create_plugin(&new_plugin("pg", "1.0.1"), &component(5))
        .await
        .unwrap();
    assert_eq!(a.sha256, b.sha256);
    assert_eq!(db.count_rows("plugin_blobs").await, 1);

    // Deleting one keeps the bytes for the other; deleting both removes them.
    store.delete_plugin("pg", "1.0.0").await.unwrap();
    assert_eq!(
        store.plugin_component(&b.sha256).await.unwrap(),
        component(5)
    );
    store.delete_plugin("pg", "1.0.1").await.unwrap();
    assert_eq!(db.count_rows("plugin_blobs").await, 0);
}

async fn a_plugin_name_version_is_unique(db: &TestDb) {
    let store = store_with_plugin(db).await;
    let error = store
        .create_plugin(&new_plugin("pg", "1.0.0"), &component(2))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Conflict(_)), "{error:?}");
    assert_eq!(error.to_string(), "plugin \"pg@1.0.0\" already exists");
    // The failed upload wrote nothing: not its row, not its bytes.
    assert_eq!(db.count_rows("plugins").await, 1);
    assert_eq!(db.count_rows("plugin_blobs").await, 1);
}

async fn concurrent_creates_of_one_plugin_give_one_success(db: &TestDb) {
    let store = db.open().await;
    let attempts: Vec<_> = (0..8u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_plugin(&new_plugin("pg", "1.0.0"), &component(i + 1))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    let mut conflicts = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Conflict(message)) => {
                assert_eq!(message, "plugin \"pg@1.0.0\" already exists");
                conflicts += 1;
            }
            Err(other) => panic!("expected a conflict, got {other:?}"),
        }
    }
    assert_eq!((ok, conflicts), (1, 7));
    assert_eq!(db.count_rows("plugins").await, 1);
    // Only the winner's bytes are kept.
    assert_eq!(db.count_rows("plugin_blobs").await, 1);
}

async fn a_plugin_in_use_cannot_be_deleted(db: &TestDb) {
    let store = store_with_plugin(db).await;
    for name in ["sales", "archive"] {
        store
            .create_catalog(name, &catalog_spec("pg", "1.0.0"))
            .await
            .unwrap();
    }
    let error = store.delete_plugin("pg", "1.0.0").await.unwrap_err();
    match &error {
        Error::InUse { plugin, catalogs } => {
            assert_eq!(plugin, "pg@1.0.0");
            assert_eq!(catalogs, &["archive", "sales"]);
        }
        other => panic!("expected in use, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "plugin \"pg@1.0.0\" is used by catalogs \"archive\", \"sales\""
    );
    assert!(store.get_plugin("pg", "1.0.0").await.is_ok());

    store.delete_catalog("sales").await.unwrap();
    store.delete_catalog("archive").await.unwrap();
    store.delete_plugin("pg", "1.0.0").await.unwrap();
}

async fn invalid_names_are_refused_before_writing(db: &TestDb) {
    let store = db.open().await;
    for (name, version) in [("PG", "1.0.0"), ("pg-x", "1.0.0"), ("pg", "v1"), ("", "1")] {
        let error = store
            .create_plugin(&new_plugin(name, version), &component(1))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidName { .. }), "{error:?}");
    }
    assert_eq!(db.count_rows("plugins").await, 0);
    assert_eq!(db.count_rows("plugin_blobs").await, 0);
}
