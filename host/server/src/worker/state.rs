//! [`WorkerState`]: what the worker's handlers and background tasks share: its identity, the
//! runtime, the held catalogs, the plugin fetcher and whether it is ready.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use quarry_runtime::Runtime;

use crate::api_error::ApiError;
use crate::catalog_properties::EnvLookup;
use crate::env_allow_list::EnvAllowList;
use crate::expected_token::ExpectedToken;
use crate::sync_protocol::{CatalogAssignment, HeldState, SyncRequest};
use crate::worker::catalog_loader::load_catalog;
use crate::worker::coordinator_link::CoordinatorLink;
use crate::worker::held_catalogs::HeldCatalogs;
use crate::worker::plugin_fetch::PluginFetcher;
use crate::worker::scan_metrics::ScanMetrics;
use crate::worker_identity::WorkerKey;

/// The worker's shared state. Cheap to clone.
#[derive(Clone, Debug)]
pub struct WorkerState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: String,
    started_at: DateTime<Utc>,
    instance: String,
    runtime: Runtime,
    link: CoordinatorLink,
    plugins: PluginFetcher,
    held: HeldCatalogs,
    ready: AtomicBool,
    cluster_secret: ExpectedToken,
    /// The secret itself, for this worker's calls to other workers' execution services.
    cluster_secret_value: Option<String>,
    /// Where this worker serves query execution.
    execution_address: Option<String>,
    environment: Option<BTreeMap<String, String>>,
    env_allow: EnvAllowList,
    /// The worker's identity key: signs its registration and goodbye.
    key: Arc<WorkerKey>,
    load_concurrency: usize,
    /// Serialises syncs: two overlapping syncs would interleave their loads.
    sync_lock: tokio::sync::Mutex<()>,
    scan_metrics: ScanMetrics,
}

/// What [`WorkerState::new`] needs.
#[derive(Debug)]
pub struct WorkerParts {
    pub id: String,
    pub runtime: Runtime,
    pub link: CoordinatorLink,
    pub components_dir: std::path::PathBuf,
    pub cluster_secret: Option<String>,
    pub environment: Option<BTreeMap<String, String>>,
    pub env_allow: EnvAllowList,
    pub key: Arc<WorkerKey>,
    pub load_concurrency: usize,
    /// Where this worker serves query execution, as the coordinator should reach it.
    pub execution_address: Option<String>,
}

impl WorkerState {
    pub fn new(parts: WorkerParts) -> Self {
        let started_at = Utc::now();
        WorkerState {
            inner: Arc::new(Inner {
                instance: started_at.to_rfc3339(),
                started_at,
                plugins: PluginFetcher::new(
                    parts.runtime.clone(),
                    parts.link.clone(),
                    parts.components_dir,
                ),
                id: parts.id,
                runtime: parts.runtime,
                link: parts.link,
                held: HeldCatalogs::default(),
                ready: AtomicBool::new(false),
                cluster_secret: ExpectedToken::new(
                    parts.cluster_secret.as_deref(),
                    "cluster secret",
                ),
                cluster_secret_value: parts.cluster_secret,
                execution_address: parts.execution_address,
                environment: parts.environment,
                env_allow: parts.env_allow,
                key: parts.key,
                load_concurrency: parts.load_concurrency.max(1),
                sync_lock: tokio::sync::Mutex::new(()),
                scan_metrics: ScanMetrics::default(),
            }),
        }
    }

    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The worker's identity key.
    pub fn key(&self) -> &WorkerKey {
        &self.inner.key
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.inner.started_at
    }

    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    pub fn link(&self) -> &CoordinatorLink {
        &self.inner.link
    }

    pub(crate) fn plugins(&self) -> &PluginFetcher {
        &self.inner.plugins
    }

    /// What split scans did on this worker.
    pub fn scan_metrics(&self) -> &ScanMetrics {
        &self.inner.scan_metrics
    }

    /// The cluster secret, for this worker's calls to other workers.
    pub(crate) fn cluster_secret_value(&self) -> Option<&str> {
        self.inner.cluster_secret_value.as_deref()
    }

    pub fn held(&self) -> &HeldCatalogs {
        &self.inner.held
    }

    pub(crate) fn cluster_secret(&self) -> &ExpectedToken {
        &self.inner.cluster_secret
    }

    /// True once the worker has applied a complete sync from the coordinator.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Acquire)
    }

    /// The value of `name` for `${ENV:NAME}` references.
    pub(crate) fn env_var(&self, name: &str) -> EnvLookup {
        self.inner
            .env_allow
            .lookup(name, self.inner.environment.as_ref())
    }

    /// What this worker holds, for the coordinator.
    pub fn held_state(&self) -> HeldState {
        HeldState {
            worker_id: self.inner.id.clone(),
            instance: self.inner.instance.clone(),
            ready: self.is_ready(),
            execution_address: self.inner.execution_address.clone(),
            catalogs: self.inner.held.snapshot(),
        }
    }

    /// Applies a sync from the coordinator: unloads, then loads (a few at a time), then, if the
    /// sync was complete, becomes ready. 409 if it was computed for another process.
    pub async fn apply_sync(&self, request: SyncRequest) -> Result<HeldState, ApiError> {
        if request.instance != self.inner.instance {
            return Err(ApiError::Conflict(format!(
                "this sync was computed for worker instance {}, but this is instance {}",
                request.instance, self.inner.instance
            )));
        }
        let _one_at_a_time = self.inner.sync_lock.lock().await;
        let held = &self.inner.held;
        for unload in &request.unloads {
            if held.unload(&unload.name, unload.version) {
                tracing::info!(catalog = %unload.name, "catalog unloaded");
            }
        }
        let pending: Vec<CatalogAssignment> = request
            .loads
            .into_iter()
            .filter(|a| !held.is_settled_at(&a.name, a.version))
            .collect();
        let mut loads = futures::stream::iter(pending)
            .map(|assignment| {
                let state = self.clone();
                async move {
                    let outcome = load_catalog(&state, &assignment).await;
                    (assignment, outcome)
                }
            })
            .buffer_unordered(self.inner.load_concurrency);
        while let Some((assignment, outcome)) = loads.next().await {
            match &outcome {
                Ok(_) => tracing::info!(
                    catalog = %assignment.name,
                    plugin = %assignment.plugin,
                    generation = assignment.version.generation,
                    "catalog loaded"
                ),
                Err(error) => tracing::warn!(
                    catalog = %assignment.name,
                    plugin = %assignment.plugin,
                    generation = assignment.version.generation,
                    %error,
                    "catalog failed to load"
                ),
            }
            held.record(&assignment.name, assignment.version, outcome);
        }
        if request.complete && !self.inner.ready.swap(true, Ordering::AcqRel) {
            tracing::info!(
                catalogs = held.len(),
                "worker ready: in sync with the coordinator"
            );
        }
        Ok(self.held_state())
    }
}
