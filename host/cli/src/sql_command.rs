//! `quarry sql`: runs SQL statements on the coordinator (`POST /v1/statement`) and prints each
//! result as a table, CSV or the API's JSON.
//!
//! The SQL comes from the argument, from `--file`, or from standard input; several statements
//! separated by `;` run one after the other, and the first failure stops the run.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Value, json};

use crate::api_client::ApiClient;
use crate::output::{OutputFormat, Table, print_json};

// `quarry sql` flags. (Not a doc comment: clap would use it as the command's help.)
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    quarry sql \"SELECT count(*) FROM tpch.tiny.lineitem\"\n  \
    quarry sql --format csv \"SHOW TABLES FROM tpch.tiny\" > tables.csv\n  \
    echo \"SHOW CATALOGS\" | quarry sql\n  \
    quarry sql \"CREATE CATALOG big USING tpch WITH (\\\"splits\\\" = '8')\"")]
pub struct SqlArgs {
    /// The SQL to run; several statements are separated by `;` [default: read standard input]
    #[arg(value_name = "SQL", conflicts_with = "file")]
    pub sql: Option<String>,

    /// Read the SQL from this file
    #[arg(long, short = 'f', value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// How to print results [default: table, or json with --output json]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<SqlFormat>,
}

/// `quarry sql --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SqlFormat {
    /// Aligned columns, NULL as `NULL`, then the row count.
    Table,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// The API's JSON: columns with types, rows of values.
    Json,
}

/// Runs `quarry sql`.
pub async fn run(args: SqlArgs, client: &ApiClient, output: OutputFormat) -> Result<()> {
    let text = match (&args.sql, &args.file) {
        (Some(sql), _) => sql.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the SQL file {}", path.display()))?,
        (None, None) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read SQL from standard input")?;
            text
        }
    };
    let statements = split_statements(&text);
    if statements.is_empty() {
        bail!("no SQL statement given (pass it as an argument, with --file, or on stdin)");
    }
    let format = args.format.unwrap_or(match output {
        OutputFormat::Json => SqlFormat::Json,
        OutputFormat::Table => SqlFormat::Table,
    });
    for (i, statement) in statements.iter().enumerate() {
        let (_, result) = client
            .post_json("/v1/statement", &json!({ "sql": statement }))
            .await
            .with_context(|| format!("statement {} failed", i + 1))?;
        if i > 0 && format != SqlFormat::Json {
            println!();
        }
        match format {
            SqlFormat::Json => print_json(&result),
            SqlFormat::Csv => print!("{}", to_csv(&result)),
            SqlFormat::Table => print!("{}", to_table(&result)),
        }
    }
    Ok(())
}

/// Splits `text` at the `;` that end statements (not those inside quotes or comments); empty
/// statements are dropped.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    current.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    // A line comment: kept out of the statement.
                    for c in chars.by_ref() {
                        if c == '\n' {
                            current.push('\n');
                            break;
                        }
                    }
                }
                ';' => statements.push(std::mem::take(&mut current)),
                _ => current.push(c),
            },
        }
    }
    statements.push(current);
    statements
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn column_names(result: &Value) -> Vec<String> {
    result["columns"]
        .as_array()
        .map(|columns| {
            columns
                .iter()
                .map(|c| c["name"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn rows(result: &Value) -> &[Value] {
    result["rows"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// A result as an aligned table followed by `(N rows)`.
pub fn to_table(result: &Value) -> String {
    let names = column_names(result);
    let header: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for row in rows(result) {
        let cells = row
            .as_array()
            .map(|values| values.iter().map(cell).collect())
            .unwrap_or_default();
        table.row(cells);
    }
    let count = rows(result).len();
    let noun = if count == 1 { "row" } else { "rows" };
    format!("{}({count} {noun})\n", table.render())
}

/// A result as CSV with a header row; NULL is an empty field.
pub fn to_csv(result: &Value) -> String {
    let mut out = String::new();
    let line = |fields: Vec<String>, out: &mut String| {
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    };
    line(column_names(result), &mut out);
    for row in rows(result) {
        let fields = row
            .as_array()
            .map(|values| {
                values
                    .iter()
                    .map(|v| match v {
                        Value::Null => String::new(),
                        other => cell(other),
                    })
                    .collect()
            })
            .unwrap_or_default();
        line(fields, &mut out);
    }
    out
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_at_semicolons_outside_quotes_and_comments() {
        let text = "SELECT 'a;b'; -- note; here\nSELECT \"x;y\" FROM t;;\n  ";
        assert_eq!(
            split_statements(text),
            vec!["SELECT 'a;b'", "SELECT \"x;y\" FROM t"]
        );
    }

    #[test]
    fn results_render_as_table_and_csv() {
        let result = json!({
            "columns": [{"name": "n", "type": "bigint"}, {"name": "s", "type": "varchar"}],
            "rows": [[1, "a,b"], [null, "plain"]],
        });
        assert_eq!(
            to_table(&result),
            "n     s\n1     a,b\nNULL  plain\n(2 rows)\n"
        );
        assert_eq!(to_csv(&result), "n,s\n1,\"a,b\"\n,plain\n");
    }
}
