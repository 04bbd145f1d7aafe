//! JSON lines files (one object per line): column inference from a bounded sample, and a
//! split reader. Keys become columns in order of first appearance; nested objects and arrays
//! are read as their JSON text.

use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow_array::RecordBatch;
use quarry_sdk::rows::RowAssembler;
use quarry_sdk::values::{Cell, JsonColumns, json_kind};
use quarry_sdk::{Column, ConnectorError, Result};
use serde_json::{Map, Value as Json};

use crate::bad_rows::{BadRows, RowPosition};
use crate::config::FilesConfig;
use crate::layout::DataFile;
use crate::stats::{CountingFile, CountingRead, FileCounters};

const READ_BUFFER: usize = 256 * 1024;

fn open_error(file: &DataFile, err: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::io(format!("file \"{}\": {err}", file.relative.display()))
}

/// Lines of a file with their 1-based number and starting byte offset.
struct Lines {
    reader: BufReader<CountingRead>,
    buf: Vec<u8>,
    line: u64,
    offset: u64,
}

impl Lines {
    fn new(file: &CountingFile) -> Self {
        Lines {
            reader: BufReader::with_capacity(READ_BUFFER, file.reader_at(0)),
            buf: Vec::new(),
            line: 0,
            offset: 0,
        }
    }

    /// The next non-blank line as (line, byte offset, bytes); `None` at the end.
    fn next_line(&mut self) -> std::io::Result<Option<(u64, u64)>> {
        loop {
            self.buf.clear();
            let n = self.reader.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            let start = self.offset;
            self.offset += n as u64;
            self.line += 1;
            if self.buf.iter().any(|b| !b.is_ascii_whitespace()) {
                return Ok(Some((self.line, start)));
            }
        }
    }
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Json>, String> {
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "expected a json object, found {}",
            json_kind(&other)
        )),
        Err(err) => Err(format!("invalid json: {err}")),
    }
}

/// The columns of a JSON table: keys in order of first appearance over up to `infer_rows`
/// lines of the first files, types inferred from their values, then the `columns` overrides.
pub fn infer_columns(
    config: &FilesConfig,
    files: &[DataFile],
    counters: &dyn Fn(&DataFile) -> Arc<FileCounters>,
    schema: &str,
    table: &str,
) -> Result<Vec<Column>> {
    let mut sample = JsonColumns::new();
    let mut budget = config.infer_rows;
    for file in files {
        if budget == 0 {
            break;
        }
        let handle =
            CountingFile::open(&file.real, counters(file)).map_err(|e| open_error(file, e))?;
        let mut lines = Lines::new(&handle);
        while budget > 0 {
            let Some(_) = lines.next_line().map_err(|e| open_error(file, e))? else {
                break;
            };
            // A sample only guides types: lines that do not parse are the scan's business.
            let Ok(object) = parse_object(&lines.buf) else {
                continue;
            };
            budget -= 1;
            sample.add(&object);
        }
    }
    if sample.is_empty() {
        return Err(ConnectorError::not_found(format!(
            "table \"{schema}.{table}\": no columns found (no json objects in the sample)"
        )));
    }
    Ok(sample
        .into_inferred()
        .map(
            |(name, inferred)| match config.column_override(schema, table, &name) {
                Some(t) => Column {
                    name,
                    data_type: t.data_type.clone(),
                    nullable: t.nullable,
                    doc: None,
                },
                None => Column::new(&name, inferred.data_type()),
            },
        )
        .collect())
}

/// Reads one JSON lines file of a table.
pub struct JsonReader {
    lines: Lines,
    names: Vec<String>,
    assembler: RowAssembler,
    bad: BadRows,
    row: u64,
    remaining: Option<u64>,
    done: bool,
}

impl JsonReader {
    pub fn open(
        config: &FilesConfig,
        file: &DataFile,
        counters: Arc<FileCounters>,
        table_columns: &[Column],
        projection: &[usize],
        limit: Option<u64>,
    ) -> Result<JsonReader> {
        let handle =
            CountingFile::open(&file.real, counters.clone()).map_err(|e| open_error(file, e))?;
        let columns: Vec<Column> = projection
            .iter()
            .map(|&i| table_columns[i].clone())
            .collect();
        Ok(JsonReader {
            lines: Lines::new(&handle),
            names: columns.iter().map(|c| c.name.clone()).collect(),
            assembler: RowAssembler::new(columns),
            bad: BadRows::new(
                file.relative.display().to_string(),
                config.skip_bad_rows,
                counters,
            ),
            row: 0,
            remaining: limit,
            done: false,
        })
    }

    pub fn next_batch(&mut self, max_rows: usize) -> Result<Option<RecordBatch>> {
        if self.done {
            return Ok(None);
        }
        while self.assembler.rows() < max_rows.max(1) {
            if self.remaining == Some(0) {
                self.done = true;
                break;
            }
            let Some((line, byte)) = self
                .lines
                .next_line()
                .map_err(|e| ConnectorError::io(format!("file \"{}\": {e}", self.bad.file)))?
            else {
                self.done = true;
                break;
            };
            self.row += 1;
            let at = RowPosition {
                row: Some(self.row),
                line,
                byte,
            };
            let object = match parse_object(&self.lines.buf) {
                Ok(object) => object,
                Err(reason) => {
                    self.bad.handle(at, &reason)?;
                    continue;
                }
            };
            let names = &self.names;
            match self
                .assembler
                .push_row(|i| object.get(&names[i]).map_or(Cell::Null, Cell::Json))
            {
                Ok(()) => {
                    if let Some(r) = self.remaining.as_mut() {
                        *r -= 1;
                    }
                }
                Err(reason) => self.bad.handle(at, &reason)?,
            }
        }
        if self.assembler.rows() == 0 {
            return Ok(None);
        }
        let batch = self.assembler.take_batch()?;
        self.bad
            .counters
            .rows
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        Ok(Some(batch))
    }
}
