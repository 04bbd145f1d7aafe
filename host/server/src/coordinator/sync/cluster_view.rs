//! [`ClusterView`]: which live worker holds which catalog version loaded, as each worker last
//! told its syncer. Queries read it to choose where a split runs; the SQL catalogs read it to
//! know when a catalog version can be queried.
//!
//! It lives in memory and follows the syncers: a syncer records every answer of its worker, and
//! forgets the worker when a call fails or the worker is marked dead, so a split is never sent
//! to a worker the coordinator knows to be unreachable.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::watch;

use crate::sync_protocol::{CatalogVersion, HeldState, LoadState};

/// A worker that holds a catalog version: where to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub worker: String,
    /// Its HTTP API.
    pub address: String,
    /// Its query execution service, if it serves one.
    pub execution_address: Option<String>,
}

#[derive(Debug, Default)]
struct WorkerHoldings {
    address: String,
    execution_address: Option<String>,
    loaded: HashMap<String, CatalogVersion>,
}

/// The live workers' loaded catalogs. Cheap to clone; clones share the view.
#[derive(Clone, Debug)]
pub struct ClusterView {
    workers: Arc<RwLock<BTreeMap<String, WorkerHoldings>>>,
    /// Bumped on every change that adds or removes a holder.
    changes: Arc<watch::Sender<u64>>,
}

impl Default for ClusterView {
    fn default() -> Self {
        ClusterView {
            workers: Arc::default(),
            changes: Arc::new(watch::channel(0).0),
        }
    }
}

impl ClusterView {
    /// Records what worker `id` at `address` said it holds.
    pub fn record(&self, id: &str, address: &str, state: &HeldState) {
        let loaded: HashMap<String, CatalogVersion> = state
            .catalogs
            .iter()
            .filter(|c| c.state == LoadState::Loaded)
            .map(|c| (c.name.clone(), c.version))
            .collect();
        let mut workers = self.write();
        let entry = workers.entry(id.to_owned()).or_default();
        if entry.address == address
            && entry.execution_address == state.execution_address
            && entry.loaded == loaded
        {
            return;
        }
        entry.address = address.to_owned();
        entry.execution_address = state.execution_address.clone();
        entry.loaded = loaded;
        drop(workers);
        self.changes.send_modify(|n| *n += 1);
    }

    /// Forgets worker `id` (unreachable, dead or gone).
    pub fn forget(&self, id: &str) {
        if self.write().remove(id).is_some() {
            self.changes.send_modify(|n| *n += 1);
        }
    }

    /// The workers holding `catalog` at exactly `version`, by worker id.
    pub fn holders(&self, catalog: &str, version: CatalogVersion) -> Vec<Holder> {
        self.read()
            .iter()
            .filter(|(_, w)| w.loaded.get(catalog) == Some(&version))
            .map(|(id, w)| Holder {
                worker: id.clone(),
                address: w.address.clone(),
                execution_address: w.execution_address.clone(),
            })
            .collect()
    }

    /// The workers in the view that serve an execution service: (id, execution address), by
    /// id. Where query stages may run.
    pub fn execution_workers(&self) -> Vec<(String, String)> {
        self.read()
            .iter()
            .filter_map(|(id, w)| Some((id.clone(), w.execution_address.clone()?)))
            .collect()
    }

    /// The ids of the workers in the view.
    pub fn workers(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// A receiver that changes whenever a holder is added or removed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, WorkerHoldings>> {
        self.workers.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, WorkerHoldings>> {
        self.workers.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_protocol::HeldCatalog;

    fn state(catalogs: &[(&str, i64, LoadState)]) -> HeldState {
        HeldState {
            worker_id: "w".to_owned(),
            instance: "i".to_owned(),
            ready: true,
            execution_address: None,
            catalogs: catalogs
                .iter()
                .map(|(name, generation, state)| HeldCatalog {
                    name: (*name).to_owned(),
                    version: CatalogVersion {
                        incarnation: 1,
                        generation: *generation,
                    },
                    state: *state,
                    error: None,
                })
                .collect(),
        }
    }

    fn v(generation: i64) -> CatalogVersion {
        CatalogVersion {
            incarnation: 1,
            generation,
        }
    }

    #[test]
    fn holders_are_the_workers_with_the_version_loaded() {
        let view = ClusterView::default();
        let changes = view.subscribe();
        view.record("a", "http://a", &state(&[("tpch", 1, LoadState::Loaded)]));
        view.record("b", "http://b", &state(&[("tpch", 2, LoadState::Loaded)]));
        view.record("c", "http://c", &state(&[("tpch", 1, LoadState::Failed)]));
        assert!(changes.has_changed().unwrap());
        let holders: Vec<String> = view
            .holders("tpch", v(1))
            .into_iter()
            .map(|h| h.worker)
            .collect();
        assert_eq!(holders, vec!["a"]);
        assert_eq!(view.holders("tpch", v(2))[0].address, "http://b");
        view.forget("a");
        assert!(view.holders("tpch", v(1)).is_empty());
        assert_eq!(view.workers(), vec!["b", "c"]);
    }

    #[test]
    fn an_unchanged_report_is_not_a_change() {
        let view = ClusterView::default();
        view.record("a", "http://a", &state(&[("tpch", 1, LoadState::Loaded)]));
        let mut changes = view.subscribe();
        changes.mark_unchanged();
        view.record("a", "http://a", &state(&[("tpch", 1, LoadState::Loaded)]));
        assert!(!changes.has_changed().unwrap());
    }
}
