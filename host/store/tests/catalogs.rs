//! Catalogs: create, alter with generations, delete, uniqueness under concurrency, failed writes
//! leaving nothing behind, and secret redaction.

use std::collections::BTreeMap;

use crate::common::{TestDb, catalog_spec, component, new_plugin, store_with_plugin};
use quarry_store::{Entity, Error, Grants, REDACTED};

backend_tests!(
    create_get_list_and_delete,
    alter_bumps_the_generation,
    alter_with_a_stale_expected_generation_is_a_conflict,
    a_catalog_name_is_unique,
    concurrent_creates_of_one_catalog_give_one_success,
    a_create_on_a_missing_plugin_writes_nothing,
    an_alter_on_a_missing_plugin_changes_nothing,
    secret_properties_are_redacted_on_request,
);

async fn create_get_list_and_delete(db: &TestDb) {
    let store = store_with_plugin(db).await;
    let spec = catalog_spec("pg", "1.0.0");
    let created = store.create_catalog("sales", &spec).await.unwrap();
    assert_eq!(created.name, "sales");
    assert_eq!(created.generation, 1);
    assert_eq!(created.plugin_reference(), "pg@1.0.0");
    // Stored as given: the env reference stays a reference.
    assert_eq!(created.properties["password"], "${ENV:PG_PASSWORD}");
    assert_eq!(created.grants, spec.grants);
    assert_eq!(created.created_at, created.updated_at);

    assert_eq!(store.get_catalog("sales").await.unwrap(), created);
    store
        .create_catalog("archive", &catalog_spec("pg", "1.0.0"))
        .await
        .unwrap();
    let names: Vec<String> = store
        .list_catalogs()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["archive", "sales"]);

    store.delete_catalog("sales").await.unwrap();
    let error = store.get_catalog("sales").await.unwrap_err();
    assert_eq!(error.to_string(), "catalog \"sales\" not found");
    let error = store.delete_catalog("sales").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::NotFound {
                kind: Entity::Catalog,
                ..
            }
        ),
        "{error:?}"
    );

    // A name can be used again once deleted, starting over at generation 1.
    let again = store.create_catalog("sales", &spec).await.unwrap();
    assert_eq!(again.generation, 1);
}

async fn alter_bumps_the_generation(db: &TestDb) {
    let store = store_with_plugin(db).await;
    store
        .create_plugin(&new_plugin("pg", "2.0.0"), &component(2))
        .await
        .unwrap();
    let created = store
        .create_catalog("sales", &catalog_spec("pg", "1.0.0"))
        .await
        .unwrap();

    let mut spec = catalog_spec("pg", "2.0.0");
    spec.properties = BTreeMap::from([("user".to_owned(), "bob".to_owned())]);
    spec.grants = Grants::default();
    let altered = store.alter_catalog("sales", &spec, None).await.unwrap();
    assert_eq!(altered.generation, 2);
    assert_eq!(altered.plugin_version, "2.0.0");
    assert_eq!(altered.properties, spec.properties);
    assert_eq!(altered.grants, Grants::default());
    assert_eq!(altered.created_at, created.created_at);
    assert!(altered.updated_at >= created.updated_at);
    assert_eq!(store.get_catalog("sales").await.unwrap(), altered);

    let again = store.alter_catalog("sales", &spec, Some(2)).await.unwrap();
    assert_eq!(again.generation, 3);

    let error = store.alter_catalog("nope", &spec, None).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::NotFound {
                kind: Entity::Catalog,
                ..
            }
        ),
        "{error:?}"
    );
    let error = store
        .alter_catalog("nope", &spec, Some(1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::NotFound {
                kind: Entity::Catalog,
                ..
            }
        ),
        "{error:?}"
    );
}

async fn alter_with_a_stale_expected_generation_is_a_conflict(db: &TestDb) {
    let store = store_with_plugin(db).await;
    let spec = catalog_spec("pg", "1.0.0");
    store.create_catalog("sales", &spec).await.unwrap();
    store.alter_catalog("sales", &spec, Some(1)).await.unwrap();

    let error = store
        .alter_catalog("sales", &spec, Some(1))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Conflict(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "catalog \"sales\" is at generation 2, not 1"
    );
    assert_eq!(store.get_catalog("sales").await.unwrap().generation, 2);
}

async fn a_catalog_name_is_unique(db: &TestDb) {
    let store = store_with_plugin(db).await;
    let spec = catalog_spec("pg", "1.0.0");
    store.create_catalog("sales", &spec).await.unwrap();
    let error = store.create_catalog("sales", &spec).await.unwrap_err();
    assert!(matches!(error, Error::Conflict(_)), "{error:?}");
    assert_eq!(error.to_string(), "catalog \"sales\" already exists");
}

async fn concurrent_creates_of_one_catalog_give_one_success(db: &TestDb) {
    let store = store_with_plugin(db).await;
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_catalog("sales", &catalog_spec("pg", "1.0.0"))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    let mut conflicts = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(catalog) => {
                assert_eq!(catalog.generation, 1);
                ok += 1;
            }
            Err(Error::Conflict(message)) => {
                assert_eq!(message, "catalog \"sales\" already exists");
                conflicts += 1;
            }
            Err(other) => panic!("expected a conflict, got {other:?}"),
        }
    }
    assert_eq!((ok, conflicts), (1, 7));
    assert_eq!(db.count_rows("catalogs").await, 1);
}

async fn a_create_on_a_missing_plugin_writes_nothing(db: &TestDb) {
    let store = store_with_plugin(db).await;
    let error = store
        .create_catalog("sales", &catalog_spec("pg", "9.9.9"))
        .await
        .unwrap_err();
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
    assert_eq!(error.to_string(), "plugin \"pg@9.9.9\" not found");
    // Read back: no row, and the name is still free.
    assert!(matches!(
        store.get_catalog("sales").await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(db.count_rows("catalogs").await, 0);
    store
        .create_catalog("sales", &catalog_spec("pg", "1.0.0"))
        .await
        .unwrap();

    let error = store
        .create_catalog("Bad-Name", &catalog_spec("pg", "1.0.0"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidName { .. }), "{error:?}");
    assert_eq!(db.count_rows("catalogs").await, 1);
}

async fn an_alter_on_a_missing_plugin_changes_nothing(db: &TestDb) {
    let store = store_with_plugin(db).await;
    let before = store
        .create_catalog("sales", &catalog_spec("pg", "1.0.0"))
        .await
        .unwrap();
    let error = store
        .alter_catalog("sales", &catalog_spec("nope", "1.0.0"), None)
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "plugin \"nope@1.0.0\" not found");
    assert_eq!(store.get_catalog("sales").await.unwrap(), before);
}

async fn secret_properties_are_redacted_on_request(db: &TestDb) {
    let store = store_with_plugin(db).await;
    let mut spec = catalog_spec("pg", "1.0.0");
    spec.properties
        .insert("password".to_owned(), "hunter2".to_owned());
    store.create_catalog("sales", &spec).await.unwrap();

    let shown = store.catalog_properties_redacted("sales").await.unwrap();
    assert_eq!(shown["user"], "alice");
    assert_eq!(shown["password"], REDACTED);
    // Stored as given.
    assert_eq!(
        store.get_catalog("sales").await.unwrap().properties["password"],
        "hunter2"
    );
    let error = store.catalog_properties_redacted("nope").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::NotFound {
                kind: Entity::Catalog,
                ..
            }
        ),
        "{error:?}"
    );
}
