//! TPC-H loaded into a real PostgreSQL database from the native generator: the tables of
//! [`native_tpch_batches`](crate::tpch_reference::native_tpch_batches), with column types derived
//! from their Arrow schema, generated and sent a batch at a time, copied in as CSV with `COPY … FROM STDIN` and analysed, so that the
//! postgres connector's answers can be checked against DataFusion over the very same rows.

use std::fmt::Write as _;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Schema};
use datafusion::arrow::util::display::array_value_to_string;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::tpch_reference::{TPCH_TABLES, native_tpch_batches};

/// Rows per `COPY` chunk sent to the server.
const CHUNK_ROWS: usize = 8192;

/// Creates schema `schema` in the database at `url` and loads the TPC-H tables at `scale` into
/// it (only those named in `only`, when given), then runs `ANALYZE` so the server's row
/// estimates are right. Returns the rows loaded per table.
pub async fn load_tpch_postgres(
    url: &str,
    scale: f64,
    schema: &str,
    only: Option<&[&str]>,
) -> Vec<(&'static str, u64)> {
    let mut connection = PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    connection
        .execute(AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote_identifier(schema)
        )))
        .await
        .unwrap_or_else(|e| panic!("create schema {schema}: {e}"));
    let mut loaded = Vec::new();
    for table in TPCH_TABLES {
        if only.is_some_and(|names| !names.contains(&table)) {
            continue;
        }
        let qualified = format!("{}.{}", quote_identifier(schema), quote_identifier(table));
        let mut batches = native_tpch_batches(table, scale).peekable();
        let arrow_schema = match batches.peek() {
            Some(Ok(batch)) => batch.schema(),
            _ => panic!("tpchgen-arrow generated no {table} batch"),
        };
        connection
            .execute(AssertSqlSafe(create_table_sql(&qualified, &arrow_schema)))
            .await
            .unwrap_or_else(|e| panic!("create table {qualified}: {e}"));
        let mut copy = connection
            .copy_in_raw(&format!("COPY {qualified} FROM STDIN WITH (FORMAT csv)"))
            .await
            .unwrap_or_else(|e| panic!("copy into {qualified}: {e}"));
        for batch in batches {
            let batch = batch.unwrap_or_else(|e| panic!("generate {table}: {e}"));
            for start in (0..batch.num_rows()).step_by(CHUNK_ROWS) {
                let rows = batch.slice(start, CHUNK_ROWS.min(batch.num_rows() - start));
                copy.send(csv_rows(&rows).into_bytes())
                    .await
                    .unwrap_or_else(|e| panic!("copy into {qualified}: {e}"));
            }
        }
        let rows = copy
            .finish()
            .await
            .unwrap_or_else(|e| panic!("copy into {qualified}: {e}"));
        loaded.push((table, rows));
    }
    connection
        .execute("ANALYZE")
        .await
        .unwrap_or_else(|e| panic!("analyze: {e}"));
    connection.close().await.ok();
    loaded
}

/// `CREATE TABLE` for `schema`'s columns, with the PostgreSQL type of each Arrow type the
/// generator produces.
fn create_table_sql(qualified: &str, schema: &Schema) -> String {
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|field| {
            let not_null = if field.is_nullable() { "" } else { " NOT NULL" };
            format!(
                "{} {}{not_null}",
                quote_identifier(field.name()),
                postgres_type(field.data_type())
            )
        })
        .collect();
    format!("CREATE TABLE {qualified} ({})", columns.join(", "))
}

/// The PostgreSQL column type holding every value of `data_type` exactly.
fn postgres_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Int8 | DataType::Int16 => "smallint".to_owned(),
        DataType::Int32 => "integer".to_owned(),
        DataType::Int64 => "bigint".to_owned(),
        DataType::Float32 => "real".to_owned(),
        DataType::Float64 => "double precision".to_owned(),
        DataType::Decimal128(precision, scale) => format!("numeric({precision}, {scale})"),
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => "text".to_owned(),
        DataType::Date32 => "date".to_owned(),
        DataType::Boolean => "boolean".to_owned(),
        other => panic!("no PostgreSQL type for the generator's {other} column"),
    }
}

/// `batch` as CSV lines: text quoted, quotes doubled, nulls empty.
fn csv_rows(batch: &RecordBatch) -> String {
    let mut out = String::new();
    for row in 0..batch.num_rows() {
        for (index, column) in batch.columns().iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            if column.is_null(row) {
                continue;
            }
            let text = array_value_to_string(column.as_ref(), row)
                .unwrap_or_else(|e| panic!("format a {} value: {e}", column.data_type()));
            if matches!(
                column.data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            ) {
                let _ = write!(out, "\"{}\"", text.replace('"', "\"\""));
            } else {
                out.push_str(&text);
            }
        }
        out.push('\n');
    }
    out
}

/// `name` as a PostgreSQL identifier, always quoted.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Date32Array, Decimal128Array, Int64Array, StringArray};
    use arrow_schema::Field;

    use super::*;

    #[test]
    fn the_table_follows_the_arrow_schema() {
        let schema = Schema::new(vec![
            Field::new("l_orderkey", DataType::Int64, false),
            Field::new("l_price", DataType::Decimal128(15, 2), false),
            Field::new("l_comment", DataType::Utf8View, true),
            Field::new("l_shipdate", DataType::Date32, false),
        ]);
        assert_eq!(
            create_table_sql("\"tiny\".\"lineitem\"", &schema),
            "CREATE TABLE \"tiny\".\"lineitem\" (\"l_orderkey\" bigint NOT NULL, \
             \"l_price\" numeric(15, 2) NOT NULL, \"l_comment\" text, \"l_shipdate\" date NOT NULL)"
        );
    }

    #[test]
    fn csv_quotes_text_and_leaves_nulls_empty() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("price", DataType::Decimal128(15, 2), false),
            Field::new("comment", DataType::Utf8, true),
            Field::new("day", DataType::Date32, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(
                    Decimal128Array::from(vec![12345, -5])
                        .with_precision_and_scale(15, 2)
                        .unwrap(),
                ),
                Arc::new(StringArray::from(vec![Some("say \"hi\", then"), None])),
                Arc::new(Date32Array::from(vec![0, 9131])),
            ],
        )
        .unwrap();
        assert_eq!(
            csv_rows(&batch),
            "1,123.45,\"say \"\"hi\"\", then\",1970-01-01\n2,-0.05,,1995-01-01\n"
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
