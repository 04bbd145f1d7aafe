//! Keeping the SQL engine's catalogs in step with the cluster: a catalog version becomes
//! queryable as soon as a live worker holds it loaded, and a dropped catalog disappears.
//!
//! The task watches the desired state (every create, alter and drop) and the cluster view
//! (every worker report). For each catalog whose current version some worker holds, it opens the
//! catalog on the coordinator (planning and metadata run here; splits run on the workers) and
//! sets it in the engine with a [`WorkerSplitSource`]. During an alter the previous generation
//! stays queryable until a worker holds the new one; a query already running keeps the
//! generation it started with.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use quarry_sql::QuarryCatalogs;

use crate::catalog_open::{OpenedCatalog, open_assigned};
use crate::coordinator::sql::worker_split_source::WorkerSplitSource;
use crate::coordinator::state::AppState;
use crate::coordinator::sync::desired_state::DesiredState;
use crate::coordinator::sync::worker_client::WorkerClient;
use crate::sync_protocol::{CatalogAssignment, CatalogVersion};

/// Runs until `shutdown` resolves.
pub async fn keep_queryable(state: AppState, shutdown: impl Future<Output = ()>) {
    let catalogs = state.engine().catalogs().clone();
    let client = WorkerClient::new(
        state.worker_http().clone(),
        state.cluster_secret_value(),
        state.sync().settings().request_timeout,
    );
    let mut desired = state.sync().desired();
    let mut view_changes = state.sync().view().subscribe();
    let mut opened: HashMap<String, CatalogVersion> = HashMap::new();
    let mut failed: HashMap<String, CatalogVersion> = HashMap::new();
    tokio::pin!(shutdown);
    loop {
        let wanted = desired.borrow_and_update().clone();
        view_changes.mark_unchanged();
        reconcile(
            &state,
            &catalogs,
            &client,
            &wanted,
            &mut opened,
            &mut failed,
        )
        .await;
        tokio::select! {
            changed = desired.changed() => if changed.is_err() { return },
            changed = view_changes.changed() => if changed.is_err() { return },
            () = &mut shutdown => return,
        }
    }
}

async fn reconcile(
    state: &AppState,
    catalogs: &QuarryCatalogs,
    client: &WorkerClient,
    desired: &DesiredState,
    opened: &mut HashMap<String, CatalogVersion>,
    failed: &mut HashMap<String, CatalogVersion>,
) {
    opened.retain(|name, _| {
        let keep = desired.catalogs.contains_key(name);
        if !keep {
            catalogs.remove_catalog(name);
            tracing::info!(catalog = %name, "catalog dropped from SQL");
        }
        keep
    });
    failed.retain(|name, version| desired.catalogs.get(name).map(|a| a.version) == Some(*version));
    let view = state.sync().view();
    for assignment in desired.catalogs.values() {
        let name = &assignment.name;
        if opened.get(name) == Some(&assignment.version) || failed.contains_key(name) {
            continue;
        }
        if view.holders(name, assignment.version).is_empty() {
            continue;
        }
        match open(state, assignment).await {
            Ok(opened_catalog) => {
                // A new incarnation may restart at a generation the engine already has.
                catalogs.remove_catalog(name);
                let source =
                    WorkerSplitSource::new(name, assignment.version, view.clone(), client.clone());
                catalogs.set_catalog(
                    name,
                    u64::try_from(assignment.version.generation).unwrap_or_default(),
                    opened_catalog.connector,
                    Arc::new(source),
                );
                opened.insert(name.clone(), assignment.version);
                tracing::info!(catalog = %name, generation = assignment.version.generation,
                    "catalog queryable");
            }
            Err(reason) => {
                tracing::warn!(catalog = %name, generation = assignment.version.generation,
                    %reason, "catalog cannot be opened on the coordinator: not queryable");
                failed.insert(name.clone(), assignment.version);
            }
        }
    }
}

async fn open(state: &AppState, assignment: &CatalogAssignment) -> Result<OpenedCatalog, String> {
    let (plugin_name, plugin_version) = assignment
        .plugin
        .split_once('@')
        .ok_or_else(|| format!("bad plugin reference \"{}\"", assignment.plugin))?;
    let plugin = state
        .store()
        .get_plugin(plugin_name, plugin_version)
        .await
        .map_err(|e| e.to_string())?;
    let loaded = state
        .loaded_plugin(&plugin)
        .await
        .map_err(|e| e.to_string())?;
    let opened = open_assigned(
        state.runtime(),
        loaded,
        assignment,
        |var| state.env_var(var),
        "the coordinator",
    )?;
    // Planning needs no warm instance between queries.
    opened.connector.release_instances();
    Ok(opened)
}
