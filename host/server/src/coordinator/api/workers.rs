//! `/v1/workers`: the workers the coordinator knows (admin), and the calls workers make
//! themselves with the cluster secret: registering, heartbeats and goodbyes. Each of these wakes
//! the sync task when it changes who is alive, so a worker that comes back is brought up to date
//! at once rather than at the next tick.
//!
//! Registrations and goodbyes are signed with the worker's own key
//! ([`crate::worker_identity`]): the cluster secret lets a caller in, the signature says which
//! worker it is, and a live worker's id cannot be registered with another key.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use quarry_store::{Worker, WorkerState};
use serde::Serialize;

use crate::api_error::{ApiError, ApiResult};
use crate::coordinator::api::catalogs::parse_json;
use crate::coordinator::state::AppState;
use crate::sync_protocol::{RegisterWorker, WorkerGoodbye};
use crate::worker_identity::{GOODBYE_SKEW_SECONDS, goodbye_message, registration_message, verify};

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
    let message = registration_message(
        &request.id,
        &request.address,
        request.started_at,
        &request.public_key,
    );
    if !verify(&request.public_key, &message, &request.signature) {
        tracing::warn!(worker = %request.id, address = %request.address, "worker registration with a bad signature refused");
        return Err(ApiError::BadRequest(format!(
            "the registration of worker \"{}\" is not signed by the key it names",
            request.id
        )));
    }
    let worker = state
        .store()
        .register_worker_with_key(
            &request.id,
            &request.address,
            request.started_at,
            Some(&request.public_key),
        )
        .await
        .inspect_err(|error| {
            if matches!(error, quarry_store::Error::Conflict(_)) {
                tracing::warn!(worker = %request.id, address = %request.address, "registration of a live worker's id with another key refused");
            }
        })?;
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
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<StatusCode> {
    let request: WorkerGoodbye = parse_json(body)?;
    let worker = state.store().get_worker(&id).await?;
    let skew = (Utc::now() - request.signed_at).num_seconds().abs();
    let signed = worker.public_key.as_deref().is_some_and(|key| {
        verify(
            key,
            &goodbye_message(&id, request.signed_at),
            &request.signature,
        )
    });
    if !signed || skew > GOODBYE_SKEW_SECONDS {
        tracing::warn!(worker = %id, "goodbye not signed by the worker's key (or too old) refused");
        return Err(ApiError::Forbidden(format!(
            "the goodbye of worker \"{id}\" is not signed by its key, or was signed more \
             than {GOODBYE_SKEW_SECONDS} s from now"
        )));
    }
    state.store().mark_worker_stopped(&id).await?;
    tracing::info!(worker = %id, "worker stopped");
    state.sync().workers_changed();
    Ok(StatusCode::NO_CONTENT)
}
