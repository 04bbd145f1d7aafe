//! [`CoordinatorOpenFailures`]: the catalogs the coordinator could not open for SQL, with the
//! generation and the reason. A catalog every worker loaded but the coordinator cannot open is
//! not queryable, so its status must not say `ready`: the API shows it `failed` with an error
//! from `"coordinator"`, and a catalog DDL statement answers `failed` with the reason. The
//! coordinator retries (see `queryable_catalogs.rs`) and the entry goes when it succeeds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Shared between the task that opens catalogs and the API. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CoordinatorOpenFailures {
    failures: Arc<Mutex<HashMap<String, (i64, String)>>>,
}

impl CoordinatorOpenFailures {
    /// `name` at `generation` could not be opened, because of `reason` (already scrubbed).
    pub fn record(&self, name: &str, generation: i64, reason: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.insert(name.to_owned(), (generation, reason.to_owned()));
        }
    }

    /// `name` opened, or is gone.
    pub fn clear(&self, name: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(name);
        }
    }

    /// Why `name` at `generation` is not open on the coordinator, if it failed.
    pub fn reason(&self, name: &str, generation: i64) -> Option<String> {
        let failures = self.failures.lock().ok()?;
        failures
            .get(name)
            .filter(|(failed, _)| *failed == generation)
            .map(|(_, reason)| reason.clone())
    }
}
