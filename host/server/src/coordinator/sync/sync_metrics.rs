//! Counters of the sync task, for `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sync counters. Shared by every syncer.
#[derive(Debug, Default)]
pub struct SyncMetrics {
    syncs: AtomicU64,
    catalogs_sent: AtomicU64,
    sync_micros: AtomicU64,
    worker_call_failures: AtomicU64,
    load_failures: AtomicU64,
    workers_marked_dead: AtomicU64,
}

/// A snapshot of [`SyncMetrics`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SyncCounts {
    /// Syncs that changed something on a worker.
    pub syncs: u64,
    /// Catalog loads sent to workers.
    pub catalogs_sent: u64,
    /// Total time of those syncs, request sent to last answer.
    pub sync_seconds_total: f64,
    /// Calls to workers that failed or timed out.
    pub worker_call_failures: u64,
    /// Catalog loads a worker reported failed.
    pub load_failures: u64,
    /// Workers marked dead for missing heartbeats.
    pub workers_marked_dead: u64,
}

impl SyncMetrics {
    pub(crate) fn synced(&self, loads: usize, took: Duration) {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.catalogs_sent
            .fetch_add(u64::try_from(loads).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.sync_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn worker_call_failed(&self) {
        self.worker_call_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn load_failed(&self) {
        self.load_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn marked_dead(&self, count: usize) {
        self.workers_marked_dead
            .fetch_add(u64::try_from(count).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> SyncCounts {
        SyncCounts {
            syncs: self.syncs.load(Ordering::Relaxed),
            catalogs_sent: self.catalogs_sent.load(Ordering::Relaxed),
            sync_seconds_total: self.sync_micros.load(Ordering::Relaxed) as f64 / 1e6,
            worker_call_failures: self.worker_call_failures.load(Ordering::Relaxed),
            load_failures: self.load_failures.load(Ordering::Relaxed),
            workers_marked_dead: self.workers_marked_dead.load(Ordering::Relaxed),
        }
    }
}
