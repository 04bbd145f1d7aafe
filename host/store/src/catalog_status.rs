//! A catalog's status, derived from the catalog's generation and what the live workers report.
//! Never stored: storing it would make it one more thing to keep in step.
//!
//! The rule, for the catalog's current generation `g`:
//! - `failed` if any live worker reports `failed` at `g` (the errors are listed);
//! - else `ready` if every live worker reports `loaded` at `g`;
//! - else `pending`, which includes having no live worker at all: with nobody to run it a
//!   catalog is not ready, and nothing has failed either.
//!
//! Dead and stopped workers do not count; a worker that comes back counts again.

use serde::{Deserialize, Serialize};

use crate::catalog_worker::LoadState;

/// The derived status of a catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatalogState {
    Pending,
    Ready,
    Failed,
}

/// One live worker's state for a catalog, as shown per worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerCatalogState {
    /// The worker has not reported anything for this catalog yet.
    Pending,
    Loading,
    Loaded,
    Failed,
}

impl From<LoadState> for WorkerCatalogState {
    fn from(state: LoadState) -> Self {
        match state {
            LoadState::Loading => WorkerCatalogState::Loading,
            LoadState::Loaded => WorkerCatalogState::Loaded,
            LoadState::Failed => WorkerCatalogState::Failed,
        }
    }
}

/// One live worker's detail for a catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerCatalogStatus {
    pub worker: String,
    /// The generation the report is about; `None` when the worker has not reported.
    pub generation: Option<i64>,
    pub state: WorkerCatalogState,
    pub error: Option<String>,
}

/// A live worker's error for the catalog's current generation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerError {
    pub worker: String,
    pub error: String,
}

/// A catalog's derived status with the per-worker detail it was derived from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogStatus {
    pub catalog: String,
    /// The catalog's current generation.
    pub generation: i64,
    pub state: CatalogState,
    /// The errors that make the status `failed` (empty otherwise).
    pub errors: Vec<WorkerError>,
    /// One entry per live worker, ordered by worker id.
    pub workers: Vec<WorkerCatalogStatus>,
}

/// Derives a catalog's status from its current `generation` and one entry per live worker
/// (see the module documentation for the rule).
pub fn derive_status(
    catalog: String,
    generation: i64,
    mut live_workers: Vec<WorkerCatalogStatus>,
) -> CatalogStatus {
    live_workers.sort_by(|a, b| a.worker.cmp(&b.worker));
    let at_current =
        |w: &WorkerCatalogStatus, state| w.generation == Some(generation) && w.state == state;

    let errors: Vec<WorkerError> = live_workers
        .iter()
        .filter(|w| at_current(w, WorkerCatalogState::Failed))
        .map(|w| WorkerError {
            worker: w.worker.clone(),
            error: w
                .error
                .clone()
                .unwrap_or_else(|| "no error message".to_owned()),
        })
        .collect();

    let state = if !errors.is_empty() {
        CatalogState::Failed
    } else if !live_workers.is_empty()
        && live_workers
            .iter()
            .all(|w| at_current(w, WorkerCatalogState::Loaded))
    {
        CatalogState::Ready
    } else {
        CatalogState::Pending
    };

    CatalogStatus {
        catalog,
        generation,
        state,
        errors,
        workers: live_workers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(id: &str, report: Option<(i64, WorkerCatalogState)>) -> WorkerCatalogStatus {
        let error = match report {
            Some((_, WorkerCatalogState::Failed)) => Some(format!("{id} broke")),
            _ => None,
        };
        WorkerCatalogStatus {
            worker: id.to_owned(),
            generation: report.map(|(generation, _)| generation),
            state: report.map_or(WorkerCatalogState::Pending, |(_, state)| state),
            error,
        }
    }

    fn state_of(generation: i64, workers: Vec<WorkerCatalogStatus>) -> CatalogState {
        derive_status("c".to_owned(), generation, workers).state
    }

    use WorkerCatalogState::{Failed, Loaded, Loading};

    #[test]
    fn no_live_worker_is_pending() {
        assert_eq!(state_of(1, vec![]), CatalogState::Pending);
    }

    #[test]
    fn every_live_worker_loaded_at_current_generation_is_ready() {
        let workers = vec![
            worker("a", Some((3, Loaded))),
            worker("b", Some((3, Loaded))),
        ];
        assert_eq!(state_of(3, workers), CatalogState::Ready);
    }

    #[test]
    fn a_worker_that_has_not_reported_keeps_it_pending() {
        let workers = vec![worker("a", Some((1, Loaded))), worker("b", None)];
        let status = derive_status("c".to_owned(), 1, workers);
        assert_eq!(status.state, CatalogState::Pending);
        assert_eq!(status.workers[1].state, WorkerCatalogState::Pending);
        assert_eq!(status.workers[1].generation, None);
    }

    #[test]
    fn a_worker_behind_or_still_loading_keeps_it_pending() {
        let behind = vec![
            worker("a", Some((2, Loaded))),
            worker("b", Some((1, Loaded))),
        ];
        assert_eq!(state_of(2, behind), CatalogState::Pending);
        let loading = vec![
            worker("a", Some((2, Loaded))),
            worker("b", Some((2, Loading))),
        ];
        assert_eq!(state_of(2, loading), CatalogState::Pending);
    }

    #[test]
    fn a_failure_at_the_current_generation_fails_it_and_shows_the_error() {
        let workers = vec![
            worker("a", Some((2, Loaded))),
            worker("b", Some((2, Failed))),
            worker("c", None),
        ];
        let status = derive_status("c".to_owned(), 2, workers);
        assert_eq!(status.state, CatalogState::Failed);
        assert_eq!(
            status.errors,
            vec![WorkerError {
                worker: "b".to_owned(),
                error: "b broke".to_owned()
            }]
        );
    }

    #[test]
    fn a_failure_at_an_older_generation_is_only_pending() {
        let workers = vec![
            worker("a", Some((2, Loaded))),
            worker("b", Some((1, Failed))),
        ];
        let status = derive_status("c".to_owned(), 2, workers);
        assert_eq!(status.state, CatalogState::Pending);
        assert!(status.errors.is_empty());
    }

    #[test]
    fn workers_are_ordered_by_id() {
        let workers = vec![worker("b", None), worker("a", None)];
        let status = derive_status("c".to_owned(), 1, workers);
        let ids: Vec<&str> = status.workers.iter().map(|w| w.worker.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
