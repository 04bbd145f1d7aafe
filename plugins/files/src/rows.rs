//! Row-at-a-time assembly of batches for the text formats (CSV, JSON lines), and what happens
//! to a row that does not parse.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{Schema, SchemaRef};
use quarry_sdk::{Column, ConnectorError, Result};

use crate::stats::FileCounters;
use crate::values::{Cell, ColumnValues, Value, parse_cell};

/// Bad rows logged per file when they are skipped; the rest are only counted.
const LOGGED_BAD_ROWS: u64 = 5;

/// Collects parsed rows of the projected columns into batches.
#[derive(Debug)]
pub struct RowAssembler {
    columns: Vec<Column>,
    values: Vec<ColumnValues>,
    schema: SchemaRef,
    rows: usize,
    parsed: Vec<Value>,
}

impl RowAssembler {
    pub fn new(columns: Vec<Column>) -> Self {
        let schema = Arc::new(Schema::new(
            columns.iter().map(Column::to_arrow).collect::<Vec<_>>(),
        ));
        RowAssembler {
            values: columns
                .iter()
                .map(|c| ColumnValues::new(c.data_type.clone()))
                .collect(),
            columns,
            schema,
            rows: 0,
            parsed: Vec::new(),
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Parses one row (`cell(i)` is the cell of projected column `i`) and appends it only if
    /// every cell parsed.
    pub fn push_row<'a>(&mut self, cell: impl Fn(usize) -> Cell<'a>) -> Result<(), String> {
        self.parsed.clear();
        for (i, column) in self.columns.iter().enumerate() {
            self.parsed.push(parse_cell(column, cell(i))?);
        }
        for (values, value) in self.values.iter_mut().zip(self.parsed.drain(..)) {
            values.push(value);
        }
        self.rows += 1;
        Ok(())
    }

    /// The rows assembled so far as a batch; starts over empty.
    pub fn take_batch(&mut self) -> Result<RecordBatch> {
        let columns = self.values.iter_mut().map(ColumnValues::finish).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &options,
        )?)
    }
}

/// Where a row is in its file, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct RowPosition {
    /// 1-based data row (header excluded), when the format counts rows.
    pub row: Option<u64>,
    /// 1-based line.
    pub line: u64,
    /// Byte offset of the row's start.
    pub byte: u64,
}

/// The bad-row policy of one file: fail naming the file and the row, or skip and count.
#[derive(Debug)]
pub struct BadRows {
    pub file: String,
    pub skip: bool,
    pub counters: Arc<FileCounters>,
    skipped: u64,
}

impl BadRows {
    pub fn new(file: String, skip: bool, counters: Arc<FileCounters>) -> Self {
        BadRows {
            file,
            skip,
            counters,
            skipped: 0,
        }
    }

    /// Fails with the position and reason, or counts the row as skipped.
    pub fn handle(&mut self, at: RowPosition, reason: &str) -> Result<()> {
        let place = match at.row {
            Some(row) => format!("row {row} (line {}, byte offset {})", at.line, at.byte),
            None => format!("line {} (byte offset {})", at.line, at.byte),
        };
        if !self.skip {
            return Err(ConnectorError::io(format!(
                "file \"{}\": {place}: {reason}",
                self.file
            )));
        }
        self.skipped += 1;
        self.counters
            .bad_rows_skipped
            .fetch_add(1, Ordering::Relaxed);
        if self.skipped <= LOGGED_BAD_ROWS {
            quarry_sdk::log::warn(&format!(
                "file \"{}\": skipping bad {place}: {reason}",
                self.file
            ));
        }
        Ok(())
    }
}
