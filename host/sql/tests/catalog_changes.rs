//! Catalogs set, replaced and removed at runtime are visible to the next query; the catalog
//! statements and `information_schema` see them too.

use crate::common;

use quarry_sql::{Error, QuarryCatalogs, QueryEngine};

#[tokio::test]
async fn replacing_and_removing_a_catalog_is_visible_to_the_next_query() {
    let (rt, plugin) = common::tpch_plugin().await;
    let catalogs = QuarryCatalogs::new();
    let engine = QueryEngine::new(catalogs.clone());

    let err = engine
        .sql("SELECT count(*) FROM tpch.tiny.nation")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("tpch"), "{err}");

    common::set_local(
        &catalogs,
        "tpch",
        1,
        common::open(&rt, &plugin, "tpch", &[]),
    );
    let count = "SELECT count(*) FROM tpch.tiny.lineitem";
    let (_, batches) = engine.sql(count).await.unwrap();
    assert_eq!(common::strings(&batches), ["60175"]);
    let first = catalogs.scan_log().records().pop().unwrap();
    assert_eq!(first.generation, 1);

    // Same generation again: nothing changes.
    common::set_local(
        &catalogs,
        "tpch",
        1,
        common::open(&rt, &plugin, "tpch", &[("splits", "3")]),
    );
    engine.sql(count).await.unwrap();
    assert_eq!(
        catalogs.scan_log().records().pop().unwrap().splits,
        first.splits
    );

    // A new generation with other properties: the next query plans with it.
    common::set_local(
        &catalogs,
        "tpch",
        2,
        common::open(&rt, &plugin, "tpch", &[("splits", "3")]),
    );
    assert_eq!(catalogs.generation("tpch"), Some(2));
    let (_, batches) = engine.sql(count).await.unwrap();
    assert_eq!(common::strings(&batches), ["60175"]);
    let second = catalogs.scan_log().records().pop().unwrap();
    assert_eq!((second.generation, second.splits), (2, 3));

    // Removed: the next query fails and naming it is an error; another catalog still works.
    common::set_local(
        &catalogs,
        "other",
        1,
        common::open(&rt, &plugin, "other", &[]),
    );
    assert!(catalogs.remove_catalog("tpch"));
    assert!(!catalogs.remove_catalog("tpch"));
    let err = engine.sql(count).await.unwrap_err();
    assert!(err.to_string().contains("tpch"), "{err}");
    let (_, batches) = engine
        .sql("SELECT count(*) FROM other.tiny.region")
        .await
        .unwrap();
    assert_eq!(common::strings(&batches), ["5"]);
}

#[tokio::test]
async fn show_statements_and_information_schema() {
    let (engine, rt, plugin) = common::engine_with_tpch().await;
    common::set_local(
        engine.catalogs(),
        "bench",
        7,
        common::open(&rt, &plugin, "bench", &[]),
    );

    let (schema, batches) = engine.sql("SHOW CATALOGS").await.unwrap();
    assert_eq!(schema.field(0).name(), "Catalog");
    // `quarry` is the system catalog every session starts in (public, pg_catalog).
    assert_eq!(common::strings(&batches), ["bench", "quarry", "tpch"]);

    let (_, batches) = engine.sql("show schemas from tpch").await.unwrap();
    let schemas = common::strings(&batches);
    assert!(
        schemas.contains(&"tiny".to_owned()) && schemas.contains(&"sf1".to_owned()),
        "{schemas:?}"
    );

    let (schema, batches) = engine.sql("SHOW TABLES FROM tpch.tiny;").await.unwrap();
    assert_eq!(schema.field(0).name(), "Table");
    assert_eq!(
        common::strings(&batches),
        [
            "customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"
        ]
    );

    let err = engine.sql("SHOW TABLES FROM tpch.sf7").await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(err.to_string(), "schema \"tpch.sf7\" not found");
    let err = engine.sql("SHOW SCHEMAS FROM nope").await.unwrap_err();
    assert_eq!(err.to_string(), "catalog \"nope\" not found");
    let err = engine.sql("DROP CATALOG tpch").await.unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err:?}");

    let (_, batches) = engine
        .sql(
            "SELECT table_name FROM information_schema.tables \
             WHERE table_catalog = 'bench' AND table_schema = 'tiny' ORDER BY table_name",
        )
        .await
        .unwrap();
    assert_eq!(common::strings(&batches).len(), 8);
    let (_, batches) = engine
        .sql(
            "SELECT data_type FROM information_schema.columns WHERE table_catalog = 'tpch' \
             AND table_schema = 'tiny' AND table_name = 'lineitem' AND column_name = 'l_shipdate'",
        )
        .await
        .unwrap();
    assert_eq!(common::strings(&batches), ["Date32"]);
}
