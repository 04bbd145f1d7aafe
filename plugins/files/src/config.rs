//! The catalog's properties, parsed and checked once when a catalog is opened.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use quarry_sdk::type_syntax::{self, ColumnType};
use quarry_sdk::{ConfigField, ConfigIssue, Properties};

use crate::paths;

/// Rows sampled (over the first files of a table) to infer CSV and JSON column types.
pub const DEFAULT_INFER_ROWS: usize = 1000;
/// Parquet files larger than this get one split per row group.
pub const DEFAULT_ROW_GROUP_SPLIT_BYTES: u64 = 64 * 1024 * 1024;

const KNOWN: [&str; 10] = [
    "root",
    "csv_header",
    "csv_delimiter",
    "csv_quote",
    "csv_null",
    "skip_bad_rows",
    "infer_rows",
    "columns",
    "tables",
    "row_group_split_bytes",
];

/// The configuration fields, as the spec shows them.
pub fn fields() -> Vec<ConfigField> {
    vec![
        ConfigField::required(
            "root",
            "Absolute path of the directory to serve: its sub-directories are schemas, their \
             files and folders tables. The catalog needs a read-only allowed_paths grant on it \
             (or a parent).",
        ),
        ConfigField::optional("csv_header", "Whether CSV files start with a header row.")
            .with_default("true"),
        ConfigField::optional(
            "csv_delimiter",
            "CSV field delimiter: one ASCII character, or `\\t`/`tab` (.tsv files always use tab).",
        )
        .with_default(","),
        ConfigField::optional("csv_quote", "CSV quote character: one ASCII character.")
            .with_default("\""),
        ConfigField::optional(
            "csv_null",
            "The CSV text that stands for NULL (an empty field is always NULL).",
        )
        .with_default(""),
        ConfigField::optional(
            "skip_bad_rows",
            "Skip CSV and JSON rows that do not parse (counted in files$stats) instead of failing \
             the scan.",
        )
        .with_default("false"),
        ConfigField::optional(
            "infer_rows",
            "Rows sampled to infer CSV and JSON column types.",
        )
        .with_default(&DEFAULT_INFER_ROWS.to_string()),
        ConfigField::optional(
            "columns",
            "Column type overrides for CSV and JSON tables, comma-separated \
             `column:type` (every table) or `schema.table.column:type` (one table), e.g. \
             `id:int64 not null, sales.orders.amount:decimal(12,2)`.",
        ),
        ConfigField::optional(
            "tables",
            "Extra tables, comma-separated `schema.table=relative/path` (a file or folder under \
             root; absolute paths and `..` are refused).",
        ),
        ConfigField::optional(
            "row_group_split_bytes",
            "Parquet files larger than this many bytes are split per row group.",
        )
        .with_default(&DEFAULT_ROW_GROUP_SPLIT_BYTES.to_string()),
    ]
}

/// CSV reading options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    pub header: bool,
    pub delimiter: u8,
    pub quote: u8,
    pub null: String,
}

/// A parsed, checked configuration.
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// The root as given: absolute, without `.` or `..`.
    pub root: PathBuf,
    pub csv: CsvOptions,
    pub skip_bad_rows: bool,
    pub infer_rows: usize,
    /// Overrides for every table, by column name.
    pub global_columns: BTreeMap<String, ColumnType>,
    /// Overrides for one table, by (schema, table), then column name.
    pub table_columns: BTreeMap<(String, String), BTreeMap<String, ColumnType>>,
    /// Extra tables: (schema, table) to a path relative to the root.
    pub tables: BTreeMap<(String, String), PathBuf>,
    pub row_group_split_bytes: u64,
}

impl FilesConfig {
    /// Parses every property, collecting every problem.
    pub fn parse(props: &Properties) -> Result<FilesConfig, Vec<ConfigIssue>> {
        let mut issues = props.unknown_keys(&KNOWN);
        let root = match props.get("root") {
            None => {
                issues.push(ConfigIssue::field("root", "property \"root\" is required"));
                PathBuf::new()
            }
            Some(raw) => match check_root_path(raw) {
                Ok(p) => p,
                Err(message) => {
                    issues.push(ConfigIssue::field("root", message));
                    PathBuf::new()
                }
            },
        };
        let mut parse_or = |key: &str, f: &dyn Fn(&str) -> Result<(), String>| {
            if let Some(raw) = props.get(key)
                && let Err(reason) = f(raw)
            {
                issues.push(ConfigIssue::field(
                    key,
                    format!("property \"{key}\": {reason}"),
                ));
            }
        };
        parse_or("csv_header", &|v| parse_bool(v).map(|_| ()));
        parse_or("csv_delimiter", &|v| parse_char(v, true).map(|_| ()));
        parse_or("csv_quote", &|v| parse_char(v, false).map(|_| ()));
        parse_or("skip_bad_rows", &|v| parse_bool(v).map(|_| ()));
        parse_or("infer_rows", &|v| parse_positive(v).map(|_| ()));
        parse_or("row_group_split_bytes", &|v| parse_positive(v).map(|_| ()));
        parse_or("columns", &|v| parse_columns(v).map(|_| ()));
        parse_or("tables", &|v| parse_tables(v).map(|_| ()));
        if !issues.is_empty() {
            return Err(issues);
        }
        // Every value parsed above, so the conversions below cannot fail; they fall back to
        // defaults rather than unwrapping.
        let get_bool = |key: &str, default: bool| {
            props
                .get(key)
                .and_then(|v| parse_bool(v).ok())
                .unwrap_or(default)
        };
        let (global_columns, table_columns) = props
            .get("columns")
            .and_then(|v| parse_columns(v).ok())
            .unwrap_or_default();
        Ok(FilesConfig {
            root,
            csv: CsvOptions {
                header: get_bool("csv_header", true),
                delimiter: props
                    .get("csv_delimiter")
                    .and_then(|v| parse_char(v, true).ok())
                    .unwrap_or(b','),
                quote: props
                    .get("csv_quote")
                    .and_then(|v| parse_char(v, false).ok())
                    .unwrap_or(b'"'),
                null: props.get("csv_null").unwrap_or("").to_owned(),
            },
            skip_bad_rows: get_bool("skip_bad_rows", false),
            infer_rows: props
                .get("infer_rows")
                .and_then(|v| parse_positive(v).ok())
                .map_or(DEFAULT_INFER_ROWS, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                }),
            global_columns,
            table_columns,
            tables: props
                .get("tables")
                .and_then(|v| parse_tables(v).ok())
                .unwrap_or_default(),
            row_group_split_bytes: props
                .get("row_group_split_bytes")
                .and_then(|v| parse_positive(v).ok())
                .unwrap_or(DEFAULT_ROW_GROUP_SPLIT_BYTES),
        })
    }

    /// The type override of a column of a CSV or JSON table, if any: the table's own first,
    /// then the global one.
    pub fn column_override(&self, schema: &str, table: &str, column: &str) -> Option<&ColumnType> {
        self.table_columns
            .get(&(schema.to_owned(), table.to_owned()))
            .and_then(|m| m.get(column))
            .or_else(|| self.global_columns.get(column))
    }
}

/// `root` must be an absolute path without `.` or `..` components.
fn check_root_path(raw: &str) -> Result<PathBuf, String> {
    let path = Path::new(raw.trim());
    if !path.is_absolute() {
        return Err(format!(
            "property \"root\": {raw:?} is not an absolute path (the guest sees granted \
             directories at their absolute host paths)"
        ));
    }
    if path
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(format!(
            "property \"root\": {raw:?} must not contain \".\" or \"..\" components"
        ));
    }
    Ok(path.components().collect())
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{v:?} is not a boolean (true or false)")),
    }
}

fn parse_char(v: &str, allow_tab_names: bool) -> Result<u8, String> {
    if allow_tab_names && matches!(v, "\\t" | "tab" | "\t") {
        return Ok(b'\t');
    }
    match v.as_bytes() {
        [b] if b.is_ascii() && *b != b'\n' && *b != b'\r' => Ok(*b),
        _ => Err(format!("{v:?} is not a single ASCII character")),
    }
}

fn parse_positive(v: &str) -> Result<u64, String> {
    match v.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{v:?} is not a positive integer")),
    }
}

type ColumnOverrides = (
    BTreeMap<String, ColumnType>,
    BTreeMap<(String, String), BTreeMap<String, ColumnType>>,
);

/// `column:type, schema.table.column:type, ...`
fn parse_columns(v: &str) -> Result<ColumnOverrides, String> {
    let mut global = BTreeMap::new();
    let mut per_table: BTreeMap<(String, String), BTreeMap<String, ColumnType>> = BTreeMap::new();
    for entry in type_syntax::split_top_level(v, ',') {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let (key, type_text) = entry
            .split_once(':')
            .ok_or_else(|| format!("entry {entry:?} is not `column:type`"))?;
        let column_type = type_syntax::parse_column_type(type_text)
            .map_err(|e| format!("entry {entry:?}: {e}"))?;
        let parts: Vec<&str> = key.trim().split('.').collect();
        match parts.as_slice() {
            [column] if !column.is_empty() => {
                global.insert((*column).to_owned(), column_type);
            }
            [schema, table, column] if !column.is_empty() => {
                paths::check_name("schema", schema).map_err(|e| e.message)?;
                paths::check_name("table", table).map_err(|e| e.message)?;
                per_table
                    .entry(((*schema).to_owned(), (*table).to_owned()))
                    .or_default()
                    .insert((*column).to_owned(), column_type);
            }
            _ => {
                return Err(format!(
                    "entry {entry:?}: the key must be `column` or `schema.table.column`"
                ));
            }
        }
    }
    Ok((global, per_table))
}

/// `schema.table=relative/path, ...`
fn parse_tables(v: &str) -> Result<BTreeMap<(String, String), PathBuf>, String> {
    let mut tables = BTreeMap::new();
    for entry in v.split(',') {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let (name, path) = entry
            .split_once('=')
            .ok_or_else(|| format!("entry {entry:?} is not `schema.table=path`"))?;
        let (schema, table) = name
            .trim()
            .split_once('.')
            .ok_or_else(|| format!("entry {entry:?}: the name must be `schema.table`"))?;
        paths::check_name("schema", schema).map_err(|e| e.message)?;
        paths::check_name("table", table).map_err(|e| e.message)?;
        let path = paths::check_relative(path.trim())
            .map_err(|e| format!("table \"{schema}.{table}\": {e}"))?;
        tables.insert((schema.to_owned(), table.to_owned()), path);
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(props: Properties) -> Vec<ConfigIssue> {
        FilesConfig::parse(&props).unwrap_err()
    }

    #[test]
    fn defaults_and_overrides_parse() {
        let cfg = FilesConfig::parse(
            &Properties::new()
                .with("root", "/data/files/")
                .with("csv_delimiter", "tab")
                .with("columns", "id:int64 not null, s.t.amount:decimal(12,2)")
                .with("tables", "s.archive=old/2023"),
        )
        .unwrap();
        assert_eq!(cfg.root, PathBuf::from("/data/files"));
        assert_eq!(cfg.csv.delimiter, b'\t');
        assert!(cfg.csv.header);
        assert_eq!(cfg.infer_rows, DEFAULT_INFER_ROWS);
        assert!(!cfg.column_override("x", "y", "id").unwrap().nullable);
        assert_eq!(
            cfg.column_override("s", "t", "amount").unwrap().data_type,
            quarry_sdk::DataType::Decimal128 {
                precision: 12,
                scale: 2
            }
        );
        assert!(cfg.column_override("s", "u", "amount").is_none());
        assert_eq!(
            cfg.tables[&("s".to_owned(), "archive".to_owned())],
            PathBuf::from("old/2023")
        );
    }

    #[test]
    fn bad_properties_are_named() {
        let found = issues(Properties::new().with("root", "relative/dir"));
        assert_eq!(found[0].field.as_deref(), Some("root"));
        assert!(found[0].message.contains("absolute"), "{found:?}");

        let found = issues(Properties::new().with("root", "/data/../etc"));
        assert!(found[0].message.contains(".."), "{found:?}");

        let found = issues(
            Properties::new()
                .with("root", "/data")
                .with("tables", "s.t=/etc/passwd")
                .with("csv_quote", "ab")
                .with("colour", "blue"),
        );
        let by_field = |f: &str| {
            found
                .iter()
                .find(|i| i.field.as_deref() == Some(f))
                .unwrap_or_else(|| panic!("no issue for {f}: {found:?}"))
                .message
                .clone()
        };
        assert!(by_field("tables").contains("absolute"), "{found:?}");
        assert!(by_field("csv_quote").contains("single"), "{found:?}");
        assert!(by_field("colour").contains("unknown property"), "{found:?}");

        let found = issues(
            Properties::new()
                .with("root", "/data")
                .with("tables", "s.t=../outside"),
        );
        assert!(found[0].message.contains(".."), "{found:?}");
        let found = issues(
            Properties::new()
                .with("root", "/data")
                .with("columns", "a:int99"),
        );
        assert!(found[0].message.contains("unknown type"), "{found:?}");
    }
}
