//! Keeping the SQL engine's catalogs in step with the cluster: a catalog version becomes
//! queryable as soon as a live worker holds it loaded, and a dropped catalog disappears.
//!
//! The task watches the desired state (every create, alter and drop) and the cluster view
//! (every worker report). For each catalog whose current version some worker holds, it opens the
//! catalog on the coordinator, by the path workers load catalogs by
//! ([`catalog_open`](crate::catalog_open)) less the plugin's `validate` (planning and metadata run here; splits run on the workers, see
//! `distributed_session.rs`) and sets it in the engine. During an alter the previous generation
//! stays queryable until a worker holds the new one; a query already running keeps the
//! generation it started with.
//!
//! A catalog the coordinator cannot open is not queryable: it is recorded in
//! [`CoordinatorOpenFailures`](crate::coordinator::sql::coordinator_open_failures), so its
//! status reads `failed` with the reason, and retried after 1 s, 2 s, 4 s … up to a minute.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use quarry_runtime::Connector;
use quarry_sql::QuarryCatalogs;

use crate::catalog_open::{CatalogToOpen, OpeningHost, open};
use crate::coordinator::sql::coordinator_scan_sources::CoordinatorScans;
use crate::coordinator::state::AppState;
use crate::coordinator::sync::desired_state::DesiredState;
use crate::sync_protocol::{CatalogAssignment, CatalogVersion};

/// Runs until `shutdown` resolves.
pub async fn keep_queryable(state: AppState, shutdown: impl Future<Output = ()>) {
    let catalogs = state.engine().catalogs().clone();
    let mut desired = state.sync().desired();
    let mut view_changes = state.sync().view().subscribe();
    let mut opened: HashMap<String, CatalogVersion> = HashMap::new();
    let mut failed: HashMap<String, OpenFailure> = HashMap::new();
    tokio::pin!(shutdown);
    loop {
        let wanted = desired.borrow_and_update().clone();
        view_changes.mark_unchanged();
        reconcile(&state, &catalogs, &wanted, &mut opened, &mut failed).await;
        // Wake for the next retry of a catalog that failed to open, if any.
        let next_retry = failed.values().map(|failure| failure.retry_at).min();
        let retry = async {
            match next_retry {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = desired.changed() => if changed.is_err() { return },
            changed = view_changes.changed() => if changed.is_err() { return },
            () = retry => {}
            () = &mut shutdown => return,
        }
    }
}

async fn reconcile(
    state: &AppState,
    catalogs: &QuarryCatalogs,
    desired: &DesiredState,
    opened: &mut HashMap<String, CatalogVersion>,
    failed: &mut HashMap<String, OpenFailure>,
) {
    opened.retain(|name, _| {
        let keep = desired.catalogs.contains_key(name);
        if !keep {
            catalogs.remove_catalog(name);
            tracing::info!(catalog = %name, "catalog dropped from SQL");
        }
        keep
    });
    failed.retain(|name, failure| {
        let current = desired.catalogs.get(name).map(|a| a.version) == Some(failure.version);
        if !current {
            state.open_failures().clear(name);
        }
        current
    });
    let view = state.sync().view();
    let now = tokio::time::Instant::now();
    for assignment in desired.catalogs.values() {
        let name = &assignment.name;
        if opened.get(name) == Some(&assignment.version)
            || failed
                .get(name)
                .is_some_and(|failure| failure.retry_at > now)
        {
            continue;
        }
        if view.holders(name, assignment.version).is_empty() {
            continue;
        }
        match open_on_coordinator(state, assignment).await {
            Ok(connector) => {
                // A new incarnation may restart at a generation the engine already has.
                catalogs.remove_catalog(name);
                catalogs.set_catalog(
                    name,
                    assignment.version,
                    connector,
                    CoordinatorScans::split_source(),
                );
                opened.insert(name.clone(), assignment.version);
                failed.remove(name);
                state.open_failures().clear(name);
                tracing::info!(catalog = %name, generation = assignment.version.generation,
                    "catalog queryable");
            }
            Err(reason) => {
                let attempts = failed.get(name).map_or(0, |failure| failure.attempts) + 1;
                let wait = retry_wait(attempts);
                tracing::warn!(catalog = %name, generation = assignment.version.generation,
                    %reason, attempts, retry_in = ?wait,
                    "catalog cannot be opened on the coordinator: not queryable, status failed");
                state
                    .open_failures()
                    .record(name, assignment.version.generation, &reason);
                failed.insert(
                    name.clone(),
                    OpenFailure {
                        version: assignment.version,
                        attempts,
                        retry_at: now + wait,
                    },
                );
            }
        }
    }
}

/// A catalog the coordinator failed to open, and when to try again.
#[derive(Debug, Clone, Copy)]
struct OpenFailure {
    version: CatalogVersion,
    attempts: u32,
    retry_at: tokio::time::Instant,
}

/// 1 s after the first failure, doubling to at most a minute.
fn retry_wait(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// Opens `assignment` on the coordinator by the path workers load it by, without the plugin's
/// `validate` (it ran when the catalog was stored, and on the worker that holds it).
async fn open_on_coordinator(
    state: &AppState,
    assignment: &CatalogAssignment,
) -> Result<Connector, String> {
    let plugin = async {
        let (plugin_name, plugin_version) = assignment
            .plugin
            .split_once('@')
            .ok_or_else(|| format!("bad plugin reference \"{}\"", assignment.plugin))?;
        let plugin = state
            .store()
            .get_plugin(plugin_name, plugin_version)
            .await
            .map_err(|e| e.to_string())?;
        state
            .loaded_plugin(&plugin)
            .await
            .map_err(|e| e.to_string())
    };
    let host = OpeningHost {
        runtime: state.runtime(),
        env_var: &|var| state.env_var(var),
        name: "the coordinator",
    };
    open(&host, CatalogToOpen::assigned(assignment), plugin)
        .await
        .map_err(|error| error.to_string())
}
