//! TPC-H queries 1, 3, 5, 6, 10 and 18 on `tpch.tiny` through the tpch component give the same
//! answers as DataFusion over the same data generated natively by `tpchgen-arrow`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

mod common;

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, DataType, SchemaRef};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::catalog::{
    CatalogProvider, MemTable, MemoryCatalogProvider, MemorySchemaProvider, SchemaProvider,
};
use datafusion::prelude::SessionContext;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

const QUERIES: [&str; 6] = ["q01", "q03", "q05", "q06", "q10", "q18"];
/// `tiny` is scale factor 0.01.
const SCALE: f64 = 0.01;

fn query(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tpch_queries")
        .join(format!("{name}.sql"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn table(
    schema: &MemorySchemaProvider,
    name: &str,
    batches: impl Iterator<Item = Result<RecordBatch, ArrowError>>,
) {
    let batches: Vec<RecordBatch> = batches.collect::<Result<_, _>>().unwrap();
    let table = MemTable::try_new(batches[0].schema(), vec![batches]).unwrap();
    schema
        .register_table(name.to_owned(), Arc::new(table))
        .unwrap();
}

/// The independent path: tpchgen-arrow's batches as in-memory tables `tpch.tiny.*`.
fn native_context() -> SessionContext {
    let schema = MemorySchemaProvider::new();
    table(
        &schema,
        "nation",
        NationArrow::new(NationGenerator::new(SCALE, 1, 1)),
    );
    table(
        &schema,
        "region",
        RegionArrow::new(RegionGenerator::new(SCALE, 1, 1)),
    );
    table(
        &schema,
        "part",
        PartArrow::new(PartGenerator::new(SCALE, 1, 1)),
    );
    table(
        &schema,
        "supplier",
        SupplierArrow::new(SupplierGenerator::new(SCALE, 1, 1)),
    );
    table(
        &schema,
        "partsupp",
        PartSuppArrow::new(PartSuppGenerator::new(SCALE, 1, 1)),
    );
    table(
        &schema,
        "customer",
        CustomerArrow::new(CustomerGenerator::new(SCALE, 1, 1)),
    );
    table(
        &schema,
        "orders",
        OrderArrow::new(OrderGenerator::new(SCALE, 1, 1)),
    );
    table(
        &schema,
        "lineitem",
        LineItemArrow::new(LineItemGenerator::new(SCALE, 1, 1)),
    );
    let catalog = MemoryCatalogProvider::new();
    catalog.register_schema("tiny", Arc::new(schema)).unwrap();
    let ctx = SessionContext::new();
    ctx.register_catalog("tpch", Arc::new(catalog));
    ctx
}

#[derive(Debug)]
enum Cell {
    Number(f64),
    Text(String),
}

impl PartialEq for Cell {
    /// Numbers agree to 1e-9 relative (float sums depend on the order rows arrive in).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Cell::Number(a), Cell::Number(b)) => {
                (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
            }
            (Cell::Text(a), Cell::Text(b)) => a == b,
            _ => false,
        }
    }
}

/// Rows of cells; floats and decimals as numbers, everything else as its display text (so a
/// `Utf8` and a `Utf8View` column of the same strings agree).
fn cells(schema: &SchemaRef, batches: &[RecordBatch]) -> Vec<Vec<Cell>> {
    let mut rows = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            let row = (0..b.num_columns())
                .map(|c| {
                    let text = array_value_to_string(b.column(c).as_ref(), r).unwrap();
                    match schema.field(c).data_type() {
                        DataType::Float16
                        | DataType::Float32
                        | DataType::Float64
                        | DataType::Decimal32(..)
                        | DataType::Decimal64(..)
                        | DataType::Decimal128(..)
                        | DataType::Decimal256(..) => Cell::Number(text.parse().unwrap()),
                        _ => Cell::Text(text),
                    }
                })
                .collect();
            rows.push(row);
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpch_queries_match_datafusion_over_native_tpchgen() {
    let (engine, _rt, _plugin) = common::engine_with_tpch().await;
    let native = native_context();
    for name in QUERIES {
        let sql = query(name);
        let (schema, batches) = engine
            .sql(&sql)
            .await
            .unwrap_or_else(|e| panic!("{name} through quarry: {e}"));
        let expected_df = native
            .sql(&sql)
            .await
            .unwrap_or_else(|e| panic!("{name} native: {e}"));
        let expected_schema: SchemaRef = Arc::new(expected_df.schema().as_arrow().clone());
        let expected = expected_df.collect().await.unwrap();

        let names = |s: &SchemaRef| {
            s.fields()
                .iter()
                .map(|f| f.name().clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&schema), names(&expected_schema), "{name}: columns");
        let got = cells(&schema, &batches);
        let want = cells(&expected_schema, &expected);
        assert!(!want.is_empty(), "{name}: the native answer is empty");
        assert_eq!(got.len(), want.len(), "{name}: row count");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{name}: row {i}");
        }
        eprintln!("{name}: {} rows agree", got.len());
    }
}
