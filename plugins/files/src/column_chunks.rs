//! The projected column chunks of a Parquet scan, read one row group at a time, each run of
//! adjacent chunks in one read.
//!
//! Parquet's synchronous reader asks its `ChunkReader` for every page twice: a `Read` from the
//! page's offset, from which it decodes the page header a few bytes at a time, then the page
//! body. Served straight from the file, every one of those small reads is a seek and a read
//! through WASI, a host call each: a TPC-H sf1 `lineitem` scan made tens of thousands of them.
//! [`ColumnChunks`] instead reads, when the scan first touches a row group, all the projected
//! column chunks of that row group (adjacent ones in one read) and serves the pages from
//! memory, as DataFusion's own Parquet reader does. It keeps one row group in memory at a time.
//! A read outside the planned chunks (a chunk whose offsets the footer gives wrongly, say) goes
//! to the file as before, so the plan only decides speed, never what is read.

use std::io::{Cursor, Read};
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};

use crate::stats::{CountingFile, CountingRead};

/// Byte ranges, `start..end` in the file.
type Range = (u64, u64);

/// A Parquet [`ChunkReader`] that serves the planned column chunks from memory.
pub struct ColumnChunks {
    file: CountingFile,
    /// For each row group the scan reads, in the order it reads them: its coalesced ranges.
    plan: Vec<Vec<Range>>,
    loaded: Mutex<Loaded>,
}

/// The row group in memory: its index in `plan`, and its ranges' bytes.
#[derive(Default)]
struct Loaded {
    group: Option<usize>,
    chunks: Vec<(u64, Bytes)>,
}

impl ColumnChunks {
    /// Plans the reads of the leaf columns under `roots` in `row_groups` of a file.
    pub fn new(
        file: CountingFile,
        metadata: &ParquetMetaData,
        row_groups: &[usize],
        roots: &[usize],
    ) -> ColumnChunks {
        let descr = metadata.file_metadata().schema_descr();
        let leaves: Vec<usize> = (0..descr.num_columns())
            .filter(|&leaf| roots.contains(&descr.get_column_root_idx(leaf)))
            .collect();
        let len = file.len();
        let plan = row_groups
            .iter()
            .map(|&rg| {
                let group = metadata.row_group(rg);
                let ranges = leaves.iter().filter_map(|&leaf| {
                    let chunk = group.column(leaf);
                    let start = chunk
                        .dictionary_page_offset()
                        .unwrap_or_else(|| chunk.data_page_offset());
                    let start = u64::try_from(start).ok()?;
                    let end = start.checked_add(u64::try_from(chunk.compressed_size()).ok()?)?;
                    // A footer that points past the end is left to the reader to report.
                    (end <= len).then_some((start, end))
                });
                coalesce(ranges.collect())
            })
            .collect();
        ColumnChunks {
            file,
            plan,
            loaded: Mutex::new(Loaded::default()),
        }
    }

    /// The bytes of the planned range holding `start..start + length`, from `start`, if any;
    /// loads that range's row group when it is not the one in memory.
    fn planned(&self, start: u64, length: u64) -> parquet::errors::Result<Option<Bytes>> {
        let end = start.saturating_add(length);
        let within = |&(s, e): &Range| s <= start && end <= e;
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        let in_memory = loaded
            .group
            .is_some_and(|g| self.plan[g].iter().any(within));
        if !in_memory {
            let Some(g) = self
                .plan
                .iter()
                .position(|ranges| ranges.iter().any(within))
            else {
                return Ok(None);
            };
            // Drop the previous row group before reading the next.
            loaded.chunks.clear();
            loaded.group = None;
            for &(s, e) in &self.plan[g] {
                let size = usize::try_from(e - s).unwrap_or(usize::MAX);
                let bytes = self.file.get_bytes(s, size)?;
                loaded.chunks.push((s, bytes));
            }
            loaded.group = Some(g);
        }
        Ok(loaded
            .chunks
            .iter()
            .find(|(s, bytes)| within(&(*s, *s + bytes.len() as u64)))
            .map(|(s, bytes)| {
                let from = usize::try_from(start - s).unwrap_or(usize::MAX);
                bytes.slice(from..)
            }))
    }
}

/// Sorts ranges and merges those that overlap or touch.
fn coalesce(mut ranges: Vec<Range>) -> Vec<Range> {
    ranges.sort_unstable();
    let mut out: Vec<Range> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// A sequential read from a planned range in memory, or from the file.
pub enum ChunkRead {
    Memory(Cursor<Bytes>),
    File(CountingRead),
}

impl Read for ChunkRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ChunkRead::Memory(cursor) => cursor.read(buf),
            ChunkRead::File(read) => read.read(buf),
        }
    }
}

impl Length for ColumnChunks {
    fn len(&self) -> u64 {
        self.file.len()
    }
}

impl ChunkReader for ColumnChunks {
    type T = ChunkRead;

    fn get_read(&self, start: u64) -> parquet::errors::Result<ChunkRead> {
        // A page header lies within its column chunk: a read of one byte finds the range.
        Ok(match self.planned(start, 1)? {
            Some(bytes) => ChunkRead::Memory(Cursor::new(bytes)),
            None => ChunkRead::File(self.file.reader_at(start)),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self.planned(start, length as u64)? {
            Some(bytes) => Ok(bytes.slice(..length)),
            None => self.file.get_bytes(start, length),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
    use parquet::file::properties::WriterProperties;
    use parquet::file::reader::ChunkReader;

    use super::{ColumnChunks, coalesce};
    use crate::stats::{CountingFile, FileCounters};

    #[test]
    fn ranges_that_touch_or_overlap_merge_and_gaps_stay() {
        assert_eq!(
            coalesce(vec![(30, 40), (0, 10), (10, 20), (35, 50), (60, 70)]),
            vec![(0, 20), (30, 50), (60, 70)]
        );
        assert_eq!(coalesce(Vec::new()), Vec::new());
    }

    /// A file of 2 row groups of 3 columns (a, b, c), its metadata, and a counted handle.
    fn file() -> (
        tempfile::TempDir,
        CountingFile,
        ParquetMetaData,
        Arc<FileCounters>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let a: ArrayRef = Arc::new(Int64Array::from_iter_values(0..1000));
        let b: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..1000).map(|i| format!("row {i}")),
        ));
        let c: ArrayRef = Arc::new(Int64Array::from_iter_values((0..1000).map(|i| i * 7)));
        let batch = RecordBatch::try_from_iter([("a", a), ("b", b), ("c", c)]).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(500))
            .build();
        let mut writer = ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            batch.schema(),
            Some(props),
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let counters = Arc::new(FileCounters::default());
        let handle = CountingFile::open(&path, counters.clone()).unwrap();
        let metadata = ParquetMetaDataReader::new()
            .parse_and_finish(&handle)
            .unwrap();
        (dir, handle, metadata, counters)
    }

    fn calls(counters: &FileCounters) -> u64 {
        counters.read_calls.load(Ordering::Relaxed)
    }

    #[test]
    fn a_row_group_is_read_once_in_one_call_per_range_and_serves_the_file_bytes() {
        let (_dir, handle, metadata, counters) = file();
        // Columns a and c of both row groups, the second first: a and c are not adjacent.
        let chunks = ColumnChunks::new(handle.clone(), &metadata, &[1, 0], &[0, 2]);
        for rg in [1, 0] {
            let before = calls(&counters);
            for leaf in [0, 2] {
                let (start, length) = metadata.row_group(rg).column(leaf).byte_range();
                let length = usize::try_from(length).unwrap();
                let bytes = chunks.get_bytes(start, length).unwrap();
                let mut read = Vec::new();
                chunks
                    .get_read(start)
                    .unwrap()
                    .read_to_end(&mut read)
                    .unwrap();
                let direct = handle.get_bytes(start, length).unwrap();
                assert_eq!(bytes, direct);
                assert_eq!(&read[..length], &direct[..], "row group {rg} leaf {leaf}");
            }
            // Two reads from the file for the two ranges, plus the two direct reads above.
            assert_eq!(calls(&counters) - before, 2 + 2, "row group {rg}");
        }
    }

    #[test]
    fn a_read_outside_the_planned_chunks_goes_to_the_file() {
        let (_dir, handle, metadata, counters) = file();
        let chunks = ColumnChunks::new(handle.clone(), &metadata, &[0], &[0]);
        // Column b was not planned: it is read from the file, as asked, every time.
        let (start, length) = metadata.row_group(0).column(1).byte_range();
        let length = usize::try_from(length).unwrap();
        let before = calls(&counters);
        let bytes = chunks.get_bytes(start, length).unwrap();
        assert_eq!(calls(&counters) - before, 1);
        assert_eq!(bytes, handle.get_bytes(start, length).unwrap());
        // So is a range that runs past the end of a planned chunk.
        let (a_start, a_length) = metadata.row_group(0).column(0).byte_range();
        let past = usize::try_from(a_length).unwrap() + 1;
        assert_eq!(
            chunks.get_bytes(a_start, past).unwrap(),
            handle.get_bytes(a_start, past).unwrap()
        );
    }
}
