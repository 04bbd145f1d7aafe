//! Loading one catalog on this worker, by the one path of [`catalog_open`](crate::catalog_open):
//! its `${ENV:NAME}` references resolved in this worker's environment, its plugin fetched (once
//! per plugin, see `plugin_fetch.rs`), opened in the sandbox with its grants, and checked by the
//! plugin's own `validate`. A failure is a [`LoadError`] whose kind says which step failed and
//! whose message names the reason (and the worker, where that matters), with every secret value
//! replaced by `***`.

use quarry_runtime::Connector;

use crate::catalog_open::{CatalogToOpen, OpenError, OpeningHost, open_and_validate};
use crate::sync_protocol::CatalogAssignment;
use crate::worker::state::WorkerState;

/// Why a catalog failed to load on this worker; a failed plugin fetch says why in words.
pub type LoadError = OpenError<String>;

/// Loads `assignment`.
pub async fn load_catalog(
    state: &WorkerState,
    assignment: &CatalogAssignment,
) -> Result<Connector, LoadError> {
    let here = format!("worker \"{}\"", state.id());
    let host = OpeningHost {
        runtime: state.runtime(),
        env_var: &|var| state.env_var(var),
        name: &here,
    };
    let plugin = state
        .plugins()
        .plugin(&assignment.plugin_sha256, &assignment.plugin);
    open_and_validate(&host, CatalogToOpen::assigned(assignment), plugin).await
}
