//! The tpch connector natively, through the SDK traits: row counts, splits that add up to the
//! whole table, projection and limit, and values identical to tpchgen's reference conversion.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Decimal128Type, Int32Type, Int64Type};
use quarry_sdk::{Catalog, Connector, Properties, ScanRequest, SplitReader, TableSchemaArrow};
use tpch::{Table, TpchCatalog, TpchConnector};

fn catalog(props: Properties) -> TpchCatalog {
    TpchConnector::open(props).expect("open tpch catalog")
}

/// Every batch of every split of a scan, in split order.
fn scan(catalog: &TpchCatalog, request: &ScanRequest) -> Vec<RecordBatch> {
    let plan = catalog.plan_scan(request).expect("plan");
    let mut out = Vec::new();
    for split in &plan.splits {
        let mut reader = catalog.open_split(request, split).expect("open split");
        while let Some(batch) = reader.next_batch(4096).expect("next batch") {
            assert!(batch.num_rows() <= 4096);
            out.push(batch);
        }
    }
    out
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// An order-independent checksum of the rows: the wrapping sum of a hash of each row.
fn checksum(batches: &[RecordBatch]) -> u64 {
    let mut sum = 0u64;
    for batch in batches {
        for row in 0..batch.num_rows() {
            let mut hasher = DefaultHasher::new();
            for column in batch.columns() {
                hash_value(column.as_ref(), row, &mut hasher);
            }
            sum = sum.wrapping_add(hasher.finish());
        }
    }
    sum
}

fn hash_value(column: &dyn Array, row: usize, hasher: &mut DefaultHasher) {
    match column.data_type() {
        DataType::Int64 => column.as_primitive::<Int64Type>().value(row).hash(hasher),
        DataType::Int32 => column.as_primitive::<Int32Type>().value(row).hash(hasher),
        DataType::Date32 => column.as_primitive::<Date32Type>().value(row).hash(hasher),
        DataType::Decimal128(..) => column
            .as_primitive::<Decimal128Type>()
            .value(row)
            .hash(hasher),
        DataType::Utf8 => column.as_string::<i32>().value(row).hash(hasher),
        other => panic!("unexpected type {other}"),
    }
}

#[test]
fn fixed_tables_and_tiny_lineitem_have_the_tpch_row_counts() {
    let catalog = catalog(Properties::new());
    let count = |table: &str| rows(&scan(&catalog, &ScanRequest::table("tiny", table)));
    assert_eq!(count("nation"), 25);
    assert_eq!(count("region"), 5);
    assert_eq!(count("lineitem"), 60_175);
    assert_eq!(count("orders"), 15_000);
    assert_eq!(count("customer"), 1_500);
    assert_eq!(count("part"), 2_000);
    assert_eq!(count("partsupp"), 8_000);
    assert_eq!(count("supplier"), 100);
}

#[test]
fn the_union_of_all_splits_is_the_whole_table_for_every_table() {
    let whole = catalog(Properties::new().with("splits", "1"));
    let split = catalog(Properties::new().with("splits", "7"));
    for table in Table::ALL {
        let request = ScanRequest::table("tiny", table.name());
        let expected = scan(&whole, &request);
        let plan = split.plan_scan(&request).unwrap();
        let want_splits = if table.scales() { 7 } else { 1 };
        assert_eq!(plan.splits.len(), want_splits, "{}", table.name());
        let actual = scan(&split, &request);
        assert_eq!(rows(&actual), rows(&expected), "{}", table.name());
        assert_eq!(checksum(&actual), checksum(&expected), "{}", table.name());
    }
}

#[test]
fn values_are_identical_to_tpchgen_arrow() {
    use tpchgen::generators::*;
    use tpchgen_arrow::*;
    let sf = 0.01;
    let reference: Vec<(Table, Vec<RecordBatch>)> = vec![
        (
            Table::Region,
            RegionArrow::new(RegionGenerator::new(sf, 1, 1))
                .map(Result::unwrap)
                .collect(),
        ),
        (
            Table::Nation,
            NationArrow::new(NationGenerator::new(sf, 1, 1))
                .map(Result::unwrap)
                .collect(),
        ),
        (
            Table::Part,
            PartArrow::new(PartGenerator::new(sf, 1, 1))
                .map(Result::unwrap)
                .collect(),
        ),
        (
            Table::Supplier,
            SupplierArrow::new(SupplierGenerator::new(sf, 1, 1))
                .map(Result::unwrap)
                .collect(),
        ),
        (
            Table::PartSupp,
            PartSuppArrow::new(PartSuppGenerator::new(sf, 1, 1))
                .map(Result::unwrap)
                .collect(),
        ),
        (
            Table::Customer,
            CustomerArrow::new(CustomerGenerator::new(sf, 1, 1))
                .map(Result::unwrap)
                .collect(),
        ),
        (
            Table::Orders,
            OrderArrow::new(OrderGenerator::new(sf, 1, 1))
                .map(Result::unwrap)
                .collect(),
        ),
        (
            Table::LineItem,
            LineItemArrow::new(LineItemGenerator::new(sf, 1, 1))
                .map(Result::unwrap)
                .collect(),
        ),
    ];
    let ours = catalog(Properties::new());
    for (table, reference) in reference {
        // The reference uses Utf8View; compare as Utf8, column by column, in order.
        let reference: Vec<RecordBatch> = reference
            .iter()
            .map(|b| {
                let columns = b
                    .columns()
                    .iter()
                    .map(|c| match c.data_type() {
                        DataType::Utf8View => cast(c, &DataType::Utf8).unwrap(),
                        _ => c.clone(),
                    })
                    .collect();
                RecordBatch::try_new(table.arrow_schema(), columns).unwrap()
            })
            .collect();
        let expected = arrow::compute::concat_batches(&table.arrow_schema(), &reference).unwrap();
        let actual = scan(&ours, &ScanRequest::table("tiny", table.name()));
        let actual = arrow::compute::concat_batches(&table.arrow_schema(), &actual).unwrap();
        assert_eq!(actual, expected, "{}", table.name());
    }
}

#[test]
fn projection_and_limit_are_honoured() {
    let catalog = catalog(Properties::new().with("splits", "4"));
    let mut request = ScanRequest::table("tiny", "lineitem");
    request.projection = Some(vec![15, 0]);
    request.limit = Some(10);
    let plan = catalog.plan_scan(&request).unwrap();
    assert_eq!(
        plan.splits.len(),
        1,
        "a limit of 10 needs only the first split"
    );
    let batches = scan(&catalog, &request);
    assert_eq!(rows(&batches), 10);
    let schema = batches[0].schema();
    let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["l_comment", "l_orderkey"]);
    assert_eq!(batches[0].column(1).as_primitive::<Int64Type>().value(0), 1);
}

#[test]
fn schemas_tables_and_types_follow_tpch() {
    let catalog = catalog(Properties::new());
    assert_eq!(
        catalog.list_schemas().unwrap(),
        ["tiny", "sf1", "sf10", "sf100", "sf1000"]
    );
    assert_eq!(catalog.list_tables("sf1").unwrap().len(), 8);
    let lineitem = catalog.describe_table("sf1", "lineitem").unwrap();
    assert_eq!(lineitem.columns.len(), 16);
    let arrow = lineitem.to_arrow();
    assert_eq!(
        arrow
            .field_with_name("l_extendedprice")
            .unwrap()
            .data_type(),
        &DataType::Decimal128(15, 2)
    );
    assert_eq!(
        arrow.field_with_name("l_shipdate").unwrap().data_type(),
        &DataType::Date32
    );
    let orders = catalog.describe_table("sf1", "orders").unwrap();
    assert_eq!(orders.row_count, Some(1_500_000));
    // sf1 lineitem gets one split per million rows by default.
    let plan = catalog
        .plan_scan(&ScanRequest::table("sf1", "lineitem"))
        .unwrap();
    assert_eq!(plan.splits.len(), 6);
}

#[test]
fn bad_names_and_properties_are_clear_errors() {
    let catalog = catalog(Properties::new());
    let err = catalog.list_tables("sf2").unwrap_err();
    assert!(err.message.contains("\"sf2\""), "{err}");
    let err = catalog.describe_table("tiny", "lineitems").unwrap_err();
    assert!(err.message.contains("\"lineitems\""), "{err}");
    let err = TpchConnector::open(Properties::new().with("splits", "0")).unwrap_err();
    assert!(err.message.contains("splits"), "{err}");
    let err = TpchConnector::open(Properties::new().with("color", "red")).unwrap_err();
    assert!(err.message.contains("\"color\""), "{err}");
    let issues = TpchConnector::validate(&Properties::new().with("splits", "x"));
    assert_eq!(issues.len(), 1);
}

#[test]
fn an_empty_projection_still_counts_rows() {
    let catalog = catalog(Properties::new());
    let mut request = ScanRequest::table("tiny", "orders");
    request.projection = Some(vec![]);
    let batches = scan(&catalog, &request);
    assert_eq!(rows(&batches), 15_000);
    assert_eq!(batches[0].num_columns(), 0);
}
