//! `/healthz` (the process answers), `/readyz` (the catalog database answers) and `/metrics`
//! (Prometheus text). None needs a token: load balancers and scrapers call them.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::api_error::{ApiError, ApiResult};
use crate::coordinator::metrics::{render, store_gauges};
use crate::coordinator::state::AppState;

/// `GET /healthz`.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: one small query against the store.
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    // Looking up a worker id that cannot exist is a query that touches the database and
    // returns nothing, whatever the size of the tables.
    match state.store().get_worker("readyz-probe").await {
        Ok(_) | Err(quarry_store::Error::NotFound { .. }) => Ok(Json(json!({
            "status": "ready",
            "database": state.store().backend_name(),
        }))),
        Err(error) => Err(ApiError::Unavailable(error.to_string())),
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let gauges = match store_gauges(&state).await {
        Ok(gauges) => Some(gauges),
        Err(error) => {
            tracing::warn!(%error, "metrics: the store did not answer");
            None
        }
    };
    (
        [(header::CONTENT_TYPE, crate::prometheus_text::CONTENT_TYPE)],
        render(
            state.http_metrics(),
            gauges.as_ref(),
            &state.sync().counts(),
            &state.query_metrics().counts(),
            state.runtime().call_gauges(),
        ),
    )
}
