//! The tpch component through the runtime: metadata, types, row counts and splits.

use crate::common;

use arrow_array::StringArray;
use arrow_schema::DataType as Arrow;
use quarry_runtime::{
    CatalogConfig, ConnectorErrorKind, DataType, Error, ScanRequest, TableSchemaArrow,
};

async fn tpch() -> quarry_runtime::Connector {
    let rt = common::runtime();
    let plugin = common::load(&rt, "tpch").await;
    assert_eq!(plugin.info().spec.name, "tpch");
    rt.open_catalog(CatalogConfig::new("tpch", &plugin))
        .expect("open tpch")
}

#[tokio::test]
async fn lists_scale_factors_as_schemas_and_the_eight_tables() {
    let tpch = tpch().await;
    let schemas = tpch.list_schemas().await.unwrap();
    for s in ["tiny", "sf1", "sf10", "sf100", "sf1000"] {
        assert!(
            schemas.iter().any(|x| x == s),
            "{s} missing from {schemas:?}"
        );
    }
    let mut tables = tpch.list_tables("tiny").await.unwrap();
    tables.sort();
    assert_eq!(
        tables,
        [
            "customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"
        ]
    );
    let err = tpch.list_tables("sf7").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connector {
                kind: ConnectorErrorKind::NotFound,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("catalog \"tpch\": plugin \"tpch@"),
        "{err}"
    );
}

#[tokio::test]
async fn describes_lineitem_with_arrow_types() {
    let tpch = tpch().await;
    let lineitem = tpch.describe_table("tiny", "lineitem").await.unwrap();
    assert_eq!(lineitem.columns.len(), 16);
    // lineitem's size is only known by generating it; nation's is exact.
    let nation = tpch.describe_table("tiny", "nation").await.unwrap();
    assert_eq!(nation.row_count, Some(25));
    let col = |name: &str| {
        lineitem
            .columns
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    assert_eq!(col("l_orderkey").data_type, DataType::Int64);
    assert_eq!(
        col("l_extendedprice").data_type,
        DataType::Decimal128 {
            precision: 15,
            scale: 2
        }
    );
    assert_eq!(col("l_shipdate").data_type, DataType::Date32);
    assert_eq!(col("l_comment").data_type, DataType::Utf8);

    let schema = lineitem.arrow_schema();
    assert_eq!(
        schema
            .field_with_name("l_extendedprice")
            .unwrap()
            .data_type(),
        &Arrow::Decimal128(15, 2)
    );
    assert_eq!(
        schema.field_with_name("l_shipdate").unwrap().data_type(),
        &Arrow::Date32
    );
    assert_eq!(
        schema.field_with_name("l_orderkey").unwrap().data_type(),
        &Arrow::Int64
    );
}

#[tokio::test]
async fn row_counts_at_tiny() {
    let tpch = tpch().await;
    for (table, expected) in [("nation", 25), ("region", 5), ("lineitem", 60_175)] {
        let batches = common::scan_all(&tpch, &ScanRequest::table("tiny", table))
            .await
            .unwrap();
        assert_eq!(common::rows(&batches), expected, "{table}");
        let described = tpch.describe_table("tiny", table).await.unwrap();
        for b in &batches {
            assert_eq!(b.schema().as_ref(), &described.arrow_schema(), "{table}");
        }
    }
}

#[tokio::test]
async fn splits_cover_the_table_and_projection_is_honoured() {
    let rt = common::runtime();
    let plugin = common::load(&rt, "tpch").await;
    let tpch = rt
        .open_catalog(CatalogConfig::new("tpch4", &plugin).property("splits", "4"))
        .unwrap();
    let mut request = ScanRequest::table("tiny", "lineitem");
    request.projection = Some(vec![15, 0]);
    let plan = tpch.plan_scan(&request).await.unwrap();
    assert_eq!(plan.splits.len(), 4);
    let estimated: u64 = plan.splits.iter().filter_map(|s| s.estimated_rows).sum();
    assert!(estimated.abs_diff(60_175) < 1_000, "estimates {estimated}");

    let mut total = 0;
    for split in plan.splits {
        let batches: Vec<_> =
            futures::TryStreamExt::try_collect(tpch.scan(request.clone(), split).await.unwrap())
                .await
                .unwrap();
        for b in &batches {
            let names: Vec<_> = b
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            assert_eq!(names, ["l_comment", "l_orderkey"]);
        }
        total += common::rows(&batches);
    }
    assert_eq!(total, 60_175);
    // The scans reused one warm instance rather than building the text pool per split.
    assert_eq!(tpch.warm_instances(), 1);
}

/// tpch builds its text pool in `pre-initialize`, so instances start from the load's snapshot
/// of it. Every comment is drawn from that pool: they must be dbgen's, with the snapshot and
/// without it (`pre_initialize = false`, each instance building its own pool).
#[tokio::test]
async fn comments_drawn_from_the_pre_initialised_text_pool_are_dbgens() {
    common::init_tracing();
    let expected: Vec<String> = tpchgen::generators::OrderGenerator::new(0.01, 1, 1)
        .iter()
        .map(|order| order.o_comment.to_owned())
        .collect();
    assert_eq!(expected.len(), 15_000);
    for pre_initialize in [true, false] {
        let rt = quarry_runtime::Runtime::new(quarry_runtime::RuntimeConfig {
            pre_initialize,
            ..Default::default()
        })
        .unwrap();
        let plugin = common::load(&rt, "tpch").await;
        assert_eq!(plugin.info().pre_initialized, pre_initialize);
        let tpch = rt
            .open_catalog(CatalogConfig::new("tpch", &plugin))
            .unwrap();
        let mut request = ScanRequest::table("tiny", "orders");
        request.projection = Some(vec![8]);
        let batches = common::scan_all(&tpch, &request).await.unwrap();
        let comments: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                let column = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
                column
                    .iter()
                    .map(|v| v.unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            comments.len(),
            expected.len(),
            "pre_initialize={pre_initialize}"
        );
        assert!(
            comments == expected,
            "pre_initialize={pre_initialize}: o_comment differs from dbgen's"
        );
    }
}
