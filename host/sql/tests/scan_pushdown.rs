//! What a scan asks the connector for: projection, limit and filters reach it (checked through
//! the scan log, i.e. what the connector was asked), and one partition is read per split, up to
//! the session's target partitions.

use crate::common;

use quarry_sql::QuarryCatalogs;

#[tokio::test]
async fn projection_and_limit_reach_the_connector() {
    let (engine, _rt, _plugin) = common::engine_with_tpch().await;
    let log = engine.catalogs().scan_log();
    log.clear();
    let (schema, batches) = engine
        .sql("SELECT l_comment, l_orderkey FROM tpch.tiny.lineitem LIMIT 7")
        .await
        .unwrap();
    assert_eq!(common::rows(&batches), 7);
    let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["l_comment", "l_orderkey"]);

    let records = log.records();
    assert_eq!(records.len(), 1, "{records:?}");
    let scan = &records[0];
    assert_eq!(scan.catalog, "tpch");
    assert_eq!(scan.generation, 1);
    assert_eq!(
        (scan.request.schema.as_str(), scan.request.table.as_str()),
        ("tiny", "lineitem")
    );
    // Columns 0 (l_orderkey) and 15 (l_comment), in whatever order DataFusion asks for them.
    let mut projection = scan.request.projection.clone().expect("a projection");
    projection.sort_unstable();
    assert_eq!(projection, [0, 15]);
    assert_eq!(scan.request.limit, Some(7));
    assert!(scan.request.filters.is_empty());
}

#[tokio::test]
async fn count_star_asks_for_one_column_and_filters_the_connector_refuses_stay_in_the_engine() {
    let (engine, _rt, _plugin) = common::engine_with_tpch().await;
    let log = engine.catalogs().scan_log();
    log.clear();
    let (_, batches) = engine
        .sql("SELECT count(*) FROM tpch.tiny.nation")
        .await
        .unwrap();
    assert_eq!(common::strings(&batches), ["25"]);
    let records = log.records();
    assert_eq!(
        records.last().unwrap().request.projection.as_deref(),
        Some(&[0u32][..])
    );

    // tpch answers `unsupported` for every filter, so none is sent with the scan and
    // DataFusion filters the rows itself, with no limit sent either.
    log.clear();
    let (_, batches) = engine
        .sql("SELECT n_name FROM tpch.tiny.nation WHERE n_regionkey = 1 ORDER BY n_name LIMIT 3")
        .await
        .unwrap();
    assert_eq!(common::strings(&batches), ["ARGENTINA", "BRAZIL", "CANADA"]);
    let scan = log.records().pop().unwrap();
    assert!(scan.request.filters.is_empty(), "{scan:?}");
    assert_eq!(scan.request.limit, None);
}

/// Scans `lineitem` of a tpch catalog of `splits` splits with an engine of `target_partitions`
/// target partitions: its `EXPLAIN` plan, then asserts the count and that the connector planned
/// `splits` splits.
async fn scan_with_splits(splits: usize, target_partitions: usize) -> String {
    let (rt, plugin) = common::tpch_plugin().await;
    let catalogs = QuarryCatalogs::new();
    let splits_text = splits.to_string();
    common::set_local(
        &catalogs,
        "t",
        1,
        common::open(&rt, &plugin, "t", &[("splits", &splits_text)]),
    );
    let engine = quarry_sql::QueryEngine::new(catalogs);
    engine
        .context()
        .state_ref()
        .write()
        .config_mut()
        .options_mut()
        .execution
        .target_partitions = target_partitions;
    let (_, batches) = engine
        .sql("EXPLAIN SELECT l_orderkey FROM t.tiny.lineitem")
        .await
        .unwrap();
    let plan = format!(
        "{}",
        datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap()
    );
    let (_, batches) = engine
        .sql("SELECT count(*), sum(l_linenumber) FROM t.tiny.lineitem")
        .await
        .unwrap();
    assert_eq!(common::strings(&batches), ["60175"]);
    let scan = engine.catalogs().scan_log().records().pop().unwrap();
    assert_eq!(scan.splits, splits);
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_partition_per_split() {
    let plan = scan_with_splits(4, 8).await;
    assert!(plan.contains("splits=4, partitions=4"), "{plan}");
}

/// Past the target partitions, splits share partitions: 40 splits are read by as many
/// partitions as the engine's target partitions, each split once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_splits_share_the_target_partitions() {
    let plan = scan_with_splits(40, 16).await;
    assert!(plan.contains("splits=40, partitions=16"), "{plan}");
    let plan = scan_with_splits(40, 3).await;
    assert!(plan.contains("splits=40, partitions=3"), "{plan}");
}
