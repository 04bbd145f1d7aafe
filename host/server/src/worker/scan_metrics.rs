//! [`ScanMetrics`]: what the worker's split scans did, for `/metrics`: splits served and running,
//! rows and bytes sent, and failures by kind (a sandbox limit, a trap, a connector error...).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of split scans. Shared by every scan of the worker.
#[derive(Debug, Default)]
pub struct ScanMetrics {
    splits: AtomicU64,
    /// Splits whose response is still being sent (a cancelled query brings this back down).
    active: AtomicU64,
    rows: AtomicU64,
    bytes: AtomicU64,
    /// Failed splits by error kind (`quarry_runtime::Error::kind`, or `refused` when the worker
    /// did not hold the version asked for).
    failures: Mutex<BTreeMap<&'static str, u64>>,
    /// Sandbox limits hit during scans, by limit (`deadline`, `memory`, `stack`).
    limits: Mutex<BTreeMap<&'static str, u64>>,
}

/// A point-in-time copy of [`ScanMetrics`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanCounts {
    pub splits: u64,
    pub active: u64,
    pub rows: u64,
    pub bytes: u64,
    pub failures: BTreeMap<&'static str, u64>,
    pub limits: BTreeMap<&'static str, u64>,
}

impl ScanMetrics {
    /// Counts a split served and running; pair with [`ScanMetrics::split_ended`].
    pub fn split_started(&self) {
        self.splits.fetch_add(1, Ordering::Relaxed);
        self.active.fetch_add(1, Ordering::Relaxed);
    }

    /// A split's response finished, failed or was dropped.
    pub fn split_ended(&self) {
        self.active.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn sent(&self, rows: usize, bytes: usize) {
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts a failed split; `sandbox_limit` when the failure was a limit being hit.
    pub fn failed(&self, kind: &'static str, sandbox_limit: bool) {
        bump(&self.failures, kind);
        if sandbox_limit {
            bump(&self.limits, kind);
        }
    }

    pub fn snapshot(&self) -> ScanCounts {
        ScanCounts {
            splits: self.splits.load(Ordering::Relaxed),
            active: self.active.load(Ordering::Relaxed),
            rows: self.rows.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            failures: lock(&self.failures).clone(),
            limits: lock(&self.limits).clone(),
        }
    }
}

fn bump(map: &Mutex<BTreeMap<&'static str, u64>>, kind: &'static str) {
    *lock(map).entry(kind).or_insert(0) += 1;
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters stay meaningful after a panic elsewhere: every update is one increment.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_by_kind_and_limits_apart() {
        let metrics = ScanMetrics::default();
        metrics.split_started();
        metrics.sent(10, 100);
        metrics.failed("trap", false);
        metrics.failed("memory", true);
        metrics.failed("memory", true);
        let counts = metrics.snapshot();
        assert_eq!((counts.splits, counts.rows, counts.bytes), (1, 10, 100));
        assert_eq!(counts.active, 1);
        metrics.split_ended();
        assert_eq!(metrics.snapshot().active, 0);
        assert_eq!(counts.failures.get("memory"), Some(&2));
        assert_eq!(counts.failures.get("trap"), Some(&1));
        assert_eq!(counts.limits.get("memory"), Some(&2));
        assert_eq!(counts.limits.get("trap"), None);
    }
}
