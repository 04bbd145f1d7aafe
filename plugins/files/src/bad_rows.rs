//! What happens to a CSV or JSON row that does not parse: the scan fails naming the file and
//! the row, or (with `skip_bad_rows`) the row is skipped and counted.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use quarry_sdk::{ConnectorError, Result};

use crate::stats::FileCounters;

/// Bad rows logged per file when they are skipped; the rest are only counted.
const LOGGED_BAD_ROWS: u64 = 5;

/// Where a row is in its file, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct RowPosition {
    /// 1-based data row (header excluded), when the format counts rows.
    pub row: Option<u64>,
    /// 1-based line.
    pub line: u64,
    /// Byte offset of the row's start.
    pub byte: u64,
}

/// The bad-row policy of one file: fail naming the file and the row, or skip and count.
#[derive(Debug)]
pub struct BadRows {
    pub file: String,
    pub skip: bool,
    pub counters: Arc<FileCounters>,
    skipped: u64,
}

impl BadRows {
    pub fn new(file: String, skip: bool, counters: Arc<FileCounters>) -> Self {
        BadRows {
            file,
            skip,
            counters,
            skipped: 0,
        }
    }

    /// Fails with the position and reason, or counts the row as skipped.
    pub fn handle(&mut self, at: RowPosition, reason: &str) -> Result<()> {
        let place = match at.row {
            Some(row) => format!("row {row} (line {}, byte offset {})", at.line, at.byte),
            None => format!("line {} (byte offset {})", at.line, at.byte),
        };
        if !self.skip {
            return Err(ConnectorError::io(format!(
                "file \"{}\": {place}: {reason}",
                self.file
            )));
        }
        self.skipped += 1;
        self.counters
            .bad_rows_skipped
            .fetch_add(1, Ordering::Relaxed);
        if self.skipped <= LOGGED_BAD_ROWS {
            quarry_sdk::log::warn(&format!(
                "file \"{}\": skipping bad {place}: {reason}",
                self.file
            ));
        }
        Ok(())
    }
}
