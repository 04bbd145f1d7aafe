//! `hello`, the connector of the plugin-authoring tutorial (docs/plugin-authoring.md).
//!
//! One schema, `main`, with one table, `numbers`: `n` from 1 to the catalog's `rows` property,
//! and its `square`. A scan is cut into splits of `split_rows` rows; only the projected columns
//! are built, and a limit stops planning early.

use std::sync::Arc;

use quarry_sdk::arrow_array::{ArrayRef, Int64Array, RecordBatch, RecordBatchOptions};
use quarry_sdk::arrow_schema::SchemaRef;
use quarry_sdk::{
    Catalog, Column, ConfigField, Connector, ConnectorError, ConnectorSpec, DataType, Properties,
    Result, ScanPlan, ScanRequest, Split, SplitReader, TableSchema, TableSchemaArrow,
};

/// The most rows a catalog may ask for: every square must fit in a BIGINT.
pub const MAX_ROWS: u64 = 1_000_000_000;

/// The connector: what it is, and how a catalog is opened from its properties.
pub struct Hello;

impl Connector for Hello {
    type Catalog = HelloCatalog;

    fn spec() -> ConnectorSpec {
        ConnectorSpec {
            name: "hello".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "the numbers 1 to `rows` and their squares, in main.numbers".to_owned(),
            config: vec![
                ConfigField::optional("rows", "How many rows main.numbers has").with_default("10"),
                ConfigField::optional("split_rows", "Rows per split").with_default("1000"),
            ],
        }
    }

    // The host calls this once per warm instance; `validate` (not overridden here) calls it
    // when a catalog is created, so a bad property is refused before anything is stored.
    fn open(properties: Properties) -> Result<HelloCatalog> {
        let rows = properties.parse_or::<u64>("rows", 10)?;
        let split_rows = properties.parse_or::<u64>("split_rows", 1000)?;
        if rows > MAX_ROWS {
            return Err(ConnectorError::invalid_config(format!(
                "property \"rows\" must be at most {MAX_ROWS}"
            )));
        }
        if split_rows == 0 {
            return Err(ConnectorError::invalid_config(
                "property \"split_rows\" must be at least 1",
            ));
        }
        Ok(HelloCatalog { rows, split_rows })
    }
}

/// One configured catalog: its parsed properties.
pub struct HelloCatalog {
    rows: u64,
    split_rows: u64,
}

impl HelloCatalog {
    /// Fails with `not-found` unless `schema.table` is `main.numbers`.
    fn check(&self, schema: &str, table: &str) -> Result<()> {
        if schema != "main" {
            return Err(ConnectorError::not_found(format!(
                "schema \"{schema}\" not found (there is only \"main\")"
            )));
        }
        if table != "numbers" {
            return Err(ConnectorError::not_found(format!(
                "table \"{table}\" not found (there is only \"numbers\")"
            )));
        }
        Ok(())
    }
}

impl Catalog for HelloCatalog {
    type Reader = NumbersReader;

    fn list_schemas(&self) -> Result<Vec<String>> {
        Ok(vec!["main".to_owned()])
    }

    fn list_tables(&self, schema: &str) -> Result<Vec<String>> {
        self.check(schema, "numbers")?;
        Ok(vec!["numbers".to_owned()])
    }

    fn describe_table(&self, schema: &str, table: &str) -> Result<TableSchema> {
        self.check(schema, table)?;
        Ok(TableSchema {
            columns: vec![
                Column::not_null("n", DataType::Int64),
                Column::not_null("square", DataType::Int64),
            ],
            row_count: Some(self.rows),
        })
    }

    fn plan_scan(&self, request: &ScanRequest) -> Result<ScanPlan> {
        self.check(&request.schema, &request.table)?;
        // No filter is pushed down, so the first `limit` rows are all the engine needs.
        let rows = request
            .limit
            .map_or(self.rows, |limit| limit.min(self.rows));
        let splits = (0..rows.div_ceil(self.split_rows))
            .map(|i| {
                let first = i * self.split_rows + 1;
                let last = (first + self.split_rows - 1).min(rows);
                // A payload must be self-contained: any worker may read any split.
                Split {
                    payload: format!("{first}-{last}").into_bytes(),
                    estimated_rows: Some(last - first + 1),
                }
            })
            .collect();
        Ok(ScanPlan::ignoring_filters(request, splits))
    }

    fn open_split(&self, request: &ScanRequest, split: &Split) -> Result<NumbersReader> {
        let table = self.describe_table(&request.schema, &request.table)?;
        let schema = table.project_arrow(request.projection.as_deref())?;
        let text = String::from_utf8_lossy(&split.payload);
        let range = text.split_once('-').and_then(|(first, last)| {
            let first: i64 = first.parse().ok()?;
            let last: i64 = last.parse().ok()?;
            Some((first, last))
        });
        let Some((next, last)) = range else {
            return Err(ConnectorError::internal(format!(
                "invalid hello split {text:?}"
            )));
        };
        Ok(NumbersReader { schema, next, last })
    }
}

/// Reads one split: the numbers `next..=last`, in the projected schema.
pub struct NumbersReader {
    schema: SchemaRef,
    next: i64,
    last: i64,
}

impl SplitReader for NumbersReader {
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RecordBatch>> {
        if self.next > self.last {
            return Ok(None);
        }
        let take = i64::try_from(max_rows.max(1)).unwrap_or(i64::MAX);
        let end = self.last.min(self.next.saturating_add(take - 1));
        let numbers = self.next..=end;
        // One array per projected column, in projection order.
        let columns: Vec<ArrayRef> = self
            .schema
            .fields()
            .iter()
            .map(|field| {
                let values = match field.name().as_str() {
                    "square" => Int64Array::from_iter_values(numbers.clone().map(|n| n * n)),
                    _ => Int64Array::from_iter_values(numbers.clone()),
                };
                Arc::new(values) as ArrayRef
            })
            .collect();
        // For `SELECT count(*)` the projection is empty: then the row count is all there is.
        let row_count = usize::try_from(end - self.next + 1).unwrap_or(0);
        let options = RecordBatchOptions::new().with_row_count(Some(row_count));
        self.next = end + 1;
        let batch = RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)?;
        Ok(Some(batch))
    }
}

quarry_sdk::export_connector!(Hello);
