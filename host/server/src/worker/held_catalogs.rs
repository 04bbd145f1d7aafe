//! [`HeldCatalogs`]: the catalogs this worker holds, each at one version, loaded (with its open
//! connector) or failed (with why).
//!
//! Versions only move forward: a load older than what is held, or an unload older than it, is
//! ignored, so repeated or late messages change nothing. The one exception is a failed entry: a
//! load at its own version tries again (the coordinator retries failed loads, with backoff) when
//! the kind of failure says it is worth it ([`OpenError::worth_retrying`](crate::catalog_open::OpenError::worth_retrying)).
//! Replacing or dropping an entry drops only this map's handle on the connector: a scan that
//! started on the old version keeps its own clone and finishes on it.

use std::collections::HashMap;
use std::sync::Mutex;

use quarry_runtime::Connector;

use crate::sync_protocol::{CatalogVersion, HeldCatalog, LoadState};
use crate::worker::catalog_loader::LoadError;

/// One held catalog.
#[derive(Debug)]
struct Entry {
    version: CatalogVersion,
    /// `Ok` when loaded, `Err` when loading failed.
    outcome: Result<Connector, LoadError>,
}

impl Entry {
    /// Whether this entry is newer than `version`, or `version` loaded: an outcome of loading
    /// `version` must not replace it.
    fn supersedes(&self, version: CatalogVersion) -> bool {
        self.version > version || (self.version == version && self.outcome.is_ok())
    }

    /// Whether loading `version` would change nothing: the entry supersedes it, or loading it
    /// failed in a way that loading it again would not change.
    fn settles(&self, version: CatalogVersion) -> bool {
        self.supersedes(version)
            || (self.version == version
                && self
                    .outcome
                    .as_ref()
                    .is_err_and(|error| !error.worth_retrying()))
    }
}

/// The held catalogs, by name.
#[derive(Debug, Default)]
pub struct HeldCatalogs {
    entries: Mutex<HashMap<String, Entry>>,
}

impl HeldCatalogs {
    /// Whether a load of `name` at `version` would change nothing: something newer is held, or
    /// this version is held loaded. (A failed entry at this version is loaded again, if its
    /// kind of failure is worth retrying.)
    pub fn is_settled_at(&self, name: &str, version: CatalogVersion) -> bool {
        self.lock()
            .get(name)
            .is_some_and(|entry| entry.settles(version))
    }

    /// Records the outcome of loading `name` at `version`, unless something newer, or this
    /// version loaded, is held by now. Returns whether it was recorded.
    pub fn record(
        &self,
        name: &str,
        version: CatalogVersion,
        outcome: Result<Connector, LoadError>,
    ) -> bool {
        let mut entries = self.lock();
        if entries
            .get(name)
            .is_some_and(|held| held.supersedes(version))
        {
            return false;
        }
        if let Some(Entry {
            outcome: Ok(old), ..
        }) = entries.insert(name.to_owned(), Entry { version, outcome })
        {
            old.release_instances();
        }
        true
    }

    /// Drops `name` if what is held is not newer than `version`. Returns whether it was dropped.
    pub fn unload(&self, name: &str, version: CatalogVersion) -> bool {
        let mut entries = self.lock();
        if entries.get(name).is_none_or(|held| held.version > version) {
            return false;
        }
        if let Some(Entry {
            outcome: Ok(old), ..
        }) = entries.remove(name)
        {
            old.release_instances();
        }
        true
    }

    /// The loaded connector of `name` and its version.
    pub fn connector(&self, name: &str) -> Option<(CatalogVersion, Connector)> {
        let entries = self.lock();
        let entry = entries.get(name)?;
        entry
            .outcome
            .as_ref()
            .ok()
            .map(|connector| (entry.version, connector.clone()))
    }

    /// Everything held, sorted by name, for the coordinator.
    pub fn snapshot(&self) -> Vec<HeldCatalog> {
        let mut held: Vec<HeldCatalog> = self
            .lock()
            .iter()
            .map(|(name, entry)| HeldCatalog {
                name: name.clone(),
                version: entry.version,
                state: if entry.outcome.is_ok() {
                    LoadState::Loaded
                } else {
                    LoadState::Failed
                },
                error: entry.outcome.as_ref().err().map(ToString::to_string),
            })
            .collect();
        held.sort_by(|a, b| a.name.cmp(&b.name));
        held
    }

    /// How many catalogs are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding this lock cannot leave the map half-updated (every change is
        // one insert or remove), so a poisoned lock is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog_open::OpenError;

    fn version(generation: i64) -> CatalogVersion {
        CatalogVersion {
            incarnation: 1,
            generation,
        }
    }

    fn failed(reason: &str) -> Result<Connector, LoadError> {
        Err(OpenError::PluginFetch(reason.to_owned()))
    }

    #[test]
    fn a_failed_load_is_tried_again_at_its_own_version_only() {
        let held = HeldCatalogs::default();
        assert!(held.record("c", version(2), failed("root is missing")));
        // The same version again: a retry, which may record another outcome.
        assert!(!held.is_settled_at("c", version(2)));
        assert!(held.record("c", version(2), failed("still missing")));
        assert_eq!(held.snapshot()[0].error.as_deref(), Some("still missing"));
        // An older version changes nothing.
        assert!(held.is_settled_at("c", version(1)));
        assert!(!held.record("c", version(1), failed("old")));
        // A newer one replaces it.
        assert!(!held.is_settled_at("c", version(3)));
        assert!(held.record("c", version(3), failed("new")));
        assert_eq!(held.snapshot()[0].version, version(3));
    }
}
