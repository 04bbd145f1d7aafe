//! Parquet files: the table schema from the file schema, splits per file or per row group,
//! row-group pruning from statistics, and a reader that decodes only the projected columns.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType as ArrowType, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::statistics::Statistics;
use quarry_sdk::predicate::Expr;
use quarry_sdk::{Column, ColumnArrow, ConnectorError, DataType, DataTypeArrow, Result, Scalar};

use crate::batch_filter::BatchFilter;
use crate::column_chunks::ColumnChunks;
use crate::footer_cache::{self, FooterKey};
use crate::layout::DataFile;
use crate::pruning::{ColumnStats, may_match};
use crate::stats::{CountingFile, FileCounters};

/// Rows per decoded batch; the SDK slices further to the host's caps.
const DECODE_BATCH_ROWS: usize = 8192;

/// Reads and parses a file's footer, its view columns decoded as served; a file that is not
/// valid Parquet (truncated, say) fails naming the file, its size and the byte offset where the
/// footer was expected.
fn read_footer(handle: &CountingFile, label: &str) -> Result<ArrowReaderMetadata> {
    let size = handle.len();
    let metadata: ParquetMetaData = ParquetMetaDataReader::new()
        .parse_and_finish(handle)
        .map_err(|e| {
            ConnectorError::io(format!(
                "file \"{label}\": not a readable parquet file: footer expected at byte offset \
                 {} of {size}: {e}",
                size.saturating_sub(8)
            ))
        })?;
    let metadata = ArrowReaderMetadata::try_new(Arc::new(metadata), ArrowReaderOptions::new())
        .map_err(|e| ConnectorError::io(format!("file \"{label}\": {e}")))?;
    Ok(decoded_as_served(metadata))
}

/// A Parquet file opened for reading, with its footer.
pub struct ParquetFile {
    pub handle: CountingFile,
    pub metadata: ArrowReaderMetadata,
    pub label: String,
}

impl ParquetFile {
    /// Opens a file and reads its footer, or takes the footer kept for this version of the file
    /// ([`footer_cache`]).
    pub fn open(file: &DataFile, counters: Arc<FileCounters>) -> Result<ParquetFile> {
        let label = file.relative.display().to_string();
        let handle = CountingFile::open(&file.real, counters)
            .map_err(|e| ConnectorError::io(format!("file \"{label}\": {e}")))?;
        let key = handle.modified().map(|modified| FooterKey {
            path: file.real.clone(),
            len: handle.len(),
            modified,
        });
        let metadata = match key.as_ref().and_then(footer_cache::get) {
            Some(kept) => kept,
            None => {
                let parsed = read_footer(&handle, &label)?;
                if let Some(key) = key {
                    footer_cache::put(key, parsed.clone());
                }
                parsed
            }
        };
        Ok(ParquetFile {
            handle,
            metadata,
            label,
        })
    }

    pub fn row_groups(&self) -> usize {
        self.metadata.metadata().num_row_groups()
    }

    pub fn row_group_rows(&self, index: usize) -> u64 {
        u64::try_from(self.metadata.metadata().row_group(index).num_rows()).unwrap_or(0)
    }

    pub fn rows(&self) -> u64 {
        (0..self.row_groups()).map(|i| self.row_group_rows(i)).sum()
    }

    /// The file's top-level columns that the type model can carry, each with its root index
    /// in the file. Other columns (lists, structs, times, ...) are left out, with a log line.
    pub fn columns(&self) -> Vec<(Column, usize)> {
        let mut out = Vec::new();
        for (root, field) in self.metadata.schema().fields().iter().enumerate() {
            match model_type(field.data_type()) {
                Some(data_type) => out.push((
                    Column {
                        name: field.name().clone(),
                        data_type,
                        nullable: field.is_nullable(),
                        doc: None,
                    },
                    root,
                )),
                None => quarry_sdk::log::info(&format!(
                    "file \"{}\": column \"{}\" of type {} is not served",
                    self.label,
                    field.name(),
                    field.data_type()
                )),
            }
        }
        out
    }

    /// The root index in this file of a table column, by name.
    pub fn root_of(&self, name: &str) -> Option<usize> {
        self.metadata
            .schema()
            .fields()
            .iter()
            .position(|f| f.name() == name)
    }

    /// The statistics of a column in one row group, as scalars of the column's type, when the
    /// column is a primitive whose statistics compare like its values.
    pub fn column_stats(
        &self,
        row_group: usize,
        name: &str,
        data_type: &DataType,
    ) -> Option<ColumnStats> {
        let root = self.root_of(name)?;
        let file_type = self.metadata.schema().field(root).data_type().clone();
        let descr = self.metadata.metadata().file_metadata().schema_descr();
        let leaves: Vec<usize> = (0..descr.num_columns())
            .filter(|&leaf| descr.get_column_root_idx(leaf) == root)
            .collect();
        let [leaf] = leaves.as_slice() else {
            return None;
        };
        let rg = self.metadata.metadata().row_group(row_group);
        let chunk = rg.column(*leaf);
        let rows = u64::try_from(rg.num_rows()).unwrap_or(0);
        let Some(stats) = chunk.statistics() else {
            return Some(ColumnStats {
                rows,
                ..ColumnStats::default()
            });
        };
        let (min, max) = stats_scalars(stats, data_type, &file_type);
        Some(ColumnStats {
            min,
            max,
            null_count: stats.null_count_opt(),
            rows,
        })
    }
}

/// Min and max as scalars, only for types whose Parquet ordering is the value ordering.
fn stats_scalars(
    stats: &Statistics,
    data_type: &DataType,
    file_type: &ArrowType,
) -> (Option<Scalar>, Option<Scalar>) {
    fn pair<T>(
        min: Option<&T>,
        max: Option<&T>,
        f: impl Fn(&T) -> Option<Scalar>,
    ) -> (Option<Scalar>, Option<Scalar>) {
        (min.and_then(&f), max.and_then(&f))
    }
    match (stats, data_type) {
        (Statistics::Boolean(s), DataType::Boolean) => {
            pair(s.min_opt(), s.max_opt(), |v| Some(Scalar::Boolean(*v)))
        }
        (Statistics::Int32(s), DataType::Int8 | DataType::Int16 | DataType::Int32) => {
            pair(s.min_opt(), s.max_opt(), |v| {
                Some(Scalar::Int64(i64::from(*v)))
            })
        }
        (Statistics::Int32(s), DataType::Date32) => {
            pair(s.min_opt(), s.max_opt(), |v| Some(Scalar::Date32(*v)))
        }
        (Statistics::Int64(s), DataType::Int64) => {
            pair(s.min_opt(), s.max_opt(), |v| Some(Scalar::Int64(*v)))
        }
        (Statistics::Int64(s), DataType::TimestampMicros { .. })
            if matches!(file_type, ArrowType::Timestamp(TimeUnit::Microsecond, _)) =>
        {
            pair(s.min_opt(), s.max_opt(), |v| {
                Some(Scalar::TimestampMicros(*v))
            })
        }
        (Statistics::Float(s), DataType::Float32) => pair(s.min_opt(), s.max_opt(), |v| {
            (!v.is_nan()).then(|| Scalar::Float64(f64::from(*v)))
        }),
        (Statistics::Double(s), DataType::Float64) => pair(s.min_opt(), s.max_opt(), |v| {
            (!v.is_nan()).then_some(Scalar::Float64(*v))
        }),
        (Statistics::ByteArray(s), DataType::Utf8) => pair(s.min_opt(), s.max_opt(), |v| {
            std::str::from_utf8(v.data())
                .ok()
                .map(|t| Scalar::Utf8(t.to_owned()))
        }),
        _ => (None, None),
    }
}

/// Whether a column type has statistics [`ParquetFile::column_stats`] can use.
pub fn has_usable_stats(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Utf8
            | DataType::Date32
            | DataType::TimestampMicros { .. }
    )
}

/// The file's metadata with its view columns (`Utf8View`, `BinaryView`, as files written from
/// Arrow's view arrays declare them) decoded straight into the plain arrays the connector
/// serves, instead of decoded as views and copied by a cast; unchanged when the file has none
/// or the reader cannot decode them so.
fn decoded_as_served(metadata: ArrowReaderMetadata) -> ArrowReaderMetadata {
    let schema = metadata.schema();
    let plain = |field: &Arc<arrow_schema::Field>| match field.data_type() {
        ArrowType::Utf8View => Arc::new(field.as_ref().clone().with_data_type(ArrowType::Utf8)),
        ArrowType::BinaryView => Arc::new(field.as_ref().clone().with_data_type(ArrowType::Binary)),
        _ => field.clone(),
    };
    let fields: Vec<_> = schema.fields().iter().map(plain).collect();
    if fields.iter().zip(schema.fields()).all(|(a, b)| a == b) {
        return metadata;
    }
    let hinted = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let options = ArrowReaderOptions::new().with_schema(hinted);
    ArrowReaderMetadata::try_new(metadata.metadata().clone(), options).unwrap_or(metadata)
}

/// The type a Parquet column (as Arrow reads it) is served as, if the model can carry it.
pub fn model_type(arrow: &ArrowType) -> Option<DataType> {
    Some(match arrow {
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => DataType::Utf8,
        ArrowType::Binary
        | ArrowType::LargeBinary
        | ArrowType::BinaryView
        | ArrowType::FixedSizeBinary(_) => DataType::Binary,
        ArrowType::Timestamp(_, tz) => DataType::TimestampMicros {
            timezone: tz.as_deref().map(str::to_owned),
        },
        ArrowType::Decimal32(p, s) | ArrowType::Decimal64(p, s) | ArrowType::Decimal128(p, s) => {
            DataType::Decimal128 {
                precision: *p,
                scale: *s,
            }
        }
        ArrowType::Float16 => DataType::Float32,
        ArrowType::Dictionary(_, value) => return model_type(value),
        other => DataType::from_arrow(other).ok()?,
    })
}

/// Which row groups of a file survive the filters.
pub fn surviving_row_groups(
    file: &ParquetFile,
    columns: &[Column],
    filters: &[Expr],
) -> Vec<usize> {
    (0..file.row_groups())
        .filter(|&rg| {
            let stats = |column: u32| -> Option<ColumnStats> {
                let c = columns.get(column as usize)?;
                file.column_stats(rg, &c.name, &c.data_type)
            };
            filters.iter().all(|f| may_match(f, &stats))
        })
        .collect()
}

/// Reads some row groups of one Parquet file, projected.
pub struct ParquetReader {
    label: String,
    inner: Option<ParquetRecordBatchReader>,
    /// For each output column, its position in the decoded batch and its type.
    picks: Vec<(usize, ArrowType, String)>,
    schema: SchemaRef,
    /// The pushed filters that can be evaluated on the decoded batches.
    filter: Option<BatchFilter>,
    /// With no columns projected only row counts matter: they come from the footer.
    counts_only: VecDeque<u64>,
    pending: Option<RecordBatch>,
    remaining: Option<u64>,
    counters: Arc<FileCounters>,
}

impl ParquetReader {
    pub fn open(
        file: &DataFile,
        counters: Arc<FileCounters>,
        columns: &[Column],
        projection: &[usize],
        filters: &[Expr],
        row_groups: Option<Vec<usize>>,
        limit: Option<u64>,
    ) -> Result<ParquetReader> {
        let parquet = ParquetFile::open(file, counters.clone())?;
        let label = parquet.label.clone();
        let row_groups = row_groups.unwrap_or_else(|| (0..parquet.row_groups()).collect());
        if let Some(bad) = row_groups.iter().find(|&&rg| rg >= parquet.row_groups()) {
            return Err(ConnectorError::io(format!(
                "file \"{label}\": row group {bad} does not exist ({} row groups); the file \
                 changed since the scan was planned",
                parquet.row_groups()
            )));
        }
        let out_columns: Vec<&Column> = projection.iter().map(|&i| &columns[i]).collect();
        let schema = Arc::new(Schema::new(
            out_columns.iter().map(|c| c.to_arrow()).collect::<Vec<_>>(),
        ));
        if out_columns.is_empty() {
            let counts = row_groups
                .iter()
                .map(|&rg| parquet.row_group_rows(rg))
                .collect();
            return Ok(ParquetReader {
                label,
                inner: None,
                picks: Vec::new(),
                schema,
                filter: None,
                counts_only: counts,
                pending: None,
                remaining: limit,
                counters,
            });
        }
        // Roots to decode, in file order; the decoded batch holds them in that order.
        let mut roots: Vec<usize> = Vec::new();
        let mut wanted: Vec<usize> = Vec::new();
        for column in &out_columns {
            let root = parquet.root_of(&column.name).ok_or_else(|| {
                ConnectorError::io(format!(
                    "file \"{label}\": column \"{}\" is missing (the table's columns come from \
                     its first file)",
                    column.name
                ))
            })?;
            wanted.push(root);
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        roots.sort_unstable();
        let picks = wanted
            .iter()
            .zip(&out_columns)
            .map(|(root, column)| {
                let position = roots.iter().position(|r| r == root).unwrap_or_default();
                (position, column.data_type.to_arrow(), column.name.clone())
            })
            .collect();
        let descr = parquet
            .metadata
            .metadata()
            .file_metadata()
            .schema_descr_ptr();
        let chunks = ColumnChunks::new(
            parquet.handle.clone(),
            parquet.metadata.metadata(),
            &row_groups,
            &roots,
        );
        let mut builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(chunks, parquet.metadata.clone())
                .with_projection(ProjectionMask::roots(&descr, roots))
                .with_row_groups(row_groups)
                .with_batch_size(DECODE_BATCH_ROWS);
        if let Some(limit) = limit {
            builder = builder.with_limit(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        let inner = builder
            .build()
            .map_err(|e| ConnectorError::io(format!("file \"{label}\": {e}")))?;
        let filter = BatchFilter::new(filters, projection, &schema);
        Ok(ParquetReader {
            label,
            inner: Some(inner),
            picks,
            schema,
            filter,
            counts_only: VecDeque::new(),
            pending: None,
            remaining: limit,
            counters,
        })
    }

    fn decode_next(&mut self) -> Result<Option<RecordBatch>> {
        let Some(inner) = self.inner.as_mut() else {
            // Row counts only.
            let Some(rows) = self.counts_only.pop_front() else {
                return Ok(None);
            };
            let options = RecordBatchOptions::new()
                .with_row_count(Some(usize::try_from(rows).unwrap_or(usize::MAX)));
            return Ok(Some(RecordBatch::try_new_with_options(
                self.schema.clone(),
                Vec::new(),
                &options,
            )?));
        };
        let Some(decoded) = inner.next() else {
            return Ok(None);
        };
        let decoded = decoded.map_err(|e| {
            ConnectorError::io(format!("file \"{}\": cannot decode: {e}", self.label))
        })?;
        let columns = self
            .picks
            .iter()
            .map(|(position, target, name)| -> Result<ArrayRef> {
                let array = decoded.column(*position);
                if array.data_type() == target {
                    return Ok(array.clone());
                }
                arrow_cast::cast(array, target).map_err(|e| {
                    ConnectorError::io(format!(
                        "file \"{}\": column \"{name}\": cannot read {} as {target}: {e}",
                        self.label,
                        array.data_type()
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(decoded.num_rows()));
        let batch = RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)?;
        let Some(filter) = &self.filter else {
            return Ok(Some(batch));
        };
        let filtered = filter.apply(batch);
        self.counters
            .add(&self.counters.rows_filtered_out, filtered.dropped as u64);
        Ok(Some(filtered.batch))
    }

    pub fn next_batch(&mut self, max_rows: usize) -> Result<Option<RecordBatch>> {
        let max_rows = max_rows.max(1);
        if self.remaining == Some(0) {
            return Ok(None);
        }
        let batch = match self.pending.take() {
            Some(b) => b,
            None => loop {
                match self.decode_next()? {
                    None => return Ok(None),
                    Some(b) if b.num_rows() == 0 => continue,
                    Some(b) => break b,
                }
            },
        };
        let mut take = batch.num_rows().min(max_rows);
        if let Some(remaining) = self.remaining {
            take = take.min(usize::try_from(remaining).unwrap_or(usize::MAX));
        }
        if take < batch.num_rows() {
            self.pending = Some(batch.slice(take, batch.num_rows() - take));
        }
        let out = batch.slice(0, take);
        if let Some(r) = self.remaining.as_mut() {
            *r -= take as u64;
        }
        self.counters.rows.fetch_add(take as u64, Ordering::Relaxed);
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Array, BinaryViewArray, Int64Array, StringArray, StringViewArray};
    use bytes::Bytes;
    use parquet::arrow::ArrowWriter;

    use super::*;

    #[test]
    fn view_columns_decode_as_the_plain_arrays_served() {
        let written = RecordBatch::try_from_iter([
            (
                "s",
                Arc::new(StringViewArray::from(vec![
                    Some("a"),
                    None,
                    Some("a longer text"),
                ])) as ArrayRef,
            ),
            (
                "b",
                Arc::new(BinaryViewArray::from(vec![b"x".as_slice(), b"", b"yz"])) as ArrayRef,
            ),
            ("n", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ])
        .unwrap();
        let mut file = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut file, written.schema(), None).unwrap();
        writer.write(&written).unwrap();
        writer.close().unwrap();
        let file = Bytes::from(file);

        let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).unwrap();
        assert_eq!(metadata.schema().field(0).data_type(), &ArrowType::Utf8View);
        let served = decoded_as_served(metadata);
        let types: Vec<ArrowType> = served
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [ArrowType::Utf8, ArrowType::Binary, ArrowType::Int64]
        );

        let mut reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, served)
            .build()
            .unwrap();
        let read = reader.next().unwrap().unwrap();
        let strings = read
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(strings.value(2), "a longer text");
        assert!(strings.is_null(1));
        assert_eq!(read.column(2).as_ref(), written.column(2).as_ref());
    }
}
