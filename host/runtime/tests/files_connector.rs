//! The files component through the runtime, over a temporary directory the test fills with
//! CSV, JSON lines and Parquet files: without the read-only grant nothing opens; with it the
//! catalog lists, describes, plans and scans every format, and its own counters
//! (`files$stats`) show that a projected Parquet scan reads fewer bytes than a full one.
//!
//! Needs `target/plugins/files.wasm`: run `cargo xtask build-plugins` first (the test fails
//! saying so otherwise).

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{DataType as Arrow, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use quarry_runtime::{
    CatalogConfig, CompareOp, Connector, ConnectorErrorKind, DataType, Error, Plugin, Predicate,
    PredicateNode, Pushdown, Runtime, Scalar, ScanRequest,
};

/// Rows of the Parquet table: enough that column data, not the footer, dominates the bytes.
const PARQUET_ROWS: i64 = 50_000;

/// A temporary root with one schema `s` holding a CSV, a JSON lines and a Parquet table.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join("root");
    std::fs::create_dir_all(root.join("s")).unwrap();
    std::fs::write(
        root.join("s/people.csv"),
        "id,name,score,born\n1,ann,1.5,1990-01-02\n2,,2.5,\n3,cy,,2000-02-29\n",
    )
    .unwrap();
    std::fs::write(
        root.join("s/events.jsonl"),
        "{\"id\": 1, \"kind\": \"click\", \"ok\": true}\n{\"id\": 2, \"kind\": null}\n",
    )
    .unwrap();

    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..PARQUET_ROWS));
    let price: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..PARQUET_ROWS).map(|i| i as f64 * 0.5),
    ));
    let note: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..PARQUET_ROWS).map(|i| format!("a fairly long note for row number {i}")),
    ));
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", Arrow::Int64, false),
        Field::new("price", Arrow::Float64, true),
        Field::new("note", Arrow::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(schema.clone(), vec![ids, price, note]).unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(10_000))
        .build();
    let file = std::fs::File::create(root.join("s/wide.parquet")).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    (dir, root)
}

async fn plugin(rt: &Runtime) -> Plugin {
    let plugin = common::load(rt, "files").await;
    assert_eq!(plugin.info().spec.name, "files");
    plugin
}

fn config(plugin: &Plugin, root: &Path, grant: bool) -> CatalogConfig {
    let mut config =
        CatalogConfig::new("lake", plugin).property("root", root.display().to_string());
    if grant {
        config.grants.allowed_paths = vec![root.to_path_buf()];
    }
    config
}

async fn scan(connector: &Connector, request: &ScanRequest) -> Vec<RecordBatch> {
    common::scan_all(connector, request)
        .await
        .unwrap_or_else(|e| panic!("scan {}.{}: {e}", request.schema, request.table))
}

/// Bytes the connector has read from the files of `table`, from its `files$stats` table.
async fn bytes_read(connector: &Connector, table: &str) -> u64 {
    let mut total = 0;
    for batch in scan(connector, &ScanRequest::table("s", "files$stats")).await {
        let tables = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let bytes = batch
            .column(2)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap();
        for i in 0..batch.num_rows() {
            if tables.value(i) == table {
                total += bytes.value(i);
            }
        }
    }
    total
}

#[tokio::test]
async fn without_the_grant_validate_and_open_fail_naming_root_and_the_grant() {
    common::init_tracing();
    let rt = common::runtime();
    let plugin = plugin(&rt).await;
    let (_dir, root) = fixture();
    let connector = rt.open_catalog(config(&plugin, &root, false)).unwrap();

    let issues = connector
        .validate(vec![("root".into(), root.display().to_string())])
        .await
        .unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].field.as_deref(), Some("root"));
    assert!(
        issues[0].message.contains("allowed_paths") && issues[0].message.contains("granted: none"),
        "{issues:?}"
    );

    let err = connector.list_schemas().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connector {
                kind: ConnectorErrorKind::InvalidConfig,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("property \"root\""), "{err}");

    // A grant on some other directory does not cover root either.
    let other = tempfile::tempdir().unwrap();
    let mut elsewhere = config(&plugin, &root, false);
    elsewhere.grants.allowed_paths = vec![other.path().to_path_buf()];
    let connector = rt.open_catalog(elsewhere).unwrap();
    let err = connector.describe_table("s", "people").await.unwrap_err();
    assert!(err.to_string().contains("allowed_paths"), "{err}");
}

#[tokio::test]
async fn with_the_grant_lists_describes_and_scans_every_format() {
    common::init_tracing();
    let rt = common::runtime();
    let plugin = plugin(&rt).await;
    let (_dir, root) = fixture();
    let connector = rt.open_catalog(config(&plugin, &root, true)).unwrap();

    let issues = connector
        .validate(vec![("root".into(), root.display().to_string())])
        .await
        .unwrap();
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(connector.list_schemas().await.unwrap(), ["s"]);
    assert_eq!(
        connector.list_tables("s").await.unwrap(),
        ["events", "people", "wide"]
    );

    // CSV: inferred types, nulls.
    let people = connector.describe_table("s", "people").await.unwrap();
    let types: Vec<_> = people
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.clone()))
        .collect();
    assert_eq!(
        types,
        [
            ("id", DataType::Int64),
            ("name", DataType::Utf8),
            ("score", DataType::Float64),
            ("born", DataType::Date32),
        ]
    );
    let batches = scan(&connector, &ScanRequest::table("s", "people")).await;
    assert_eq!(common::rows(&batches), 3);
    let names = batches[0]
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(names.value(0), "ann");
    assert!(names.is_null(1));

    // JSON lines.
    let events = connector.describe_table("s", "events").await.unwrap();
    assert_eq!(events.columns.len(), 3);
    assert_eq!(events.columns[2].data_type, DataType::Boolean);
    let batches = scan(&connector, &ScanRequest::table("s", "events")).await;
    assert_eq!(common::rows(&batches), 2);

    // Parquet: types from the file, exact row count, row-group pruning and projection.
    let wide = connector.describe_table("s", "wide").await.unwrap();
    assert_eq!(wide.row_count, Some(PARQUET_ROWS as u64));
    assert_eq!(wide.columns[0].data_type, DataType::Int64);
    assert!(!wide.columns[0].nullable);
    assert_eq!(wide.columns[2].data_type, DataType::Utf8);
    let batches = scan(&connector, &ScanRequest::table("s", "wide")).await;
    assert_eq!(common::rows(&batches), PARQUET_ROWS as usize);

    let mut request = ScanRequest::table("s", "wide");
    request.projection = Some(vec![2, 0]);
    request.filters = vec![Predicate {
        nodes: vec![PredicateNode::Compare {
            column: 0,
            op: CompareOp::Ge,
            value: Scalar::Int64(45_000),
        }],
        root: 0,
    }];
    let plan = connector.plan_scan(&request).await.unwrap();
    assert_eq!(plan.filters, [Pushdown::Inexact]);
    let planned: u64 = plan.splits.iter().filter_map(|s| s.estimated_rows).sum();
    assert_eq!(planned, 10_000, "only the last row group survives");
    // And inside it, the reader drops the rows the filter rules out (ids 40,000..44,999).
    let batches = scan(&connector, &request).await;
    assert_eq!(common::rows(&batches), 5_000);
    let fields: Vec<_> = batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(fields, ["note", "id"]);
    let ids = batches[0]
        .column(1)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(ids.value(0), 45_000);

    // Escapes fail by name.
    let err = connector.describe_table("s", "../s").await.unwrap_err();
    assert!(err.to_string().contains("invalid table name"), "{err}");
}

#[tokio::test]
async fn a_projected_parquet_scan_reads_fewer_bytes_than_a_full_scan() {
    common::init_tracing();
    let rt = common::runtime();
    let plugin = plugin(&rt).await;
    let (_dir, root) = fixture();
    let connector = rt.open_catalog(config(&plugin, &root, true)).unwrap();

    let before = bytes_read(&connector, "wide").await;
    let full = scan(&connector, &ScanRequest::table("s", "wide")).await;
    let after_full = bytes_read(&connector, "wide").await;
    let mut request = ScanRequest::table("s", "wide");
    request.projection = Some(vec![0]);
    let projected = scan(&connector, &request).await;
    let after_projected = bytes_read(&connector, "wide").await;

    assert_eq!(common::rows(&full), PARQUET_ROWS as usize);
    assert_eq!(common::rows(&projected), PARQUET_ROWS as usize);
    let full_bytes = after_full - before;
    let projected_bytes = after_projected - after_full;
    let file_size = std::fs::metadata(root.join("s/wide.parquet"))
        .unwrap()
        .len();
    println!(
        "files connector bytes read: full scan {full_bytes}, projected scan (id only) \
         {projected_bytes}, file size {file_size}"
    );
    assert!(
        full_bytes >= file_size / 2,
        "full scan read only {full_bytes} of {file_size}"
    );
    assert!(
        projected_bytes * 2 < full_bytes,
        "projected scan read {projected_bytes} bytes, full scan {full_bytes}"
    );
    // The counters were read from one warm instance, so the readings compare.
    assert_eq!(connector.warm_instances(), 1);
}
