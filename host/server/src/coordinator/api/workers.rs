//! `/v1/workers`: the workers the coordinator knows (admin), and the calls workers make
//! themselves with the cluster secret: registering, heartbeats and goodbyes. Each of these wakes
//! the sync task when it changes who is alive, so a worker that comes back is brought up to date
//! at once rather than at the next tick.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use quarry_store::{Worker, WorkerState};
use serde::Serialize;

use crate::coordinator::api::catalogs::parse_json;
use crate::coordinator::api_error::{ApiError, ApiResult};
use crate::coordinator::state::AppState;
use crate::sync_protocol::RegisterWorker;

/// A list of workers.
#[derive(Debug, Serialize)]
pub struct WorkerList {
    pub workers: Vec<Worker>,
}

/// `GET /v1/workers`.
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<WorkerList>> {
    let workers = state.store().list_workers().await?;
    Ok(Json(WorkerList { workers }))
}

/// `POST /v1/workers`.
pub async fn register(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Worker>> {
    let request: RegisterWorker = parse_json(body)?;
    if !(request.address.starts_with("http://") || request.address.starts_with("https://")) {
        return Err(ApiError::BadRequest(format!(
            "invalid worker address \"{}\": expected a base URL like http://127.0.0.1:8081",
            request.address
        )));
    }
    let worker = state
        .store()
        .register_worker(&request.id, &request.address, request.started_at)
        .await?;
    tracing::info!(worker = %worker.id, address = %worker.address, "worker registered");
    state.sync().workers_changed();
    Ok(Json(worker))
}

/// `POST /v1/workers/{id}/heartbeat`.
pub async fn heartbeat(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let before = state.store().get_worker(&id).await?;
    state.store().worker_heartbeat(&id).await?;
    if before.state == WorkerState::Dead {
        tracing::info!(worker = %id, "worker is back");
        state.sync().workers_changed();
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/workers/{id}/goodbye`.
pub async fn goodbye(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.store().mark_worker_stopped(&id).await?;
    tracing::info!(worker = %id, "worker stopped");
    state.sync().workers_changed();
    Ok(StatusCode::NO_CONTENT)
}
