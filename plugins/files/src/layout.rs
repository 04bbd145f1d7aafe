//! How the directory tree maps onto schemas and tables.
//!
//! `root/<schema>/` is a schema. In it, `<table>.<ext>` is a one-file table and `<table>/` a
//! table of every data file below it (recursively, in path order), all of one format. Names
//! starting with `.` or `_` are ignored (`.crc`, `_SUCCESS`), and so are names holding `$`,
//! which is reserved for system tables. Extra tables come from the `tables` property.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use quarry_sdk::{ConnectorError, ErrorKind, Result};
use serde::{Deserialize, Serialize};

use crate::config::FilesConfig;
use crate::paths::{check_name, resolve_within};

/// A data file format, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `.csv`, with the catalog's delimiter.
    Csv,
    /// `.tsv`: CSV with a tab delimiter.
    Tsv,
    /// `.json`, `.jsonl`, `.ndjson`: one JSON object per line.
    Json,
    /// `.parquet`, `.pq`.
    Parquet,
}

impl Format {
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => Format::Csv,
            "tsv" => Format::Tsv,
            "json" | "jsonl" | "ndjson" => Format::Json,
            "parquet" | "pq" => Format::Parquet,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Parquet => "parquet",
        }
    }
}

/// One data file of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// The path relative to the root, as listed (the name errors and counters use).
    pub relative: PathBuf,
    /// The real path, inside the root.
    pub real: PathBuf,
    pub size: u64,
}

/// The files of a table.
#[derive(Debug, Clone)]
pub struct TableFiles {
    pub format: Format,
    pub files: Vec<DataFile>,
}

fn ignored(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_') || name.contains('$')
}

fn io_error(what: &Path, err: std::io::Error) -> ConnectorError {
    ConnectorError::io(format!("\"{}\": {err}", what.display()))
}

/// What a directory entry is, after following symlinks inside the root; `None` for an entry
/// that cannot be resolved inside the root (it is left out of listings, with a log line, and
/// fails by name when asked for).
fn entry_kind(root: &Path, relative: &Path) -> Option<(PathBuf, std::fs::Metadata)> {
    match resolve_within(root, relative) {
        Ok(real) => {
            let meta = std::fs::metadata(&real).ok()?;
            Some((real, meta))
        }
        Err(err) => {
            quarry_sdk::log::warn(&format!("skipping {}: {}", relative.display(), err.message));
            None
        }
    }
}

/// The names in a directory under the root, not ignored, sorted.
fn entries(root: &Path, relative: &Path) -> Result<Vec<String>> {
    let real = resolve_within(root, relative)?;
    let dir = std::fs::read_dir(&real).map_err(|e| io_error(relative, e))?;
    let mut names = Vec::new();
    for entry in dir {
        let entry = entry.map_err(|e| io_error(relative, e))?;
        if let Some(name) = entry.file_name().to_str()
            && !ignored(name)
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Schemas: the directories in the root, plus schemas of `tables` entries.
pub fn list_schemas(config: &FilesConfig, root: &Path) -> Result<Vec<String>> {
    let mut out = BTreeSet::new();
    for name in entries(root, Path::new(""))? {
        if let Some((_, meta)) = entry_kind(root, Path::new(&name))
            && meta.is_dir()
        {
            out.insert(name);
        }
    }
    out.extend(config.tables.keys().map(|(s, _)| s.clone()));
    Ok(out.into_iter().collect())
}

fn schema_dir(config: &FilesConfig, root: &Path, schema: &str) -> Result<Option<PathBuf>> {
    check_name("schema", schema)?;
    match resolve_within(root, Path::new(schema)) {
        Ok(real) if real.is_dir() => Ok(Some(real)),
        Ok(_) => Err(ConnectorError::not_found(format!(
            "schema \"{schema}\" not found"
        ))),
        Err(err) if err.kind == ErrorKind::NotFound => {
            if config.tables.keys().any(|(s, _)| s == schema) {
                Ok(None)
            } else {
                Err(ConnectorError::not_found(format!(
                    "schema \"{schema}\" not found"
                )))
            }
        }
        Err(err) => Err(err),
    }
}

/// Tables of a schema: data files (by stem) and folders, plus `tables` entries.
pub fn list_tables(config: &FilesConfig, root: &Path, schema: &str) -> Result<Vec<String>> {
    let mut out = BTreeSet::new();
    if schema_dir(config, root, schema)?.is_some() {
        for name in entries(root, Path::new(schema))? {
            let relative = Path::new(schema).join(&name);
            let Some((_, meta)) = entry_kind(root, &relative) else {
                continue;
            };
            if meta.is_dir() {
                out.insert(name);
            } else if Format::from_path(&relative).is_some()
                && let Some(stem) = relative.file_stem().and_then(|s| s.to_str())
            {
                out.insert(stem.to_owned());
            }
        }
    }
    out.extend(
        config
            .tables
            .keys()
            .filter(|(s, _)| s == schema)
            .map(|(_, t)| t.clone()),
    );
    Ok(out.into_iter().collect())
}

/// The files of `schema.table`, all of one format.
pub fn find_table(
    config: &FilesConfig,
    root: &Path,
    schema: &str,
    table: &str,
) -> Result<TableFiles> {
    check_name("table", table)?;
    let label = format!("{schema}.{table}");
    let candidates: Vec<PathBuf> =
        if let Some(path) = config.tables.get(&(schema.to_owned(), table.to_owned())) {
            check_name("schema", schema)?;
            vec![path.clone()]
        } else {
            let Some(_) = schema_dir(config, root, schema)? else {
                return Err(ConnectorError::not_found(format!(
                    "table \"{table}\" not found in schema \"{schema}\""
                )));
            };
            entries(root, Path::new(schema))?
                .into_iter()
                .filter(|name| {
                    name == table
                        || (Path::new(name).file_stem().and_then(|s| s.to_str()) == Some(table)
                            && Format::from_path(Path::new(name)).is_some())
                })
                .map(|name| Path::new(schema).join(name))
                .collect()
        };
    let relative = match candidates.as_slice() {
        [] => {
            return Err(ConnectorError::not_found(format!(
                "table \"{table}\" not found in schema \"{schema}\""
            )));
        }
        [one] => one.clone(),
        many => {
            let names: Vec<String> = many.iter().map(|p| p.display().to_string()).collect();
            return Err(ConnectorError::unsupported(format!(
                "table \"{label}\" is ambiguous: {} all map to it",
                names.join(", ")
            )));
        }
    };
    // Resolving the entry itself reports a symlink that leaves the root.
    let real = resolve_within(root, &relative)?;
    let meta = std::fs::metadata(&real).map_err(|e| io_error(&relative, e))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        collect_files(root, &relative, &mut files, 0)?;
    } else {
        files.push(DataFile {
            relative: relative.clone(),
            real,
            size: meta.len(),
        });
    }
    let mut format: Option<(Format, &DataFile)> = None;
    for file in &files {
        let this = Format::from_path(&file.relative).ok_or_else(|| {
            ConnectorError::unsupported(format!(
                "table \"{label}\": \"{}\" is not a csv, tsv, json or parquet file",
                file.relative.display()
            ))
        })?;
        match format {
            None => format = Some((this, file)),
            Some((first, first_file)) if first != this => {
                return Err(ConnectorError::unsupported(format!(
                    "table \"{label}\": folder mixes formats {} (\"{}\") and {} (\"{}\")",
                    first.name(),
                    first_file.relative.display(),
                    this.name(),
                    file.relative.display()
                )));
            }
            Some(_) => {}
        }
    }
    let Some((format, _)) = format else {
        return Err(ConnectorError::not_found(format!(
            "table \"{label}\": folder \"{}\" holds no data files",
            relative.display()
        )));
    };
    Ok(TableFiles { format, files })
}

/// Every data file below a table folder, recursively, sorted by path. A symlink that leaves
/// the root fails the table.
fn collect_files(
    root: &Path,
    relative: &Path,
    out: &mut Vec<DataFile>,
    depth: usize,
) -> Result<()> {
    if depth > 16 {
        return Err(ConnectorError::unsupported(format!(
            "\"{}\": folders nested deeper than 16 levels",
            relative.display()
        )));
    }
    for name in entries(root, relative)? {
        let child = relative.join(&name);
        let real = resolve_within(root, &child)?;
        let meta = std::fs::metadata(&real).map_err(|e| io_error(&child, e))?;
        if meta.is_dir() {
            collect_files(root, &child, out, depth + 1)?;
        } else if Format::from_path(&child).is_some() {
            out.push(DataFile {
                relative: child,
                real,
                size: meta.len(),
            });
        }
    }
    Ok(())
}
