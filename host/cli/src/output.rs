//! How the admin commands print what they got: aligned text tables for people, or the API's own
//! JSON (`--output json`) for scripts.

use std::fmt::Write as _;

use serde_json::Value;

/// `--output`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns and `key: value` lines.
    #[default]
    Table,
    /// The API's JSON, pretty-printed.
    Json,
}

/// A table of text cells with a header row, printed with aligned columns.
#[derive(Debug)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, a trailing newline included.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(width) = widths.get_mut(i) {
                    *width = (*width).max(cell.chars().count());
                }
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let width = widths.get(i).copied().unwrap_or(0);
                let _ = write!(line, "{cell:<width$}  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// Prints `value` as pretty JSON.
pub fn print_json(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(_) => println!("{value}"),
    }
}

/// The first 12 hex digits of a sha256, enough to tell builds apart.
pub fn short_sha(sha256: &str) -> String {
    sha256.chars().take(12).collect()
}

/// A byte count as `1.0 MB`, `532 KB`, `17 B`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit + 1 < UNITS.len() {
        size /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}

/// A timestamp as the API gives it (RFC 3339), cut to the second.
pub fn short_time(timestamp: &str) -> String {
    match timestamp.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => timestamp.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned() {
        let mut table = Table::new(&["NAME", "STATUS"]);
        table.row(vec!["tpch".into(), "ready".into()]);
        table.row(vec!["a_long_name".into(), "pending".into()]);
        assert_eq!(
            table.render(),
            "NAME         STATUS\ntpch         ready\na_long_name  pending\n"
        );
    }

    #[test]
    fn sizes_and_times_are_short() {
        assert_eq!(human_size(17), "17 B");
        assert_eq!(human_size(1_014_007), "1.0 MB");
        assert_eq!(
            short_time("2026-11-26T09:30:00.123456Z"),
            "2026-11-26T09:30:00Z"
        );
    }
}
