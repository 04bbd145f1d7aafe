//! The hello connector natively, through the SDK traits: no wasm, no host.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use hello::{Hello, HelloCatalog};
use quarry_sdk::arrow_array::RecordBatch;
use quarry_sdk::arrow_array::cast::AsArray;
use quarry_sdk::arrow_array::types::Int64Type;
use quarry_sdk::{Catalog, Connector, ErrorKind, Properties, ScanRequest, SplitReader};

/// Plans `request` and reads every split, 4 rows per batch.
fn scan(catalog: &HelloCatalog, request: &ScanRequest) -> Vec<RecordBatch> {
    let plan = catalog.plan_scan(request).unwrap();
    let mut batches = Vec::new();
    for split in &plan.splits {
        let mut reader = catalog.open_split(request, split).unwrap();
        while let Some(batch) = reader.next_batch(4).unwrap() {
            assert!(batch.num_rows() <= 4);
            batches.push(batch);
        }
    }
    batches
}

/// Column `index` of every batch, concatenated.
fn column(batches: &[RecordBatch], index: usize) -> Vec<i64> {
    let arrays = batches
        .iter()
        .map(|b| b.column(index).as_primitive::<Int64Type>());
    arrays.flat_map(|a| a.values().to_vec()).collect()
}

#[test]
fn numbers_holds_n_and_its_square() {
    let catalog = Hello::open(Properties::new()).unwrap();
    assert_eq!(catalog.list_schemas().unwrap(), ["main"]);
    assert_eq!(catalog.list_tables("main").unwrap(), ["numbers"]);
    let batches = scan(&catalog, &ScanRequest::table("main", "numbers"));
    assert_eq!(column(&batches, 0), (1..=10).collect::<Vec<_>>());
    assert_eq!(
        column(&batches, 1),
        (1..=10).map(|n| n * n).collect::<Vec<_>>()
    );
}

#[test]
fn splits_add_up_to_the_table() {
    let props = Properties::new()
        .with("rows", "2500")
        .with("split_rows", "1000");
    let catalog = Hello::open(props).unwrap();
    let request = ScanRequest::table("main", "numbers");
    assert_eq!(catalog.plan_scan(&request).unwrap().splits.len(), 3);
    assert_eq!(
        column(&scan(&catalog, &request), 0),
        (1..=2500).collect::<Vec<_>>()
    );
}

#[test]
fn projection_and_limit_are_honoured() {
    let catalog = Hello::open(Properties::new()).unwrap();
    let request = ScanRequest {
        projection: Some(vec![1]),
        limit: Some(3),
        ..ScanRequest::table("main", "numbers")
    };
    let batches = scan(&catalog, &request);
    assert_eq!(batches[0].schema().field(0).name(), "square");
    assert_eq!(batches[0].num_columns(), 1);
    assert_eq!(column(&batches, 0), [1, 4, 9]);
}

#[test]
fn bad_properties_and_names_are_errors_that_say_why() {
    let err = Hello::open(Properties::new().with("rows", "many"))
        .err()
        .unwrap();
    assert_eq!(err.kind, ErrorKind::InvalidConfig);
    assert!(err.message.contains("\"rows\""), "{err}");
    let catalog = Hello::open(Properties::new()).unwrap();
    let err = catalog.describe_table("main", "letters").unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}
