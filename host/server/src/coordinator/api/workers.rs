//! `/v1/workers`: the workers the coordinator knows. Registration and heartbeats (the cluster
//! secret's side) come with the sync issue.

use axum::Json;
use axum::extract::State;
use quarry_store::Worker;
use serde::Serialize;

use crate::coordinator::api_error::ApiResult;
use crate::coordinator::state::AppState;

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
