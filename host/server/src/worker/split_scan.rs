//! `POST /v1/worker/scan`: reads one split through the catalog's connector held on this worker
//! and streams its batches back in the split-stream framing (`split_stream.rs`).
//!
//! The worker must hold the catalog at exactly the version the scan was planned with; any other
//! version answers 409 and the coordinator tries another worker. Then the 200 is sent at once and
//! the split is opened inside the stream (it may wait for an instance slot), with keep-alive
//! frames while it waits; from there a failure is an error frame naming the worker and the
//! reason. Dropping the response (the
//! coordinator cancelled the query or went away) drops the connector's stream, which stops the
//! plugin's reader and frees its instance.

use std::convert::Infallible;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use quarry_runtime::BatchStream;

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
    // The split is opened inside the response: waiting for an instance slot (admission) and
    // the plugin's `open-split` can take a while, and the coordinator must not mistake a queued
    // split for a dead worker. One frame per batch, then the end frame; or an error frame, after
    // which nothing follows. While nothing is ready (the split waits for a slot, is opening, or
    // the plugin works on a batch), a `K` frame every few seconds tells the coordinator this
    // worker is still at it (a stopped worker sends nothing, and the coordinator gives up on
    // it). The stream owns `active`: the split stops counting as running when the response is
    // dropped, finished or not.
    let opening: Opening =
        Box::pin(async move { connector.scan(request.request, request.split).await });
    let alive = tokio::time::interval_at(
        tokio::time::Instant::now() + split_stream::ALIVE_INTERVAL,
        split_stream::ALIVE_INTERVAL,
    );
    let frames = futures::stream::unfold(
        Some((Phase::Opening(opening), alive)),
        move |state_now| {
            let _running = &active;
            let state = state.clone();
            let here = here.clone();
            async move {
                let (mut phase, mut alive) = state_now?;
                let metrics = state.scan_metrics();
                let next = loop {
                    match &mut phase {
                        Phase::Opening(opening) => {
                            let opened = tokio::select! {
                                opened = opening => opened,
                                _ = alive.tick() => {
                                    return Some((Ok(split_stream::alive_frame()), Some((phase, alive))));
                                }
                            };
                            match opened {
                                Ok(batches) => phase = Phase::Reading(batches),
                                Err(error) => break Some(Err(error)),
                            }
                        }
                        Phase::Reading(batches) => {
                            tokio::select! {
                                next = batches.next() => break next,
                                _ = alive.tick() => {
                                    return Some((Ok(split_stream::alive_frame()), Some((phase, alive))));
                                }
                            }
                        }
                    }
                };
                alive.reset();
                let frame = match next {
                    None => return Some((Ok::<_, Infallible>(split_stream::end_frame()), None)),
                    Some(Ok(batch)) => match split_stream::batch_frame(&batch) {
                        Ok(frame) => {
                            metrics.sent(batch.num_rows(), frame.len());
                            return Some((Ok(frame), Some((phase, alive))));
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
        },
    );
    Ok((
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        Body::from_stream(frames),
    )
        .into_response())
}

/// The split being opened: waiting for an instance slot, then the plugin's `open-split`.
type Opening = std::pin::Pin<
    Box<dyn std::future::Future<Output = quarry_runtime::Result<BatchStream>> + Send>,
>;

/// Where a split scan is.
enum Phase {
    Opening(Opening),
    Reading(BatchStream),
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
