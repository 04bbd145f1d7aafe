//! [`ScanLog`]: what each table scan asked its connector for, so tests (and `EXPLAIN`-like
//! diagnostics) can check that projection, filters and limit reached the connector.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use quarry_runtime::{Pushdown, ScanRequest};

/// Records kept; older ones are dropped first.
const CAPACITY: usize = 1024;

/// One planned scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRecord {
    pub catalog: String,
    pub generation: i64,
    /// The request given to `plan_scan` (and to every split).
    pub request: ScanRequest,
    /// The connector's answer per filter of the request.
    pub pushdown: Vec<Pushdown>,
    /// Splits the connector planned.
    pub splits: usize,
}

/// The most recent scans, newest last. Cheap to clone; clones share the records.
#[derive(Debug, Clone, Default)]
pub struct ScanLog {
    records: Arc<Mutex<VecDeque<ScanRecord>>>,
}

impl ScanLog {
    /// The recorded scans, oldest first.
    pub fn records(&self) -> Vec<ScanRecord> {
        self.lock().iter().cloned().collect()
    }

    /// Forgets every record.
    pub fn clear(&self) {
        self.lock().clear();
    }

    pub(crate) fn record(&self, record: ScanRecord) {
        let mut records = self.lock();
        if records.len() == CAPACITY {
            records.pop_front();
        }
        records.push_back(record);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<ScanRecord>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
