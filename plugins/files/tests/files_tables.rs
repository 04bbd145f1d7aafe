//! The files connector natively, through the SDK traits: every test writes its own files into
//! a temporary root and reads them back — the three formats, every type, nulls, multi-file
//! tables, bad rows, truncated Parquet, pushdown, counters and path escapes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{
    DataType as Arrow, Date32Type, Field, Float64Type, Int64Type, Schema, TimeUnit, UInt64Type,
};
use files::{FilesCatalog, FilesConnector};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use quarry_sdk::predicate::Expr;
use quarry_sdk::{
    Catalog, CompareOp, Connector, DataType, ErrorKind, Predicate, Properties, Pushdown, Scalar,
    ScanRequest, SplitReader, TableSchemaArrow,
};

fn root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("s")).unwrap();
    (dir, root)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn open(root: &Path, props: &[(&str, &str)]) -> FilesCatalog {
    let mut p = Properties::new().with("root", root.to_str().unwrap());
    for (k, v) in props {
        p = p.with(k, v);
    }
    FilesConnector::open(p).expect("open files catalog")
}

/// Every batch of every split, read 3 rows at a time.
fn scan(catalog: &FilesCatalog, request: &ScanRequest) -> quarry_sdk::Result<Vec<RecordBatch>> {
    let plan = catalog.plan_scan(request)?;
    let mut out = Vec::new();
    for split in &plan.splits {
        let mut reader = catalog.open_split(request, split)?;
        while let Some(batch) = reader.next_batch(3)? {
            assert!(batch.num_rows() <= 3);
            out.push(batch);
        }
    }
    Ok(out)
}

fn all(catalog: &FilesCatalog, schema: &str, table: &str) -> RecordBatch {
    let batches = scan(catalog, &ScanRequest::table(schema, table)).unwrap();
    let described = catalog.describe_table(schema, table).unwrap().to_arrow();
    concat_batches(&described, &batches).unwrap()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn types(catalog: &FilesCatalog, schema: &str, table: &str) -> Vec<(String, DataType)> {
    catalog
        .describe_table(schema, table)
        .unwrap()
        .columns
        .into_iter()
        .map(|c| (c.name, c.data_type))
        .collect()
}

fn write_parquet(path: &Path, batch: &RecordBatch, row_group_rows: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

/// A counter of the files of `schema.table` so far, from the connector's `files$stats`: its
/// column `column` (2 bytes read, 3 read calls).
fn counter(catalog: &FilesCatalog, schema: &str, table: &str, column: usize) -> u64 {
    let stats = all(catalog, schema, "files$stats");
    let tables = stats.column(0).as_string::<i32>();
    let values = stats.column(column).as_primitive::<UInt64Type>();
    (0..stats.num_rows())
        .filter(|&i| tables.value(i) == table)
        .map(|i| values.value(i))
        .sum()
}

/// Bytes read so far from the files of `schema.table`.
fn bytes_read(catalog: &FilesCatalog, schema: &str, table: &str) -> u64 {
    counter(catalog, schema, table, 2)
}

#[test]
fn csv_types_are_inferred_and_nulls_read() {
    let (_dir, root) = root();
    write(
        &root.join("s/people.csv"),
        "id,name,score,active,born,seen\n\
         1,ann,1.5,true,1990-01-02,2024-01-02T03:04:05\n\
         2,,NA,false,,2024-01-02 03:04:05.25\n\
         3,\"c, quoted\",3,TRUE,2000-02-29,\n",
    );
    let catalog = open(&root, &[("csv_null", "NA")]);
    assert_eq!(catalog.list_schemas().unwrap(), ["s"]);
    assert_eq!(catalog.list_tables("s").unwrap(), ["people"]);
    assert_eq!(
        types(&catalog, "s", "people"),
        [
            ("id".into(), DataType::Int64),
            ("name".into(), DataType::Utf8),
            ("score".into(), DataType::Float64),
            ("active".into(), DataType::Boolean),
            ("born".into(), DataType::Date32),
            ("seen".into(), DataType::TimestampMicros { timezone: None }),
        ]
    );
    let batch = all(&catalog, "s", "people");
    assert_eq!(batch.num_rows(), 3);
    let name = batch.column(1).as_string::<i32>();
    assert_eq!(name.value(2), "c, quoted");
    assert!(name.is_null(1));
    let score = batch.column(2).as_primitive::<Float64Type>();
    assert!(score.is_null(1));
    assert_eq!(score.value(2), 3.0);
    let born = batch.column(4).as_primitive::<Date32Type>();
    assert_eq!(born.value(0), 7306);
    assert!(born.is_null(1));
    let seen = batch
        .column(5)
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .unwrap();
    assert_eq!(seen.value(1) - seen.value(0), 250_000);
    assert!(seen.is_null(2));
}

#[test]
fn csv_options_delimiter_quote_and_no_header() {
    let (_dir, root) = root();
    write(&root.join("s/raw.csv"), "1;'a;b'\n2;'c'\n");
    write(&root.join("s/tabbed.tsv"), "x\ty\n1\tz\n");
    let catalog = open(
        &root,
        &[
            ("csv_header", "false"),
            ("csv_delimiter", ";"),
            ("csv_quote", "'"),
        ],
    );
    let batch = all(&catalog, "s", "raw");
    assert_eq!(batch.schema().field(0).name(), "column_1");
    assert_eq!(batch.column(1).as_string::<i32>().value(0), "a;b");
    // .tsv files always use tab.
    let batch = all(&catalog, "s", "tabbed");
    assert_eq!(batch.num_rows(), 2);
    assert_eq!(batch.num_columns(), 2);
}

/// One text value per type, with the override that reads it.
const EVERY_TYPE: [(&str, &str, &str); 17] = [
    ("b", "boolean", "true"),
    ("i8", "int8", "-8"),
    ("i16", "int16", "-16"),
    ("i32", "int32", "-32"),
    ("i64", "int64", "-64"),
    ("u8", "uint8", "8"),
    ("u16", "uint16", "16"),
    ("u32", "uint32", "32"),
    ("u64", "uint64", "18446744073709551615"),
    ("f32", "float32", "1.5"),
    ("f64", "float64", "2.25"),
    ("dec", "decimal(10,2)", "123.45"),
    ("txt", "utf8", "héllo"),
    ("bin", "binary", "raw"),
    ("day", "date", "2024-02-29"),
    ("ts", "timestamp", "2024-01-01T00:00:01"),
    ("tsz", "timestamp(UTC)", "2024-01-01T00:00:01Z"),
];

fn check_every_type(batch: &RecordBatch) {
    assert_eq!(batch.num_rows(), 2, "one row of values, one of nulls");
    for (i, column) in batch.columns().iter().enumerate() {
        assert!(column.is_valid(0), "{}", EVERY_TYPE[i].0);
        assert!(column.is_null(1), "{}", EVERY_TYPE[i].0);
    }
    let col = |i: usize| batch.column(i).as_any();
    assert!(col(0).downcast_ref::<BooleanArray>().unwrap().value(0));
    assert_eq!(col(1).downcast_ref::<Int8Array>().unwrap().value(0), -8);
    assert_eq!(col(2).downcast_ref::<Int16Array>().unwrap().value(0), -16);
    assert_eq!(col(3).downcast_ref::<Int32Array>().unwrap().value(0), -32);
    assert_eq!(col(4).downcast_ref::<Int64Array>().unwrap().value(0), -64);
    assert_eq!(col(5).downcast_ref::<UInt8Array>().unwrap().value(0), 8);
    assert_eq!(col(6).downcast_ref::<UInt16Array>().unwrap().value(0), 16);
    assert_eq!(col(7).downcast_ref::<UInt32Array>().unwrap().value(0), 32);
    assert_eq!(
        col(8).downcast_ref::<UInt64Array>().unwrap().value(0),
        u64::MAX
    );
    assert_eq!(col(9).downcast_ref::<Float32Array>().unwrap().value(0), 1.5);
    assert_eq!(
        col(10).downcast_ref::<Float64Array>().unwrap().value(0),
        2.25
    );
    let dec = col(11).downcast_ref::<Decimal128Array>().unwrap();
    assert_eq!((dec.value(0), dec.precision(), dec.scale()), (12345, 10, 2));
    assert_eq!(
        col(12).downcast_ref::<StringArray>().unwrap().value(0),
        "héllo"
    );
    assert_eq!(
        col(13).downcast_ref::<BinaryArray>().unwrap().value(0),
        b"raw"
    );
    assert_eq!(
        col(14).downcast_ref::<Date32Array>().unwrap().value(0),
        19782
    );
    let ts = col(15).downcast_ref::<TimestampMicrosecondArray>().unwrap();
    assert_eq!(ts.value(0), 1_704_067_201_000_000);
    assert_eq!(
        batch.schema().field(16).data_type(),
        &Arrow::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
}

fn overrides() -> String {
    EVERY_TYPE
        .iter()
        .map(|(name, t, _)| format!("s.all.{name}:{t}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn csv_reads_every_type_through_overrides() {
    let (_dir, root) = root();
    let header: Vec<&str> = EVERY_TYPE.iter().map(|t| t.0).collect();
    let values: Vec<&str> = EVERY_TYPE.iter().map(|t| t.2).collect();
    write(
        &root.join("s/all.csv"),
        &format!(
            "{}\n{}\n{}\n",
            header.join(","),
            values.join(","),
            ",".repeat(header.len() - 1)
        ),
    );
    let catalog = open(&root, &[("columns", &overrides())]);
    let described = types(&catalog, "s", "all");
    assert_eq!(
        described[11].1,
        DataType::Decimal128 {
            precision: 10,
            scale: 2
        }
    );
    check_every_type(&all(&catalog, "s", "all"));
}

#[test]
fn json_lines_infer_types_and_read_every_type() {
    let (_dir, root) = root();
    write(
        &root.join("s/events.jsonl"),
        "{\"id\": 1, \"name\": \"a\", \"ok\": true, \"at\": \"2024-01-02T00:00:00Z\", \"tags\": [1,2]}\n\
         \n\
         {\"id\": 2, \"price\": 2.5, \"name\": null}\n",
    );
    let catalog = open(&root, &[("columns", &overrides())]);
    assert_eq!(
        types(&catalog, "s", "events"),
        [
            ("id".into(), DataType::Int64),
            ("name".into(), DataType::Utf8),
            ("ok".into(), DataType::Boolean),
            (
                "at".into(),
                DataType::TimestampMicros {
                    timezone: Some("UTC".into())
                }
            ),
            ("tags".into(), DataType::Utf8),
            ("price".into(), DataType::Float64),
        ]
    );
    let batch = all(&catalog, "s", "events");
    assert_eq!(batch.num_rows(), 2);
    assert_eq!(batch.column(4).as_string::<i32>().value(0), "[1,2]");
    assert!(batch.column(1).is_null(1));
    assert!(batch.column(5).is_null(0));

    // Every type, from JSON values (numbers, strings, booleans) through overrides.
    let mut object = serde_json::Map::new();
    for (name, _, text) in EVERY_TYPE {
        let value = match name {
            "b" => serde_json::json!(true),
            "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "f32" | "f64" => {
                serde_json::from_str(text).unwrap()
            }
            _ => serde_json::json!(text),
        };
        object.insert(name.to_owned(), value);
    }
    let nulls: serde_json::Map<_, _> = EVERY_TYPE
        .iter()
        .map(|(n, _, _)| ((*n).to_owned(), serde_json::Value::Null))
        .collect();
    write(
        &root.join("s/all.json"),
        &format!(
            "{}\n{}\n",
            serde_json::Value::Object(object),
            serde_json::Value::Object(nulls)
        ),
    );
    check_every_type(&all(&catalog, "s", "all"));
}

fn every_type_batch(rows: i64) -> RecordBatch {
    let n = rows as usize;
    let valid = |i: usize| i % 3 != 1;
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(0..rows))),
        (
            "b",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i % 2 == 0))
                    .collect::<BooleanArray>(),
            ),
        ),
        (
            "i8",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as i8))
                    .collect::<Int8Array>(),
            ),
        ),
        (
            "i16",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as i16))
                    .collect::<Int16Array>(),
            ),
        ),
        (
            "i32",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as i32))
                    .collect::<Int32Array>(),
            ),
        ),
        (
            "u8",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as u8))
                    .collect::<UInt8Array>(),
            ),
        ),
        (
            "u16",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as u16))
                    .collect::<UInt16Array>(),
            ),
        ),
        (
            "u32",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as u32))
                    .collect::<UInt32Array>(),
            ),
        ),
        (
            "u64",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as u64))
                    .collect::<UInt64Array>(),
            ),
        ),
        (
            "f32",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as f32))
                    .collect::<Float32Array>(),
            ),
        ),
        (
            "f64",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as f64 / 2.0))
                    .collect::<Float64Array>(),
            ),
        ),
        (
            "dec",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as i128 * 101))
                    .collect::<Decimal128Array>()
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
        ),
        (
            "txt",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then(|| format!("row {i}")))
                    .collect::<StringArray>(),
            ),
        ),
        (
            "bin",
            Arc::new(BinaryArray::from_iter(
                (0..n).map(|i| valid(i).then(|| vec![i as u8; 3])),
            )),
        ),
        (
            "day",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as i32))
                    .collect::<Date32Array>(),
            ),
        ),
        (
            "ts",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as i64 * 1_000_000))
                    .collect::<TimestampMicrosecondArray>(),
            ),
        ),
        (
            "tsz",
            Arc::new(
                (0..n)
                    .map(|i| valid(i).then_some(i as i64))
                    .collect::<TimestampMicrosecondArray>()
                    .with_timezone("UTC"),
            ),
        ),
    ];
    let schema = Schema::new(
        columns
            .iter()
            .map(|(name, a)| Field::new(*name, a.data_type().clone(), *name != "id"))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(
        Arc::new(schema),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

#[test]
fn parquet_types_come_from_the_file_and_projection_reads_fewer_bytes() {
    let (_dir, root) = root();
    let written = every_type_batch(20_000);
    write_parquet(&root.join("s/all.parquet"), &written, 5_000);
    let catalog = open(&root, &[]);
    let described = catalog.describe_table("s", "all").unwrap();
    assert_eq!(described.row_count, Some(20_000));
    assert_eq!(described.to_arrow().fields(), written.schema().fields());
    assert!(!described.columns[0].nullable);

    let before = bytes_read(&catalog, "s", "all");
    let batch = all(&catalog, "s", "all");
    let full = bytes_read(&catalog, "s", "all") - before;
    assert_eq!(batch, written);

    let mut request = ScanRequest::table("s", "all");
    request.projection = Some(vec![12, 0]);
    let before = bytes_read(&catalog, "s", "all");
    let projected = scan(&catalog, &request).unwrap();
    let projected_bytes = bytes_read(&catalog, "s", "all") - before;
    let projected = concat_batches(&projected[0].schema(), &projected).unwrap();
    assert_eq!(projected.schema().field(0).name(), "txt");
    assert_eq!(projected.column(1).as_ref(), written.column(0).as_ref());
    println!("bytes read: full scan {full}, projected scan (txt, id) {projected_bytes}");
    assert!(
        projected_bytes < full / 2,
        "projected scan read {projected_bytes} bytes, full scan {full}"
    );

    // count(*): no columns, rows from the footer.
    request.projection = Some(vec![]);
    assert_eq!(rows(&scan(&catalog, &request).unwrap()), 20_000);
}

#[test]
fn a_parquet_split_reads_its_projected_column_chunks_in_a_few_calls() {
    let (_dir, root) = root();
    let written = every_type_batch(20_000);
    // 4 row groups of 5,000 rows, pages of at most 250 rows: 20 pages per column chunk.
    let path = root.join("s/paged.parquet");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(5_000))
        .set_data_page_row_count_limit(250)
        .set_write_batch_size(250)
        .build();
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        written.schema(),
        Some(props),
    )
    .unwrap();
    writer.write(&written).unwrap();
    writer.close().unwrap();

    let catalog = open(&root, &[("row_group_split_bytes", "1")]);
    let mut request = ScanRequest::table("s", "paged");
    request.projection = Some(vec![0, 12]);
    assert_eq!(catalog.plan_scan(&request).unwrap().splits.len(), 4);
    let before = counter(&catalog, "s", "paged", 3);
    let batches = scan(&catalog, &request).unwrap();
    let calls = counter(&catalog, "s", "paged", 3) - before;
    let read = concat_batches(&batches[0].schema(), &batches).unwrap();
    assert_eq!(read.column(0).as_ref(), written.column(0).as_ref());
    assert_eq!(read.column(1).as_ref(), written.column(12).as_ref());
    // Per split: the footer (3 reads, unless kept from planning) and one read per projected
    // chunk (adjacent chunks share one); page by page it would be 40 page bodies and their
    // headers, read a few bytes at a time.
    println!("read calls for 4 splits of 2 projected columns: {calls}");
    assert!(calls <= 4 * 5, "{calls} read calls for 4 splits");
}

#[test]
fn a_parquet_footer_is_parsed_once_and_again_when_the_file_changes() {
    let (_dir, root) = root();
    let path = root.join("s/kept.parquet");
    write_parquet(&path, &every_type_batch(1_000), 1_000);
    let catalog = open(&root, &[]);
    let mut request = ScanRequest::table("s", "kept");
    request.projection = Some(vec![0]);
    assert_eq!(rows(&scan(&catalog, &request).unwrap()), 1_000);

    // Planned and read again: the footer is kept, so the only read is the projected chunk.
    let before = counter(&catalog, "s", "kept", 3);
    assert_eq!(rows(&scan(&catalog, &request).unwrap()), 1_000);
    assert_eq!(counter(&catalog, "s", "kept", 3) - before, 1);

    // Rewritten (another length): the new footer is read, never the kept one.
    write_parquet(&path, &every_type_batch(3_000), 1_000);
    let catalog = open(&root, &[]);
    let before = counter(&catalog, "s", "kept", 3);
    let batches = scan(&catalog, &request).unwrap();
    assert_eq!(rows(&batches), 3_000);
    assert!(counter(&catalog, "s", "kept", 3) - before > 3);
    assert!(files::footer_cache::len() >= 1);
}

#[test]
fn large_parquet_files_split_per_row_group_and_filters_prune() {
    let (_dir, root) = root();
    write_parquet(&root.join("s/big.parquet"), &every_type_batch(100), 10);
    let catalog = open(&root, &[("row_group_split_bytes", "1")]);
    let full = catalog.plan_scan(&ScanRequest::table("s", "big")).unwrap();
    assert_eq!(full.splits.len(), 10);
    assert!(full.splits.iter().all(|s| s.estimated_rows == Some(10)));

    let mut request = ScanRequest::table("s", "big");
    request.filters = vec![
        Predicate::from(Expr::compare(0, CompareOp::Ge, Scalar::Int64(85))),
        Predicate::from(Expr::Not(Box::new(Expr::IsNull(1)))),
        Predicate::from(Expr::compare(
            12,
            CompareOp::Lt,
            Scalar::Utf8("row 9".into()),
        )),
    ];
    let plan = catalog.plan_scan(&request).unwrap();
    // Every filter is taken inexactly: the engine checks the rows again.
    assert_eq!(plan.filters, [Pushdown::Inexact; 3]);
    // ids 80..=99 survive the first filter; "row 80".."row 89" < "row 9" keeps group 8 only.
    assert_eq!(plan.splits.len(), 1);
    // The reader drops the rows the filters rule out: ids under 85, and 85 and 88, whose `b`
    // is null. Its counter says how many it dropped.
    let dropped_before = counter(&catalog, "s", "big", 7);
    let ids = |batches: &[RecordBatch]| -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect()
    };
    assert_eq!(ids(&scan(&catalog, &request).unwrap()), [86, 87, 89]);
    assert_eq!(counter(&catalog, "s", "big", 7) - dropped_before, 7);

    // A batch most of whose rows pass goes whole (the engine's filter runs anyway).
    request.filters = vec![
        Predicate::from(Expr::compare(0, CompareOp::Ge, Scalar::Int64(80))),
        Predicate::from(Expr::compare(0, CompareOp::Lt, Scalar::Int64(90))),
        Predicate::from(Expr::compare(0, CompareOp::Ne, Scalar::Int64(81))),
    ];
    assert_eq!(
        ids(&scan(&catalog, &request).unwrap()),
        (80..90).collect::<Vec<_>>()
    );
    assert_eq!(counter(&catalog, "s", "big", 7) - dropped_before, 7);

    // A limit plans only the splits it needs and stops reading.
    let mut request = ScanRequest::table("s", "big");
    request.limit = Some(15);
    assert_eq!(catalog.plan_scan(&request).unwrap().splits.len(), 2);
    request.limit = Some(4);
    assert_eq!(rows(&scan(&catalog, &request).unwrap()), 4);
}

#[test]
fn a_folder_of_files_is_one_table() {
    let (_dir, root) = root();
    write(&root.join("s/events/2024/a.csv"), "id,v\n1,x\n2,y\n");
    write(&root.join("s/events/2025/b.csv"), "v,id\nz,3\n");
    write(&root.join("s/events/_SUCCESS"), "");
    write(&root.join("s/events/.hidden.csv"), "nope\n");
    let catalog = open(&root, &[]);
    assert_eq!(catalog.list_tables("s").unwrap(), ["events"]);
    let plan = catalog
        .plan_scan(&ScanRequest::table("s", "events"))
        .unwrap();
    assert_eq!(plan.splits.len(), 2);
    let batch = all(&catalog, "s", "events");
    // Columns are matched by header name, so the second file's order does not matter.
    assert_eq!(
        batch
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec(),
        [1, 2, 3]
    );

    write_parquet(&root.join("s/pq/one.parquet"), &every_type_batch(10), 5);
    write_parquet(&root.join("s/pq/two.parquet"), &every_type_batch(7), 5);
    assert_eq!(
        catalog.describe_table("s", "pq").unwrap().row_count,
        Some(17)
    );
    assert_eq!(all(&catalog, "s", "pq").num_rows(), 17);

    write(&root.join("s/mixed/a.csv"), "id\n1\n");
    write_parquet(&root.join("s/mixed/b.parquet"), &every_type_batch(1), 5);
    let err = catalog.describe_table("s", "mixed").unwrap_err();
    assert!(err.message.contains("mixes formats"), "{err}");
}

#[test]
fn bad_rows_name_the_file_and_row_or_are_skipped() {
    let (_dir, root) = root();
    write(&root.join("s/nums.csv"), "n,t\n1,a\n2,b\nthree,c\n4\n5,e\n");
    write(
        &root.join("s/lines.jsonl"),
        "{\"n\": 1}\n{\"n\": 2}\n{\"n\": oops}\n[1]\n{\"n\": 5}\n",
    );
    let catalog = open(&root, &[("columns", "n:int64")]);
    let err = scan(&catalog, &ScanRequest::table("s", "nums")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Io);
    assert!(
        err.message.contains("\"s/nums.csv\"")
            && err.message.contains("row 3 (line 4, byte offset 12)")
            && err.message.contains("\"three\""),
        "{err}"
    );
    let err = scan(&catalog, &ScanRequest::table("s", "lines")).unwrap_err();
    assert!(
        err.message.contains("\"s/lines.jsonl\"")
            && err.message.contains("line 3")
            && err.message.contains("invalid json"),
        "{err}"
    );

    let skipping = open(&root, &[("columns", "n:int64"), ("skip_bad_rows", "true")]);
    let nums = concat_batches(
        &skipping.describe_table("s", "nums").unwrap().to_arrow(),
        &scan(&skipping, &ScanRequest::table("s", "nums")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        nums.column(0).as_primitive::<Int64Type>().values().to_vec(),
        [1, 2, 5]
    );
    assert_eq!(
        rows(&scan(&skipping, &ScanRequest::table("s", "lines")).unwrap()),
        3
    );
    let stats = all(&skipping, "s", "files$stats");
    let skipped: u64 = stats
        .column(6)
        .as_primitive::<UInt64Type>()
        .iter()
        .flatten()
        .sum();
    assert_eq!(skipped, 4);
}

#[test]
fn a_truncated_parquet_file_names_the_file_and_offset() {
    let (_dir, root) = root();
    let path = root.join("s/cut.parquet");
    write_parquet(&path, &every_type_batch(50), 10);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let catalog = open(&root, &[]);
    let err = catalog.describe_table("s", "cut").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Io);
    assert!(
        err.message.contains("\"s/cut.parquet\"") && err.message.contains("byte offset"),
        "{err}"
    );
}

#[test]
fn names_symlinks_and_property_paths_cannot_leave_the_root() {
    let (dir, root) = root();
    write(&root.join("s/ok.csv"), "a\n1\n");
    write(
        &dir.path().join("secret/passwords.csv"),
        "user,password\nroot,hunter2\n",
    );
    std::os::unix::fs::symlink(
        dir.path().join("secret/passwords.csv"),
        root.join("s/leak.csv"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../../secret", root.join("s/leakdir")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret"), root.join("outside_schema")).unwrap();
    std::os::unix::fs::symlink("ok.csv", root.join("s/alias.csv")).unwrap();
    let catalog = open(&root, &[]);

    // Escaping symlinks are left out of listings; one inside the root is served.
    assert_eq!(catalog.list_schemas().unwrap(), ["s"]);
    assert_eq!(catalog.list_tables("s").unwrap(), ["alias", "ok"]);
    assert_eq!(all(&catalog, "s", "alias").num_rows(), 1);

    for (schema, table) in [("s", "leak"), ("s", "leakdir")] {
        let err = catalog.describe_table(schema, table).unwrap_err();
        assert!(err.message.contains("outside the root"), "{table}: {err}");
    }
    let err = catalog.list_tables("outside_schema").unwrap_err();
    assert!(err.message.contains("outside the root"), "{err}");

    for name in ["..", "../secret", "s/../..", "/etc"] {
        let err = catalog.describe_table("s", name).unwrap_err();
        assert!(err.message.contains("invalid table name"), "{name}: {err}");
        let err = catalog.list_tables(name).unwrap_err();
        assert!(err.message.contains("invalid schema name"), "{name}: {err}");
    }
    let mut request = ScanRequest::table("..", "ok");
    assert!(catalog.plan_scan(&request).is_err());
    request.schema = "s".into();

    // A forged split payload cannot point outside either.
    let forged = quarry_sdk::Split {
        payload: br#"{"kind":"file","format":"csv","path":"../secret/passwords.csv","columns":[]}"#
            .to_vec(),
        estimated_rows: None,
    };
    let err = catalog.open_split(&request, &forged).err().unwrap();
    assert!(err.message.contains(".."), "{err}");
    let forged = quarry_sdk::Split {
        payload: br#"{"kind":"file","format":"csv","path":"/etc/passwd","columns":[]}"#.to_vec(),
        estimated_rows: None,
    };
    let err = catalog.open_split(&request, &forged).err().unwrap();
    assert!(err.message.contains("absolute"), "{err}");

    // Absolute and `..` paths in properties.
    let props = Properties::new().with("root", root.to_str().unwrap());
    for (key, value, expected) in [
        ("tables", "s.x=/etc/passwd", "absolute"),
        ("tables", "s.x=../secret", ".."),
        ("root", "relative/root", "absolute"),
        ("root", &format!("{}/../secret", root.display()), ".."),
    ] {
        let props = props.clone().with(key, value);
        let err = FilesConnector::open(props.clone()).err().unwrap();
        assert_eq!(err.kind, ErrorKind::InvalidConfig);
        assert!(err.message.contains(expected), "{key}={value}: {err}");
        let issues = FilesConnector::validate(&props);
        assert_eq!(issues[0].field.as_deref(), Some(key), "{issues:?}");
    }
    // A relative `tables` path inside the root works.
    let catalog = open(&root, &[("tables", "extra.renamed=s/ok.csv")]);
    assert_eq!(catalog.list_schemas().unwrap(), ["extra", "s"]);
    assert_eq!(all(&catalog, "extra", "renamed").num_rows(), 1);
}

#[test]
fn without_a_grant_covering_root_nothing_opens() {
    let (_dir, root) = root();
    let props = Properties::new().with("root", root.to_str().unwrap());
    let err = FilesCatalog::open_with_grants(&props, Some(&[])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidConfig);
    assert!(
        err.message.contains("property \"root\"") && err.message.contains("allowed_paths"),
        "{err}"
    );
    let elsewhere = [PathBuf::from("/somewhere/else")];
    assert!(FilesCatalog::open_with_grants(&props, Some(&elsewhere)).is_err());
    let parent = [root.parent().unwrap().to_path_buf()];
    FilesCatalog::open_with_grants(&props, Some(&parent)).unwrap();

    let missing = Properties::new().with("root", root.join("nope").to_str().unwrap());
    let err = FilesConnector::open(missing).err().unwrap();
    assert!(err.message.contains("cannot read"), "{err}");
}

#[test]
fn limits_stop_text_readers_early() {
    let (_dir, root) = root();
    let body: String = (0..100).map(|i| format!("{i}\n")).collect();
    write(&root.join("s/n.csv"), &format!("n\n{body}"));
    let catalog = open(&root, &[]);
    let mut request = ScanRequest::table("s", "n");
    request.limit = Some(7);
    assert_eq!(rows(&scan(&catalog, &request).unwrap()), 7);
    assert_eq!(
        catalog.plan_scan(&request).unwrap().filters,
        Vec::<Pushdown>::new()
    );
    request.filters = vec![Predicate::from(Expr::IsNull(0))];
    request.limit = None;
    assert_eq!(
        catalog.plan_scan(&request).unwrap().filters,
        [Pushdown::Unsupported]
    );
}
