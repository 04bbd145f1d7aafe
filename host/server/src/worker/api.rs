//! The worker's HTTP endpoint. The coordinator calls it with the cluster secret:
//! `GET /v1/worker/catalogs` (what is held) and `POST /v1/worker/sync` (loads and unloads).
//! Query stages come to the execution service instead (`execution_service.rs`).
//! `/healthz` says the process is up; `/readyz` answers 200 only once the worker holds the whole
//! desired state; `/metrics` counts held catalogs and where compiled plugin code came from.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tower_http::trace::TraceLayer;

use crate::api_error::{ApiError, ApiResult};
use crate::sync_protocol::{HeldState, LoadState, SyncRequest};
use crate::worker::state::WorkerState;

/// A sync carries at most a few hundred catalog definitions; this leaves ample room.
const MAX_SYNC_BODY: usize = 64 * 1024 * 1024;

/// The worker's routes.
pub fn router(state: WorkerState) -> Router {
    let cluster = Router::new()
        .route("/v1/worker/catalogs", get(held))
        .route("/v1/worker/sync", post(sync))
        .layer(DefaultBodyLimit::max(MAX_SYNC_BODY))
        .route_layer(from_fn_with_state(state.clone(), require_cluster));
    Router::new()
        .merge(cluster)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::RouteNotFound("no such worker endpoint".to_owned()) })
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn require_cluster(
    State(state): State<WorkerState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    state.cluster_secret().check(request.headers())?;
    Ok(next.run(request).await)
}

/// `GET /v1/worker/catalogs`.
async fn held(State(state): State<WorkerState>) -> Json<HeldState> {
    Json(state.held_state())
}

/// `POST /v1/worker/sync`.
async fn sync(
    State(state): State<WorkerState>,
    Json(request): Json<SyncRequest>,
) -> ApiResult<Json<HeldState>> {
    Ok(Json(state.apply_sync(request).await?))
}

async fn healthz(State(state): State<WorkerState>) -> Json<Value> {
    Json(json!({ "status": "ok", "worker": state.id() }))
}

async fn readyz(State(state): State<WorkerState>) -> Result<Json<Value>, ApiError> {
    if state.is_ready() {
        Ok(Json(json!({
            "status": "ready",
            "worker": state.id(),
            "catalogs": state.held().len(),
        })))
    } else {
        Err(ApiError::Unavailable(format!(
            "worker \"{}\" has not received the coordinator's full catalog state yet",
            state.id()
        )))
    }
}

/// `GET /metrics`, Prometheus text.
async fn metrics(
    State(state): State<WorkerState>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let held = state.held().snapshot();
    let loaded = held.iter().filter(|c| c.state == LoadState::Loaded).count();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::prometheus_text::CONTENT_TYPE,
        )],
        crate::worker::metrics::render(
            loaded,
            held.len() - loaded,
            state.is_ready(),
            state.runtime().cache_stats(),
            state.runtime().call_gauges(),
            &state.scan_metrics().snapshot(),
        ),
    )
}
