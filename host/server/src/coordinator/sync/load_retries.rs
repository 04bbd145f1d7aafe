//! [`LoadRetries`]: when a catalog that failed to load on a worker is sent to it again.
//!
//! A load can fail for reasons that pass (a database the connector checks is down, a directory
//! not mounted yet), so a failed catalog is not left failed until someone alters it: one
//! worker's syncer sends it again after one reconcile interval, then after twice as long each
//! time, up to [`MAX_RETRY_DELAY`]. A new version of the catalog, a successful load, or the
//! catalog leaving the worker starts the count again.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::sync_protocol::{CatalogVersion, HeldCatalog, LoadState};

/// The longest wait between two retries of one failed load.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);

/// The retry schedule of one worker's failed loads.
#[derive(Debug)]
pub struct LoadRetries {
    first_delay: Duration,
    failed: HashMap<String, Retry>,
}

#[derive(Debug)]
struct Retry {
    version: CatalogVersion,
    /// Retries sent so far.
    attempts: u32,
    due: Instant,
}

impl LoadRetries {
    /// Retries that start `first_delay` after the failure is seen.
    pub fn new(first_delay: Duration) -> LoadRetries {
        LoadRetries {
            first_delay,
            failed: HashMap::new(),
        }
    }

    /// Follows what the worker says it holds: a failure seen for the first time is due after
    /// the first delay; an entry no longer failed at the same version is forgotten.
    pub fn observe(&mut self, held: &HashMap<String, HeldCatalog>, now: Instant) {
        self.failed.retain(|name, retry| {
            held.get(name)
                .is_some_and(|h| h.state == LoadState::Failed && h.version == retry.version)
        });
        for catalog in held.values() {
            if catalog.state == LoadState::Failed && !self.failed.contains_key(&catalog.name) {
                self.failed.insert(
                    catalog.name.clone(),
                    Retry {
                        version: catalog.version,
                        attempts: 0,
                        due: now + self.first_delay,
                    },
                );
            }
        }
    }

    /// Whether the failed `catalog` should be sent again now.
    pub fn is_due(&self, catalog: &HeldCatalog, now: Instant) -> bool {
        self.failed
            .get(&catalog.name)
            .is_some_and(|retry| retry.version == catalog.version && retry.due <= now)
    }

    /// Records that `name` is being sent again; returns which attempt this is (1 for the first
    /// retry). The next one waits twice as long.
    pub fn sent(&mut self, name: &str, now: Instant) -> u32 {
        let first_delay = self.first_delay;
        let Some(retry) = self.failed.get_mut(name) else {
            return 0;
        };
        retry.attempts = retry.attempts.saturating_add(1);
        retry.due = now + delay_after(first_delay, retry.attempts);
        retry.attempts
    }
}

/// The wait after `attempts` retries: the first delay, doubled per attempt, capped.
fn delay_after(first_delay: Duration, attempts: u32) -> Duration {
    let factor = 1u32.checked_shl(attempts.min(20)).unwrap_or(u32::MAX);
    first_delay
        .saturating_mul(factor)
        .min(MAX_RETRY_DELAY.max(first_delay))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(name: &str, generation: i64, state: LoadState) -> HashMap<String, HeldCatalog> {
        HashMap::from([(
            name.to_owned(),
            HeldCatalog {
                name: name.to_owned(),
                version: CatalogVersion {
                    incarnation: 1,
                    generation,
                },
                state,
                error: None,
            },
        )])
    }

    #[test]
    fn a_failed_load_is_retried_with_growing_delays() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let mut retries = LoadRetries::new(10 * second);
        let failed = held("c", 1, LoadState::Failed);
        retries.observe(&failed, start);
        let c = &failed["c"];
        assert!(!retries.is_due(c, start));
        assert!(retries.is_due(c, start + 10 * second));
        assert_eq!(retries.sent("c", start + 10 * second), 1);
        // Still failed after the retry: the schedule goes on, 20 s, then 40 s later.
        retries.observe(&failed, start + 11 * second);
        assert!(!retries.is_due(c, start + 29 * second));
        assert!(retries.is_due(c, start + 30 * second));
        assert_eq!(retries.sent("c", start + 30 * second), 2);
        assert!(retries.is_due(c, start + 70 * second));
        // Never more than the cap apart.
        for _ in 0..20 {
            retries.sent("c", start);
        }
        assert!(retries.is_due(c, start + MAX_RETRY_DELAY));
    }

    #[test]
    fn a_load_or_a_new_version_starts_again() {
        let start = Instant::now();
        let mut retries = LoadRetries::new(Duration::from_secs(10));
        retries.observe(&held("c", 1, LoadState::Failed), start);
        retries.sent("c", start);
        retries.sent("c", start);
        // Loaded now: forgotten.
        retries.observe(&held("c", 1, LoadState::Loaded), start);
        assert_eq!(retries.sent("c", start), 0);
        // Failed at a new version: a fresh schedule.
        let v2 = held("c", 2, LoadState::Failed);
        retries.observe(&v2, start);
        assert!(!retries.is_due(&v2["c"], start + Duration::from_secs(9)));
        assert!(retries.is_due(&v2["c"], start + Duration::from_secs(10)));
        assert_eq!(retries.sent("c", start), 1);
    }
}
