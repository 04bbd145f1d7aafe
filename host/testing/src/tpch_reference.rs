//! The independent path TPC-H answers are checked against: DataFusion in this process over
//! tables generated natively by `tpchgen-arrow` (no connector, no sandbox, no network), the
//! queries in `host/testing/tpch_queries/`, and a row comparison tolerant of float summation
//! order.

use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, DataType, SchemaRef};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::catalog::{
    CatalogProvider, MemTable, MemoryCatalogProvider, MemorySchemaProvider, SchemaProvider,
};
use datafusion::prelude::SessionContext;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

/// The 22 TPC-H queries, by file name, with the validation parameters of the spec.
pub const TPCH_QUERIES: [&str; 22] = [
    "q01", "q02", "q03", "q04", "q05", "q06", "q07", "q08", "q09", "q10", "q11", "q12", "q13",
    "q14", "q15", "q16", "q17", "q18", "q19", "q20", "q21", "q22",
];

/// The text of query `name` (`q01`...), over `tpch.tiny.*`.
pub fn tpch_query(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tpch_queries")
        .join(format!("{name}.sql"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// [`tpch_query`] with `tpch.tiny.` replaced by `{catalog}.{schema}.`.
pub fn tpch_query_on(name: &str, catalog: &str, schema: &str) -> String {
    tpch_query(name).replace("tpch.tiny.", &format!("{catalog}.{schema}."))
}

/// The eight TPC-H table names, in the order [`native_tpch_tables`] answers them.
pub const TPCH_TABLES: [&str; 8] = [
    "nation", "region", "part", "supplier", "partsupp", "customer", "orders", "lineitem",
];

/// A native TPC-H table at `scale` (a name from [`TPCH_TABLES`]) as tpchgen-arrow generates it,
/// one batch at a time.
pub fn native_tpch_batches(
    table: &str,
    scale: f64,
) -> Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send> {
    match table {
        "nation" => Box::new(NationArrow::new(NationGenerator::new(scale, 1, 1))),
        "region" => Box::new(RegionArrow::new(RegionGenerator::new(scale, 1, 1))),
        "part" => Box::new(PartArrow::new(PartGenerator::new(scale, 1, 1))),
        "supplier" => Box::new(SupplierArrow::new(SupplierGenerator::new(scale, 1, 1))),
        "partsupp" => Box::new(PartSuppArrow::new(PartSuppGenerator::new(scale, 1, 1))),
        "customer" => Box::new(CustomerArrow::new(CustomerGenerator::new(scale, 1, 1))),
        "orders" => Box::new(OrderArrow::new(OrderGenerator::new(scale, 1, 1))),
        "lineitem" => Box::new(LineItemArrow::new(LineItemGenerator::new(scale, 1, 1))),
        other => panic!("no TPC-H table {other:?}: one of {TPCH_TABLES:?}"),
    }
}

/// tpchgen-arrow's eight tables at `scale`, by name.
pub fn native_tpch_tables(scale: f64) -> Vec<(&'static str, Vec<RecordBatch>)> {
    TPCH_TABLES
        .iter()
        .map(|&table| {
            let batches = native_tpch_batches(table, scale)
                .collect::<Result<_, _>>()
                .unwrap();
            (table, batches)
        })
        .collect()
}

/// tpchgen-arrow's tables at `scale` as in-memory tables `tpch.{schema_name}.*`.
pub fn native_tpch_context(scale: f64, schema_name: &str) -> SessionContext {
    let schema = MemorySchemaProvider::new();
    for (name, batches) in native_tpch_tables(scale) {
        let table = MemTable::try_new(batches[0].schema(), vec![batches]).unwrap();
        schema
            .register_table(name.to_owned(), Arc::new(table))
            .unwrap();
    }
    let catalog = MemoryCatalogProvider::new();
    catalog
        .register_schema(schema_name, Arc::new(schema))
        .unwrap();
    let ctx = SessionContext::new();
    ctx.register_catalog("tpch", Arc::new(catalog));
    ctx
}

/// Writes tpchgen-arrow's tables at `scale` as Parquet files `root/{schema_name}/{table}.parquet`
/// (Snappy, `row_group_rows` rows per row group), the layout the files connector reads.
pub fn write_tpch_parquet(root: &Path, scale: f64, schema_name: &str, row_group_rows: usize) {
    let dir = root.join(schema_name);
    std::fs::create_dir_all(&dir).unwrap();
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows))
        .build();
    for (name, batches) in native_tpch_tables(scale) {
        let file = std::fs::File::create(dir.join(format!("{name}.parquet"))).unwrap();
        let mut writer =
            ArrowWriter::try_new(file, batches[0].schema(), Some(properties.clone())).unwrap();
        for batch in &batches {
            writer.write(batch).unwrap();
        }
        writer.close().unwrap();
    }
}

/// One value of a result row, for comparing answers.
#[derive(Debug)]
pub enum Cell {
    Null,
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
            (Cell::Null, Cell::Null) => true,
            _ => false,
        }
    }
}

/// Rows of cells; nulls as nulls, floats and decimals as numbers, everything else as its display text (so a
/// `Utf8` and a `Utf8View` column of the same strings agree).
pub fn cells(schema: &SchemaRef, batches: &[RecordBatch]) -> Vec<Vec<Cell>> {
    let mut rows = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            let row = (0..b.num_columns())
                .map(|c| {
                    let text = array_value_to_string(b.column(c).as_ref(), r).unwrap();
                    if b.column(c).is_null(r) {
                        return Cell::Null;
                    }
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

/// Asserts that `got` is `want`, row by row, naming `what` and the first row that differs.
pub fn assert_same_answer(
    what: &str,
    got: (&SchemaRef, &[RecordBatch]),
    want: (&SchemaRef, &[RecordBatch]),
) {
    let names = |s: &SchemaRef| {
        s.fields()
            .iter()
            .map(|f| f.name().clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(got.0), names(want.0), "{what}: columns");
    let got = cells(got.0, got.1);
    let want = cells(want.0, want.1);
    assert!(!want.is_empty(), "{what}: the native answer is empty");
    assert_eq!(got.len(), want.len(), "{what}: row count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{what}: row {i}");
    }
}

/// Runs `sql` on the native context: its schema and batches.
pub async fn native_answer(ctx: &SessionContext, sql: &str) -> (SchemaRef, Vec<RecordBatch>) {
    let frame = ctx.sql(sql).await.unwrap_or_else(|e| panic!("native: {e}"));
    let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
    (schema, frame.collect().await.unwrap())
}
