//! `POST /v1/worker/scan`: reads one split through the catalog's connector held on this worker
//! and streams its batches back in the split-stream framing (`split_stream.rs`).
//!
//! The worker must hold the catalog at exactly the version the scan was planned with; any other
//! version answers 409 and the coordinator tries another worker. Once the 200 is sent, a failure
//! becomes an error frame naming the worker and the reason. Dropping the response (the
//! coordinator cancelled the query or went away) drops the connector's stream, which stops the
//! plugin's reader and frees its instance.

use std::convert::Infallible;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use crate::coordinator::api_error::ApiError;
use crate::split_stream::{self, CONTENT_TYPE};
use crate::sync_protocol::ScanSplit;
use crate::worker::state::WorkerState;

/// `POST /v1/worker/scan`.
pub async fn scan(
    State(state): State<WorkerState>,
    Json(request): Json<ScanSplit>,
) -> Result<Response, ApiError> {
    let metrics = state.scan_metrics();
    let Some((version, connector)) = state.held().connector(&request.catalog) else {
        metrics.failed("refused", false);
        return Err(ApiError::Conflict(format!(
            "worker \"{}\" does not hold catalog \"{}\" loaded",
            state.id(),
            request.catalog
        )));
    };
    if version != request.version {
        metrics.failed("refused", false);
        return Err(ApiError::Conflict(format!(
            "worker \"{}\" holds catalog \"{}\" at generation {} (incarnation {}), \
             not generation {} (incarnation {})",
            state.id(),
            request.catalog,
            version.generation,
            version.incarnation,
            request.version.generation,
            request.version.incarnation
        )));
    }
    let active = ActiveSplit::start(state.clone());
    tracing::debug!(
        catalog = %request.catalog,
        schema = %request.request.schema,
        table = %request.request.table,
        projection = ?request.request.projection,
        limit = ?request.request.limit,
        "split scan"
    );
    let here = format!(
        "worker \"{}\", catalog \"{}\", table {}.{}",
        state.id(),
        request.catalog,
        request.request.schema,
        request.request.table
    );
    let batches = match connector.scan(request.request, request.split).await {
        Ok(batches) => batches,
        Err(error) => {
            metrics.failed(error.kind(), error.is_sandbox_limit());
            return Err(scan_error(&here, &error));
        }
    };
    // One frame per batch, then the end frame; or an error frame, after which nothing follows.
    // The stream owns `active`: the split stops counting as running when the response is
    // dropped, finished or not.
    // While no batch is ready, a `K` frame every few seconds tells the coordinator this worker
    // is still at it (a stopped worker sends nothing, and the coordinator gives up on it).
    let alive = tokio::time::interval_at(
        tokio::time::Instant::now() + split_stream::ALIVE_INTERVAL,
        split_stream::ALIVE_INTERVAL,
    );
    let frames = futures::stream::unfold(Some((batches, alive)), move |reading| {
        let _running = &active;
        let state = state.clone();
        let here = here.clone();
        async move {
            let (mut batches, mut alive) = reading?;
            let metrics = state.scan_metrics();
            let next = tokio::select! {
                next = batches.next() => next,
                _ = alive.tick() => {
                    return Some((Ok(split_stream::alive_frame()), Some((batches, alive))));
                }
            };
            alive.reset();
            let frame = match next {
                None => return Some((Ok::<_, Infallible>(split_stream::end_frame()), None)),
                Some(Ok(batch)) => match split_stream::batch_frame(&batch) {
                    Ok(frame) => {
                        metrics.sent(batch.num_rows(), frame.len());
                        return Some((Ok(frame), Some((batches, alive))));
                    }
                    Err(error) => {
                        metrics.failed("encode", false);
                        split_stream::error_frame(&format!("{here}: cannot encode: {error}"))
                    }
                },
                Some(Err(error)) => {
                    metrics.failed(error.kind(), error.is_sandbox_limit());
                    tracing::warn!(%here, %error, "split scan failed");
                    split_stream::error_frame(&format!("{here}: {error}"))
                }
            };
            Some((Ok(frame), None))
        }
    });
    Ok((
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        Body::from_stream(frames),
    )
        .into_response())
}

/// Counts a split as running from its start until it is dropped.
struct ActiveSplit(WorkerState);

impl ActiveSplit {
    fn start(state: WorkerState) -> ActiveSplit {
        state.scan_metrics().split_started();
        ActiveSplit(state)
    }
}

impl Drop for ActiveSplit {
    fn drop(&mut self) {
        self.0.scan_metrics().split_ended();
    }
}

fn scan_error(here: &str, error: &quarry_runtime::Error) -> ApiError {
    use quarry_runtime::Error as E;
    let message = format!("{here}: {error}");
    match error {
        E::InvalidRequest { .. } => ApiError::BadRequest(message),
        _ => ApiError::PluginFailed(message),
    }
}
