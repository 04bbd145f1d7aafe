//! One worker's syncer: a task per live worker that keeps it at the desired state.
//!
//! It wakes on every change of the desired state (a push: create, alter and delete reach the
//! worker at once) and on its own reconcile tick (it asks the worker what it holds and sends the
//! difference, repairing whatever a push missed). It records what the worker reports in the
//! store, where catalog status is derived from. A catalog that failed to load is sent again on
//! a backoff schedule (`load_retries.rs`). One task per worker means a slow or hung worker
//! delays only itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use quarry_store::{CatalogReport, Store, Worker};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::coordinator::sync::cluster_view::ClusterView;
use crate::coordinator::sync::desired_state::{DesiredState, diff};
use crate::coordinator::sync::load_retries::LoadRetries;
use crate::coordinator::sync::sync_metrics::SyncMetrics;
use crate::coordinator::sync::worker_client::{WorkerCallError, WorkerClient};
use crate::sync_protocol::{CatalogVersion, HeldCatalog, HeldState, LoadState, SyncRequest};

/// Loads per sync request: bounds the request size and lets reports flow in while a worker
/// loads thousands of catalogs.
const LOADS_PER_REQUEST: usize = 256;
/// The first retry delay after a failed call; doubled up to the reconcile interval.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// What the syncer needs.
pub(crate) struct Syncer {
    pub worker: Worker,
    pub store: Store,
    pub client: WorkerClient,
    pub desired: watch::Receiver<Arc<DesiredState>>,
    pub interval: Duration,
    pub metrics: Arc<SyncMetrics>,
    pub view: ClusterView,
}

/// What the worker holds, as it last said.
struct HeldView {
    instance: String,
    ready: bool,
    catalogs: HashMap<String, HeldCatalog>,
}

impl From<HeldState> for HeldView {
    fn from(state: HeldState) -> Self {
        HeldView {
            instance: state.instance,
            ready: state.ready,
            catalogs: state
                .catalogs
                .into_iter()
                .map(|c| (c.name.clone(), c))
                .collect(),
        }
    }
}

/// What was last written to the store for one catalog on this worker.
type Recorded = (CatalogVersion, LoadState, Option<String>);

impl Syncer {
    /// Runs until the coordinator drops the desired-state channel or aborts the task.
    pub async fn run(mut self) {
        let id = self.worker.id.clone();
        let address = self.worker.address.clone();
        tracing::debug!(worker = %id, %address, "syncer started");
        let mut held: Option<HeldView> = None;
        let mut recorded: HashMap<String, Recorded> = HashMap::new();
        let mut retries = LoadRetries::new(self.interval);
        let mut next_reconcile = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let desired = self.desired.borrow_and_update().clone();
            match self
                .sync_once(
                    &desired,
                    &mut held,
                    &mut recorded,
                    &mut retries,
                    &mut next_reconcile,
                )
                .await
            {
                Ok(()) => backoff = FIRST_BACKOFF,
                Err(error) => {
                    held = None;
                    self.view.forget(&id);
                    if !matches!(error, WorkerCallError::WrongInstance { .. }) {
                        self.metrics.worker_call_failed();
                        tracing::warn!(worker = %id, %error, retry_in = ?backoff, "sync failed");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(self.interval.max(FIRST_BACKOFF));
                    }
                    continue;
                }
            }
            tokio::select! {
                changed = self.desired.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = tokio::time::sleep_until(next_reconcile) => {}
            }
        }
    }

    /// Brings the worker to `desired`: asks what it holds if that is unknown or the reconcile
    /// tick is due, then sends the difference in batches.
    async fn sync_once(
        &self,
        desired: &DesiredState,
        held: &mut Option<HeldView>,
        recorded: &mut HashMap<String, Recorded>,
        retries: &mut LoadRetries,
        next_reconcile: &mut Instant,
    ) -> Result<(), WorkerCallError> {
        let address = &self.worker.address;
        if held.is_none() || Instant::now() >= *next_reconcile {
            let state = self.client.held(address).await?;
            *next_reconcile = Instant::now() + self.interval;
            self.view.record(&self.worker.id, address, &state);
            let view = HeldView::from(state);
            self.record(desired, &view, recorded).await;
            *held = Some(view);
        }
        let Some(view) = held.as_ref() else {
            return Ok(());
        };
        let now = Instant::now();
        retries.observe(&view.catalogs, now);
        let (loads, unloads) = diff(desired, &view.catalogs, |h| retries.is_due(h, now));
        for load in &loads {
            if let Some(failed) = view.catalogs.get(&load.name)
                && failed.version == load.version
            {
                let attempt = retries.sent(&load.name, now);
                tracing::info!(
                    worker = %self.worker.id,
                    catalog = %load.name,
                    generation = load.version.generation,
                    attempt,
                    last_error = failed.error.as_deref().unwrap_or(""),
                    "retrying a failed catalog load"
                );
            }
        }
        if loads.is_empty() && unloads.is_empty() && view.ready {
            return Ok(());
        }
        let instance = view.instance.clone();
        let started = Instant::now();
        let load_count = loads.len();
        let mut batches: Vec<SyncRequest> = loads
            .chunks(LOADS_PER_REQUEST)
            .map(|chunk| SyncRequest {
                instance: instance.clone(),
                loads: chunk.to_vec(),
                ..SyncRequest::default()
            })
            .collect();
        if batches.is_empty() {
            batches.push(SyncRequest {
                instance: instance.clone(),
                ..SyncRequest::default()
            });
        }
        if let Some(first) = batches.first_mut() {
            first.unloads = unloads;
        }
        if let Some(last) = batches.last_mut() {
            last.complete = true;
        }
        for request in &batches {
            let state = self.client.sync(address, request).await?;
            self.view.record(&self.worker.id, address, &state);
            let view = HeldView::from(state);
            self.record(desired, &view, recorded).await;
            *held = Some(view);
        }
        self.metrics.synced(load_count, started.elapsed());
        tracing::debug!(
            worker = %self.worker.id,
            loads = load_count,
            took = ?started.elapsed(),
            "worker synced"
        );
        Ok(())
    }

    /// Writes to the store what the worker holds at the desired version, where it changed, in
    /// one transaction.
    async fn record(
        &self,
        desired: &DesiredState,
        view: &HeldView,
        recorded: &mut HashMap<String, Recorded>,
    ) {
        recorded.retain(|name, _| view.catalogs.contains_key(name));
        let changed: Vec<&HeldCatalog> = view
            .catalogs
            .values()
            .filter(|catalog| {
                desired
                    .catalogs
                    .get(&catalog.name)
                    .is_some_and(|wanted| wanted.version == catalog.version)
            })
            .filter(|catalog| {
                recorded.get(&catalog.name)
                    != Some(&(catalog.version, catalog.state, catalog.error.clone()))
            })
            .collect();
        if changed.is_empty() {
            return;
        }
        for catalog in changed.iter().filter(|c| c.state == LoadState::Failed) {
            tracing::warn!(
                worker = %self.worker.id,
                catalog = %catalog.name,
                generation = catalog.version.generation,
                error = catalog.error.as_deref().unwrap_or(""),
                "catalog failed to load on worker"
            );
            self.metrics.load_failed();
        }
        let reports: Vec<CatalogReport<'_>> = changed
            .iter()
            .map(|catalog| CatalogReport {
                catalog: &catalog.name,
                generation: catalog.version.generation,
                state: catalog.state.into(),
                error: catalog.error.as_deref(),
            })
            .collect();
        match self
            .store
            .report_catalog_states(&self.worker.id, &reports)
            .await
        {
            Ok(_) => {
                for catalog in changed {
                    recorded.insert(
                        catalog.name.clone(),
                        (catalog.version, catalog.state, catalog.error.clone()),
                    );
                }
            }
            Err(error) => {
                tracing::warn!(worker = %self.worker.id, %error, "cannot record the worker's reports");
            }
        }
    }
}
