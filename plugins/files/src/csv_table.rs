//! CSV (and TSV) files: column inference from a bounded sample, and a split reader.

use std::io::BufReader;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow_array::RecordBatch;
use quarry_sdk::rows::RowAssembler;
use quarry_sdk::values::{Cell, Inferred, infer_text};
use quarry_sdk::{Column, ConnectorError, Result};

use crate::bad_rows::{BadRows, RowPosition};
use crate::config::{CsvOptions, FilesConfig};
use crate::layout::{DataFile, Format};
use crate::stats::{CountingFile, FileCounters};

/// Read buffer for text files: large reads keep the number of host calls low.
const READ_BUFFER: usize = 256 * 1024;

fn csv_reader(
    options: &CsvOptions,
    format: Format,
    file: &CountingFile,
) -> csv::Reader<BufReader<crate::stats::CountingRead>> {
    let delimiter = if format == Format::Tsv {
        b'\t'
    } else {
        options.delimiter
    };
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .quote(options.quote)
        .from_reader(BufReader::with_capacity(READ_BUFFER, file.reader_at(0)))
}

fn open_error(file: &DataFile, err: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::io(format!("file \"{}\": {err}", file.relative.display()))
}

/// Header names made unique and non-empty.
fn column_names(header: &csv::ByteRecord) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (i, field) in header.iter().enumerate() {
        let raw = String::from_utf8_lossy(field).trim().to_owned();
        let base = if raw.is_empty() {
            format!("column_{}", i + 1)
        } else {
            raw
        };
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

/// Is this text the CSV null?
fn is_null(text: &str, options: &CsvOptions) -> bool {
    text.is_empty() || text == options.null
}

/// The columns of a CSV table: names from the headers (or `column_N`), types inferred from
/// up to `infer_rows` rows over the first files, then the `columns` overrides.
pub fn infer_columns(
    config: &FilesConfig,
    format: Format,
    files: &[DataFile],
    counters: &dyn Fn(&DataFile) -> Arc<FileCounters>,
    schema: &str,
    table: &str,
) -> Result<Vec<Column>> {
    let mut names: Vec<String> = Vec::new();
    let mut types: Vec<Inferred> = Vec::new();
    let mut budget = config.infer_rows;
    for file in files {
        if budget == 0 {
            break;
        }
        let handle =
            CountingFile::open(&file.real, counters(file)).map_err(|e| open_error(file, e))?;
        let mut reader = csv_reader(&config.csv, format, &handle);
        let mut record = csv::ByteRecord::new();
        // Position of each field of this file in `names`.
        let mut mapping: Vec<usize> = Vec::new();
        if config.csv.header {
            if !reader
                .read_byte_record(&mut record)
                .map_err(|e| open_error(file, e))?
            {
                continue;
            }
            for name in column_names(&record) {
                let index = names.iter().position(|n| *n == name).unwrap_or_else(|| {
                    names.push(name);
                    types.push(Inferred::Unknown);
                    names.len() - 1
                });
                mapping.push(index);
            }
        }
        while budget > 0 {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                // A sample only guides types: rows the reader rejects are the scan's business.
                Err(_) => continue,
            }
            budget -= 1;
            for (i, field) in record.iter().enumerate() {
                if !config.csv.header && i >= mapping.len() {
                    names.push(format!("column_{}", names.len() + 1));
                    types.push(Inferred::Unknown);
                    mapping.push(names.len() - 1);
                }
                let Some(&index) = mapping.get(i) else {
                    continue;
                };
                let Ok(text) = std::str::from_utf8(field) else {
                    types[index] = Inferred::Utf8;
                    continue;
                };
                if !is_null(text, &config.csv) {
                    types[index] = types[index].merge(infer_text(text, false));
                }
            }
        }
    }
    if names.is_empty() {
        return Err(ConnectorError::not_found(format!(
            "table \"{schema}.{table}\": no columns found (empty csv files)"
        )));
    }
    Ok(names
        .into_iter()
        .zip(types)
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

/// Reads one CSV file of a table.
pub struct CsvReader {
    reader: csv::Reader<BufReader<crate::stats::CountingRead>>,
    record: csv::ByteRecord,
    options: CsvOptions,
    /// Field index in the file of each projected column; `None` reads as null (a column the
    /// table has but this file lacks).
    positions: Vec<Option<usize>>,
    expected_fields: Option<usize>,
    assembler: RowAssembler,
    bad: BadRows,
    row: u64,
    remaining: Option<u64>,
    done: bool,
}

impl CsvReader {
    /// `table_columns` are every column of the table; `projection` picks the output.
    pub fn open(
        config: &FilesConfig,
        format: Format,
        file: &DataFile,
        counters: Arc<FileCounters>,
        table_columns: &[Column],
        projection: &[usize],
        limit: Option<u64>,
    ) -> Result<CsvReader> {
        let handle =
            CountingFile::open(&file.real, counters.clone()).map_err(|e| open_error(file, e))?;
        let mut reader = csv_reader(&config.csv, format, &handle);
        let mut record = csv::ByteRecord::new();
        let (positions, expected_fields) = if config.csv.header {
            let has_header = reader
                .read_byte_record(&mut record)
                .map_err(|e| open_error(file, e))?;
            let names = if has_header {
                column_names(&record)
            } else {
                Vec::new()
            };
            let positions = projection
                .iter()
                .map(|&i| names.iter().position(|n| *n == table_columns[i].name))
                .collect();
            (positions, has_header.then_some(names.len()))
        } else {
            (projection.iter().map(|&i| Some(i)).collect(), None)
        };
        let columns = projection
            .iter()
            .map(|&i| table_columns[i].clone())
            .collect();
        Ok(CsvReader {
            reader,
            record,
            options: config.csv.clone(),
            positions,
            expected_fields,
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
            let start = self.reader.position().clone();
            let at = |row| RowPosition {
                row: Some(row),
                line: start.line(),
                byte: start.byte(),
            };
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(err) => {
                    if let csv::ErrorKind::Io(io) = err.kind() {
                        return Err(ConnectorError::io(format!(
                            "file \"{}\": {io}",
                            self.bad.file
                        )));
                    }
                    self.row += 1;
                    self.bad.handle(at(self.row), &err.to_string())?;
                    continue;
                }
            }
            self.row += 1;
            let fields = self.record.len();
            let expected = *self.expected_fields.get_or_insert(fields);
            if fields != expected {
                self.bad.handle(
                    at(self.row),
                    &format!("expected {expected} fields, found {fields}"),
                )?;
                continue;
            }
            let record = &self.record;
            let positions = &self.positions;
            let options = &self.options;
            // Check UTF-8 first, so the parse closure below cannot fail on it.
            if let Some(bad_field) = positions.iter().flatten().find(|&&p| {
                record
                    .get(p)
                    .is_some_and(|f| std::str::from_utf8(f).is_err())
            }) {
                self.bad.handle(
                    at(self.row),
                    &format!("field {} is not valid utf-8", bad_field + 1),
                )?;
                continue;
            }
            let pushed = self.assembler.push_row(|i| {
                let text = positions[i]
                    .and_then(|p| record.get(p))
                    .and_then(|f| std::str::from_utf8(f).ok());
                match text {
                    Some(t) if !is_null(t, options) => Cell::Text(t),
                    _ => Cell::Null,
                }
            });
            match pushed {
                Ok(()) => {
                    if let Some(r) = self.remaining.as_mut() {
                        *r -= 1;
                    }
                }
                Err(reason) => self.bad.handle(at(self.row), &reason)?,
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
