//! The hello component (the plugin-authoring tutorial's connector, `plugins/hello`) through the
//! runtime: its spec, metadata, values, splits, projection and limit, and a refused property.
//!
//! Needs `target/plugins/hello.wasm`: run `cargo xtask build-plugins` first (the test fails
//! saying so otherwise).

use crate::common;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use quarry_runtime::{CatalogConfig, Connector, ConnectorErrorKind, DataType, Error, ScanRequest};

/// A hello catalog with `properties`.
async fn hello(properties: &[(&str, &str)]) -> Connector {
    let rt = common::runtime();
    let plugin = common::load(&rt, "hello").await;
    assert_eq!(plugin.info().spec.name, "hello");
    let mut config = CatalogConfig::new("hello", &plugin);
    for (key, value) in properties {
        config = config.property(*key, *value);
    }
    rt.open_catalog(config).expect("open hello")
}

/// Column `index` of every batch, concatenated.
fn column(batches: &[RecordBatch], index: usize) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(index)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

#[tokio::test]
async fn describes_main_numbers_and_scans_every_row() {
    let hello = hello(&[("rows", "2500"), ("split_rows", "1000")]).await;
    assert_eq!(hello.list_schemas().await.unwrap(), ["main"]);
    assert_eq!(hello.list_tables("main").await.unwrap(), ["numbers"]);
    let table = hello.describe_table("main", "numbers").await.unwrap();
    let columns: Vec<_> = table
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.clone(), c.nullable))
        .collect();
    assert_eq!(
        columns,
        [
            ("n", DataType::Int64, false),
            ("square", DataType::Int64, false)
        ]
    );
    assert_eq!(table.row_count, Some(2500));

    let request = ScanRequest::table("main", "numbers");
    assert_eq!(hello.plan_scan(&request).await.unwrap().splits.len(), 3);
    let batches = common::scan_all(&hello, &request).await.unwrap();
    assert_eq!(column(&batches, 0), (1..=2500).collect::<Vec<_>>());
    assert_eq!(
        column(&batches, 1),
        (1..=2500).map(|n| n * n).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn honours_projection_and_limit() {
    let hello = hello(&[]).await;
    let request = ScanRequest {
        projection: Some(vec![1, 0]),
        limit: Some(3),
        ..ScanRequest::table("main", "numbers")
    };
    let plan = hello.plan_scan(&request).await.unwrap();
    assert_eq!(plan.splits.len(), 1);
    assert_eq!(plan.splits[0].estimated_rows, Some(3));
    let batches = common::scan_all(&hello, &request).await.unwrap();
    let schema = batches[0].schema();
    let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["square", "n"]);
    assert_eq!(column(&batches, 0), [1, 4, 9]);
    assert_eq!(column(&batches, 1), [1, 2, 3]);

    // No columns at all (`SELECT count(*)`): only row counts.
    let count = ScanRequest {
        projection: Some(Vec::new()),
        ..ScanRequest::table("main", "numbers")
    };
    let batches = common::scan_all(&hello, &count).await.unwrap();
    assert_eq!(common::rows(&batches), 10);
}

#[tokio::test]
async fn a_bad_property_and_an_unknown_table_say_what_is_wrong() {
    let hello = hello(&[]).await;
    let issues = hello
        .validate(vec![("rows".into(), "lots".into())])
        .await
        .unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].message.contains("\"rows\""), "{issues:?}");

    let err = hello.describe_table("main", "letters").await.unwrap_err();
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
    assert!(err.to_string().contains("\"letters\""), "{err}");
}
