//! The files connector: CSV, JSON lines and Parquet files under a directory the catalog is
//! granted read-only access to.
//!
//! `root/<schema>/<table>.<ext>` and `root/<schema>/<table>/…` are tables ([`layout`]). Column
//! types come from the Parquet schema, or are inferred from a bounded sample of CSV and JSON
//! rows (with the SDK's `quarry_sdk::values`) and overridable by the `columns` property
//! ([`config`]). A split is a file,
//! or a row group of a large Parquet file; Parquet reads only the projected columns and skips
//! row groups whose statistics rule the filters out ([`parquet_table`], [`pruning`]), reading
//! the projected column chunks of a row group in one go ([`column_chunks`]) and dropping the
//! rows the filters rule out before a batch leaves the sandbox ([`batch_filter`]). Nothing
//! outside the root is reachable: names, property paths and symlinks are checked ([`paths`]),
//! and `root` must lie inside the catalog's grant ([`grant`]). Every byte read is counted and
//! shown by the `files$stats` system table ([`stats`]). See `docs/connectors/files.md`.

pub mod bad_rows;
pub mod batch_filter;
pub mod column_chunks;
pub mod config;
pub mod csv_table;
pub mod footer_cache;
pub mod grant;
pub mod json_table;
pub mod layout;
pub mod parquet_table;
pub mod paths;
pub mod pruning;
pub mod split;
pub mod stats;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow_array::RecordBatch;
use quarry_sdk::predicate::Expr;
use quarry_sdk::{
    Catalog, Column, ConfigIssue, Connector, ConnectorError, ConnectorSpec, Properties, Pushdown,
    Result, ScanPlan, ScanRequest, Split, SplitReader, TableSchema, TableSchemaArrow,
};

use crate::config::FilesConfig;
use crate::csv_table::CsvReader;
use crate::json_table::JsonReader;
use crate::layout::{DataFile, Format, TableFiles};
use crate::parquet_table::{ParquetFile, ParquetReader, has_usable_stats, surviving_row_groups};
use crate::pruning::prunable;
use crate::split::{ColumnSpec, SplitPayload};
use crate::stats::{FileCounters, STATS_TABLE};

/// The connector.
pub struct FilesConnector;

impl Connector for FilesConnector {
    type Catalog = FilesCatalog;

    fn spec() -> ConnectorSpec {
        ConnectorSpec {
            name: "files".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "CSV, JSON lines and Parquet files under a read-only granted directory: \
                a sub-directory is a schema, a file or folder of files a table"
                .to_owned(),
            config: config::fields(),
        }
    }

    fn validate(properties: &Properties) -> Vec<ConfigIssue> {
        let config = match FilesConfig::parse(properties) {
            Ok(config) => config,
            Err(issues) => return issues,
        };
        match FilesCatalog::with_config(config, grant::granted_dirs().as_deref()) {
            Ok(_) => Vec::new(),
            Err(err) => vec![ConfigIssue::field("root", err.message)],
        }
    }

    fn open(properties: Properties) -> Result<FilesCatalog> {
        FilesCatalog::open_with_grants(&properties, grant::granted_dirs().as_deref())
    }
}

quarry_sdk::export_connector!(FilesConnector);

/// A configured files catalog.
#[derive(Debug, Clone)]
pub struct FilesCatalog {
    config: FilesConfig,
}

impl FilesCatalog {
    /// Opens a catalog whose instance may read `granted` (`None`: anything, natively).
    pub fn open_with_grants(
        properties: &Properties,
        granted: Option<&[PathBuf]>,
    ) -> Result<FilesCatalog> {
        let config = FilesConfig::parse(properties).map_err(ConnectorError::from_issues)?;
        Self::with_config(config, granted)
    }

    fn with_config(config: FilesConfig, granted: Option<&[PathBuf]>) -> Result<FilesCatalog> {
        grant::check_root(&config.root, granted).map_err(ConnectorError::invalid_config)?;
        let root = config.root.display().to_string();
        match std::fs::metadata(&config.root) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(ConnectorError::invalid_config(format!(
                    "property \"root\": \"{root}\" is not a directory"
                )));
            }
            Err(err) => {
                return Err(ConnectorError::invalid_config(format!(
                    "property \"root\": cannot read \"{root}\": {err}"
                )));
            }
        }
        Ok(FilesCatalog { config })
    }

    pub fn root(&self) -> &Path {
        &self.config.root
    }

    fn counters(&self, schema: &str, table: &str) -> impl Fn(&DataFile) -> Arc<FileCounters> {
        let root = self.config.root.clone();
        let (schema, table) = (schema.to_owned(), table.to_owned());
        move |file: &DataFile| stats::counters(&root, &schema, &table, &file.relative)
    }

    /// The table's columns (and row count when known cheaply, i.e. for Parquet).
    fn columns(
        &self,
        schema: &str,
        table: &str,
        files: &TableFiles,
    ) -> Result<(Vec<Column>, Option<u64>)> {
        let counters = self.counters(schema, table);
        match files.format {
            Format::Csv | Format::Tsv => Ok((
                csv_table::infer_columns(
                    &self.config,
                    files.format,
                    &files.files,
                    &counters,
                    schema,
                    table,
                )?,
                None,
            )),
            Format::Json => Ok((
                json_table::infer_columns(&self.config, &files.files, &counters, schema, table)?,
                None,
            )),
            Format::Parquet => {
                let mut columns = None;
                let mut rows = 0u64;
                for file in &files.files {
                    let parquet = ParquetFile::open(file, counters(file))?;
                    rows += parquet.rows();
                    if columns.is_none() {
                        columns = Some(parquet.columns().into_iter().map(|(c, _)| c).collect());
                    }
                }
                Ok((columns.unwrap_or_default(), Some(rows)))
            }
        }
    }

    fn plan_parquet(
        &self,
        request: &ScanRequest,
        files: &TableFiles,
        columns: &[Column],
    ) -> Result<ScanPlan> {
        let counters = self.counters(&request.schema, &request.table);
        let has_stats = |c: u32| {
            columns
                .get(c as usize)
                .is_some_and(|col| has_usable_stats(&col.data_type))
        };
        let mut answers = Vec::new();
        let mut pruning: Vec<Expr> = Vec::new();
        for filter in &request.filters {
            // Every filter the reader can read is taken, inexactly: row groups its statistics
            // rule out are not planned, and the reader drops the rows it rules out.
            match filter.to_expr() {
                Ok(expr) => {
                    answers.push(Pushdown::Inexact);
                    if prunable(&expr, &has_stats) {
                        pruning.push(expr);
                    }
                }
                Err(_) => answers.push(Pushdown::Unsupported),
            }
        }
        let spec: Vec<ColumnSpec> = columns.iter().map(ColumnSpec::from_column).collect();
        // The host sends a limit only when every filter is applied exactly; stay safe anyway.
        let limit = request.limit.filter(|_| request.filters.is_empty());
        let mut splits = Vec::new();
        let mut planned = 0u64;
        'files: for file in &files.files {
            let parquet = ParquetFile::open(file, counters(file))?;
            let groups = surviving_row_groups(&parquet, columns, &pruning);
            let per_group = file.size > self.config.row_group_split_bytes && groups.len() > 1;
            let units: Vec<Vec<usize>> = if per_group {
                groups.into_iter().map(|g| vec![g]).collect()
            } else if groups.is_empty() {
                Vec::new()
            } else {
                vec![groups]
            };
            for unit in units {
                if limit.is_some_and(|l| planned >= l) {
                    break 'files;
                }
                let rows: u64 = unit.iter().map(|&g| parquet.row_group_rows(g)).sum();
                planned += rows;
                let payload = SplitPayload::File {
                    format: Format::Parquet,
                    path: file.relative.display().to_string(),
                    row_groups: Some(unit),
                    columns: spec.clone(),
                };
                splits.push(Split {
                    payload: payload.encode()?,
                    estimated_rows: Some(rows),
                });
            }
        }
        Ok(ScanPlan {
            splits,
            filters: answers,
        })
    }
}

/// Column indices of a projection, checked against the table; `None` is every column.
fn projection_indices(projection: Option<&[u32]>, columns: usize) -> Result<Vec<usize>> {
    match projection {
        None => Ok((0..columns).collect()),
        Some(p) => p
            .iter()
            .map(|&i| {
                let i = i as usize;
                if i < columns {
                    Ok(i)
                } else {
                    Err(ConnectorError::invalid_config(format!(
                        "projection index {i} is out of range for a table of {columns} columns"
                    )))
                }
            })
            .collect(),
    }
}

impl Catalog for FilesCatalog {
    type Reader = FilesReader;

    fn list_schemas(&self) -> Result<Vec<String>> {
        layout::list_schemas(&self.config, &self.config.root)
    }

    fn list_tables(&self, schema: &str) -> Result<Vec<String>> {
        layout::list_tables(&self.config, &self.config.root, schema)
    }

    fn describe_table(&self, schema: &str, table: &str) -> Result<TableSchema> {
        paths::check_name("schema", schema)?;
        if table == STATS_TABLE {
            return Ok(stats::stats_schema());
        }
        let files = layout::find_table(&self.config, &self.config.root, schema, table)?;
        let (columns, row_count) = self.columns(schema, table, &files)?;
        Ok(TableSchema { columns, row_count })
    }

    fn plan_scan(&self, request: &ScanRequest) -> Result<ScanPlan> {
        paths::check_name("schema", &request.schema)?;
        if request.table == STATS_TABLE {
            stats::stats_schema().project_arrow(request.projection.as_deref())?;
            let split = Split {
                payload: SplitPayload::Stats.encode()?,
                estimated_rows: None,
            };
            return Ok(ScanPlan::ignoring_filters(request, vec![split]));
        }
        let files = layout::find_table(
            &self.config,
            &self.config.root,
            &request.schema,
            &request.table,
        )?;
        let (columns, _) = self.columns(&request.schema, &request.table, &files)?;
        projection_indices(request.projection.as_deref(), columns.len())?;
        if files.format == Format::Parquet {
            return self.plan_parquet(request, &files, &columns);
        }
        let spec: Vec<ColumnSpec> = columns.iter().map(ColumnSpec::from_column).collect();
        let splits = files
            .files
            .iter()
            .map(|file| {
                Ok(Split {
                    payload: SplitPayload::File {
                        format: files.format,
                        path: file.relative.display().to_string(),
                        row_groups: None,
                        columns: spec.clone(),
                    }
                    .encode()?,
                    estimated_rows: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // Rows are filtered by the engine: CSV and JSON readers do not evaluate filters.
        Ok(ScanPlan::ignoring_filters(request, splits))
    }

    fn open_split(&self, request: &ScanRequest, split: &Split) -> Result<FilesReader> {
        paths::check_name("schema", &request.schema)?;
        let (format, path, row_groups, columns) = match SplitPayload::decode(&split.payload)? {
            SplitPayload::Stats => {
                let batch = stats::stats_batch(
                    &self.config.root,
                    &request.schema,
                    request.projection.as_deref(),
                )?;
                return Ok(FilesReader::Stats(Some(batch)));
            }
            SplitPayload::File {
                format,
                path,
                row_groups,
                columns,
            } => (format, path, row_groups, columns),
        };
        paths::check_name("table", &request.table)?;
        let relative = paths::check_relative(&path).map_err(|e| {
            ConnectorError::invalid_config(format!("invalid files split payload: {e}"))
        })?;
        let real = paths::resolve_within(&self.config.root, &relative)?;
        let file = DataFile {
            relative,
            size: std::fs::metadata(&real).map(|m| m.len()).unwrap_or(0),
            real,
        };
        let columns = columns
            .iter()
            .map(ColumnSpec::to_column)
            .collect::<Result<Vec<_>>>()?;
        let projection = projection_indices(request.projection.as_deref(), columns.len())?;
        let counters = stats::counters(
            &self.config.root,
            &request.schema,
            &request.table,
            &file.relative,
        );
        counters.splits.fetch_add(1, Ordering::Relaxed);
        let limit = request.limit;
        Ok(match format {
            Format::Csv | Format::Tsv => FilesReader::Csv(Box::new(CsvReader::open(
                &self.config,
                format,
                &file,
                counters,
                &columns,
                &projection,
                limit,
            )?)),
            Format::Json => FilesReader::Json(Box::new(JsonReader::open(
                &self.config,
                &file,
                counters,
                &columns,
                &projection,
                limit,
            )?)),
            Format::Parquet => FilesReader::Parquet(Box::new(ParquetReader::open(
                &file,
                counters,
                &columns,
                &projection,
                // Only Parquet evaluates filters; CSV and JSON answered them `unsupported`.
                &request
                    .filters
                    .iter()
                    .filter_map(|f| f.to_expr().ok())
                    .collect::<Vec<Expr>>(),
                row_groups,
                limit,
            )?)),
        })
    }
}

/// Reads one split.
pub enum FilesReader {
    Csv(Box<CsvReader>),
    Json(Box<JsonReader>),
    Parquet(Box<ParquetReader>),
    Stats(Option<RecordBatch>),
}

impl SplitReader for FilesReader {
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RecordBatch>> {
        match self {
            FilesReader::Csv(r) => r.next_batch(max_rows),
            FilesReader::Json(r) => r.next_batch(max_rows),
            FilesReader::Parquet(r) => r.next_batch(max_rows),
            FilesReader::Stats(pending) => {
                let Some(batch) = pending.take() else {
                    return Ok(None);
                };
                let take = batch.num_rows().min(max_rows.max(1));
                if take < batch.num_rows() {
                    *pending = Some(batch.slice(take, batch.num_rows() - take));
                }
                Ok(Some(batch.slice(0, take)))
            }
        }
    }
}
