//! The connector's own counters, and the `files$stats` system table that shows them.
//!
//! Every byte the connector reads from a data file goes through a [`CountingFile`], which adds
//! it to the counters of that file: bytes and read calls (metadata and samples included),
//! splits opened, rows returned, bad rows skipped and rows the pushed filters dropped.
//! `SELECT * FROM <schema>."files$stats"` returns one row per file of that schema read so far
//! by this instance. Counters live in the instance (the host keeps warm instances per
//! catalog), so a test or an operator compares two readings taken around a scan.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};
use quarry_sdk::{Column, DataType, Result, TableSchema, TableSchemaArrow};

/// The name of the system table, in every schema.
pub const STATS_TABLE: &str = "files$stats";

/// Counters of one file.
#[derive(Debug, Default)]
pub struct FileCounters {
    pub bytes_read: AtomicU64,
    pub read_calls: AtomicU64,
    pub splits: AtomicU64,
    pub rows: AtomicU64,
    pub bad_rows_skipped: AtomicU64,
    pub rows_filtered_out: AtomicU64,
}

impl FileCounters {
    pub fn add_bytes(&self, n: usize) {
        self.bytes_read
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.read_calls.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// (root, schema, table, file relative to root)
type Key = (PathBuf, String, String, String);

static COUNTERS: Mutex<BTreeMap<Key, Arc<FileCounters>>> = Mutex::new(BTreeMap::new());

/// The counters of a file of a table, created on first use.
pub fn counters(root: &Path, schema: &str, table: &str, file: &Path) -> Arc<FileCounters> {
    let key = (
        root.to_path_buf(),
        schema.to_owned(),
        table.to_owned(),
        file.display().to_string(),
    );
    let mut map = COUNTERS.lock().unwrap_or_else(PoisonError::into_inner);
    map.entry(key).or_default().clone()
}

/// The columns of `files$stats`.
pub fn stats_schema() -> TableSchema {
    TableSchema::new(vec![
        Column::not_null("table", DataType::Utf8),
        Column::not_null("file", DataType::Utf8),
        Column::not_null("bytes_read", DataType::UInt64),
        Column::not_null("read_calls", DataType::UInt64),
        Column::not_null("splits", DataType::UInt64),
        Column::not_null("rows", DataType::UInt64),
        Column::not_null("bad_rows_skipped", DataType::UInt64),
        Column::not_null("rows_filtered_out", DataType::UInt64),
    ])
}

/// The rows of `files$stats` for one schema, in the projected column order.
pub fn stats_batch(root: &Path, schema: &str, projection: Option<&[u32]>) -> Result<RecordBatch> {
    let snapshot: Vec<(String, String, [u64; 6])> = {
        let map = COUNTERS.lock().unwrap_or_else(PoisonError::into_inner);
        map.iter()
            .filter(|((r, s, _, _), _)| r == root && s == schema)
            .map(|((_, _, table, file), c)| {
                (
                    table.clone(),
                    file.clone(),
                    [
                        c.bytes_read.load(Ordering::Relaxed),
                        c.read_calls.load(Ordering::Relaxed),
                        c.splits.load(Ordering::Relaxed),
                        c.rows.load(Ordering::Relaxed),
                        c.bad_rows_skipped.load(Ordering::Relaxed),
                        c.rows_filtered_out.load(Ordering::Relaxed),
                    ],
                )
            })
            .collect()
    };
    let full = stats_schema();
    let out_schema = full.project_arrow(projection)?;
    let indices: Vec<usize> = match projection {
        Some(p) => p.iter().map(|&i| i as usize).collect(),
        None => (0..full.columns.len()).collect(),
    };
    let columns: Vec<ArrayRef> = indices
        .iter()
        .map(|&i| -> ArrayRef {
            match i {
                0 => Arc::new(StringArray::from_iter_values(
                    snapshot.iter().map(|r| r.0.as_str()),
                )),
                1 => Arc::new(StringArray::from_iter_values(
                    snapshot.iter().map(|r| r.1.as_str()),
                )),
                n => Arc::new(UInt64Array::from_iter_values(
                    snapshot.iter().map(|r| r.2[n - 2]),
                )),
            }
        })
        .collect();
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(snapshot.len()));
    Ok(RecordBatch::try_new_with_options(
        out_schema, columns, &options,
    )?)
}

/// A read-only file whose reads are counted. Also a Parquet [`ChunkReader`]: `File`'s own
/// implementation clones the descriptor, which WASI cannot do, so reads here seek a shared
/// handle instead.
#[derive(Debug, Clone)]
pub struct CountingFile {
    file: Arc<Mutex<File>>,
    len: u64,
    modified: Option<SystemTime>,
    counters: Arc<FileCounters>,
}

impl CountingFile {
    pub fn open(real: &Path, counters: Arc<FileCounters>) -> std::io::Result<CountingFile> {
        let file = File::open(real)?;
        let metadata = file.metadata()?;
        Ok(CountingFile {
            file: Arc::new(Mutex::new(file)),
            len: metadata.len(),
            modified: metadata.modified().ok(),
            counters,
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// When the file was last modified, if the filesystem says.
    pub fn modified(&self) -> Option<SystemTime> {
        self.modified
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads up to `buf.len()` bytes at `offset`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.seek(SeekFrom::Start(offset))?;
        let n = file.read(buf)?;
        self.counters.add_bytes(n);
        Ok(n)
    }

    /// A sequential reader from `offset`.
    pub fn reader_at(&self, offset: u64) -> CountingRead {
        CountingRead {
            file: self.clone(),
            position: offset,
        }
    }
}

/// A sequential reader over a [`CountingFile`].
#[derive(Debug)]
pub struct CountingRead {
    file: CountingFile,
    position: u64,
}

impl Read for CountingRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(self.position, buf)?;
        self.position += n as u64;
        Ok(n)
    }
}

impl Length for CountingFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for CountingFile {
    type T = CountingRead;

    fn get_read(&self, start: u64) -> parquet::errors::Result<CountingRead> {
        Ok(self.reader_at(start))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buf = vec![0u8; length];
        let mut filled = 0;
        while filled < length {
            let n = self
                .read_at(start + filled as u64, &mut buf[filled..])
                .map_err(|e| ParquetError::External(Box::new(e)))?;
            if n == 0 {
                return Err(ParquetError::EOF(format!(
                    "expected {length} bytes at byte offset {start}, file ends at byte {}",
                    start + filled as u64
                )));
            }
            filled += n;
        }
        Ok(Bytes::from(buf))
    }
}
