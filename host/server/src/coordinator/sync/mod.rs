//! The sync task: every catalog on every live worker, pushed on change and reconciled
//! periodically (docs/architecture.md; ADR 0010 for push and reconcile, ADR 0013 for retries).
//!
//! [`SyncTask`] is a handle the API calls when catalogs or workers change. Its loop
//! ([`SyncTask::run`]) reloads the desired state from the store when catalogs change (and every
//! interval), marks workers that missed heartbeats dead, and keeps one syncer task per live worker
//! (`worker_syncer.rs`), which also retries failed loads (`load_retries.rs`). The desired state
//! reaches the syncers over a `watch` channel, so a burst of changes coalesces into one push of the
//! latest state, and a hung worker holds up only its own syncer. The syncers call workers through
//! [`WorkerClient`](worker_client::WorkerClient) with the messages of
//! [`sync_protocol`](crate::sync_protocol), built from the store's rows by [`wire_conversions`].

pub mod cluster_view;
pub mod desired_state;
pub mod load_retries;
pub mod sync_metrics;
pub mod wire_conversions;
pub mod worker_client;
mod worker_syncer;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use quarry_store::{Store, WorkerState};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::coordinator::sync::cluster_view::ClusterView;
use crate::coordinator::sync::desired_state::DesiredState;
use crate::coordinator::sync::sync_metrics::{SyncCounts, SyncMetrics};
use crate::coordinator::sync::worker_client::WorkerClient;
use crate::coordinator::sync::worker_syncer::Syncer;

/// How the sync task paces itself.
#[derive(Clone, Debug)]
pub struct SyncSettings {
    /// How often each worker is asked what it holds, and the desired state re-read.
    pub interval: Duration,
    /// Push changes at once; off, they wait for the next reconcile.
    pub push: bool,
    /// A worker silent this long is marked dead.
    pub heartbeat_timeout: Duration,
    /// The deadline of one call to a worker.
    pub request_timeout: Duration,
}

/// A handle on the sync task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SyncTask {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: SyncSettings,
    catalogs_changed: Notify,
    workers_changed: Notify,
    metrics: Arc<SyncMetrics>,
    /// The desired state, as last read from the store.
    desired: watch::Sender<Arc<DesiredState>>,
    /// What the live workers hold, as they last said.
    view: ClusterView,
}

/// A running syncer and the worker registration it serves.
struct RunningSyncer {
    address: String,
    started_at: DateTime<Utc>,
    task: JoinHandle<()>,
}

impl SyncTask {
    pub fn new(settings: SyncSettings) -> Self {
        SyncTask {
            inner: Arc::new(Inner {
                settings,
                catalogs_changed: Notify::new(),
                workers_changed: Notify::new(),
                metrics: Arc::new(SyncMetrics::default()),
                desired: watch::channel(Arc::new(DesiredState::default())).0,
                view: ClusterView::default(),
            }),
        }
    }

    /// A catalog was created, altered or deleted: push it now.
    pub fn catalogs_changed(&self) {
        if self.inner.settings.push {
            self.inner.catalogs_changed.notify_one();
        }
    }

    /// A worker registered, came back, or left: start or stop its syncer now.
    pub fn workers_changed(&self) {
        self.inner.workers_changed.notify_one();
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.inner.settings
    }

    /// What the live workers hold.
    pub fn view(&self) -> &ClusterView {
        &self.inner.view
    }

    /// The desired state, updated whenever the store's catalogs change.
    pub fn desired(&self) -> watch::Receiver<Arc<DesiredState>> {
        self.inner.desired.subscribe()
    }

    /// The sync counters so far.
    pub fn counts(&self) -> SyncCounts {
        self.inner.metrics.snapshot()
    }

    /// Runs the loop until `shutdown` resolves; then stops every syncer.
    pub async fn run(
        self,
        store: Store,
        http: reqwest::Client,
        cluster_secret: Option<String>,
        shutdown: impl Future<Output = ()>,
    ) {
        let settings = self.inner.settings.clone();
        let client = WorkerClient::new(http, cluster_secret, settings.request_timeout);
        let desired_tx = &self.inner.desired;
        let mut syncers: HashMap<String, RunningSyncer> = HashMap::new();
        let started = Instant::now();
        // Membership is checked often enough to notice a dead worker within half a timeout.
        let tick = (settings.heartbeat_timeout / 2)
            .min(settings.interval)
            .max(Duration::from_millis(50));
        let mut reload = true;
        let mut loaded_at = Instant::now();
        tokio::pin!(shutdown);
        loop {
            if reload || loaded_at.elapsed() >= settings.interval {
                match DesiredState::load(&store).await {
                    Ok(desired) => {
                        loaded_at = Instant::now();
                        desired_tx.send_if_modified(|current| {
                            if **current == desired {
                                return false;
                            }
                            *current = Arc::new(desired);
                            true
                        });
                    }
                    Err(error) => tracing::warn!(%error, "cannot read the desired state"),
                }
            }
            // A coordinator that just started gives workers one timeout to say they are alive.
            if started.elapsed() >= settings.heartbeat_timeout {
                match store.mark_dead_workers(settings.heartbeat_timeout).await {
                    Ok(dead) => {
                        self.inner.metrics.marked_dead(dead.len());
                        for id in dead {
                            tracing::warn!(worker = %id, timeout = ?settings.heartbeat_timeout,
                                "worker missed its heartbeats: marked dead");
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot mark dead workers"),
                }
            }
            match store.list_workers().await {
                Ok(workers) => {
                    let alive: HashMap<_, _> = workers
                        .into_iter()
                        .filter(|w| w.state == WorkerState::Alive)
                        .map(|w| (w.id.clone(), w))
                        .collect();
                    syncers.retain(|id, running| {
                        let keep = alive.get(id).is_some_and(|w| {
                            w.address == running.address
                                && w.started_at == running.started_at
                                && !running.task.is_finished()
                        });
                        if !keep {
                            running.task.abort();
                            self.inner.view.forget(id);
                        }
                        keep
                    });
                    for (id, worker) in alive {
                        if syncers.contains_key(&id) {
                            continue;
                        }
                        let syncer = Syncer {
                            worker: worker.clone(),
                            store: store.clone(),
                            client: client.clone(),
                            desired: desired_tx.subscribe(),
                            interval: settings.interval,
                            metrics: self.inner.metrics.clone(),
                            view: self.inner.view.clone(),
                        };
                        syncers.insert(
                            id,
                            RunningSyncer {
                                address: worker.address.clone(),
                                started_at: worker.started_at,
                                task: tokio::spawn(syncer.run()),
                            },
                        );
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot list workers"),
            }
            reload = tokio::select! {
                () = self.inner.catalogs_changed.notified() => true,
                () = self.inner.workers_changed.notified() => false,
                () = tokio::time::sleep(tick) => false,
                () = &mut shutdown => break,
            };
        }
        for (id, running) in syncers {
            running.task.abort();
            self.inner.view.forget(&id);
        }
    }
}
