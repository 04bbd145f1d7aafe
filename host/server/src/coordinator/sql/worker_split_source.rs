//! [`WorkerSplitSource`]: reads a catalog version's splits from the workers that hold it, as
//! Arrow IPC over HTTP (`POST /v1/worker/scan`).
//!
//! Splits are spread over the holders in turn. A split that cannot be started on one worker
//! (unreachable, no answer within the request deadline, another version held, a server error)
//! is tried on the next holder. Once a worker has started sending a split, its loss fails the
//! query with an error naming the worker: rows already sent cannot be taken back, and a wrong
//! answer is worse than none. A worker that sends nothing, not even its keep-alive frame, for
//! `STALL_TIMEOUT` (stopped, hung, cut off) counts as lost.

use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use quarry_sql::{SplitSource, SplitTask};
use reqwest::StatusCode;

use crate::coordinator::sync::cluster_view::{ClusterView, Holder};
use crate::coordinator::sync::worker_client::{WorkerCallError, WorkerClient};
use crate::split_stream::{Frame, FrameDecoder, STALL_TIMEOUT};
use crate::sync_protocol::{CatalogVersion, ScanSplit};

/// The split source of one catalog version.
#[derive(Debug)]
pub struct WorkerSplitSource {
    catalog: String,
    version: CatalogVersion,
    view: ClusterView,
    client: WorkerClient,
    next: AtomicUsize,
}

impl WorkerSplitSource {
    pub fn new(
        catalog: &str,
        version: CatalogVersion,
        view: ClusterView,
        client: WorkerClient,
    ) -> Self {
        WorkerSplitSource {
            catalog: catalog.to_owned(),
            version,
            view,
            client,
            next: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl SplitSource for WorkerSplitSource {
    async fn open(&self, task: &SplitTask) -> Result<SendableRecordBatchStream> {
        let mut holders = self.view.holders(&self.catalog, self.version);
        if holders.is_empty() {
            return Err(DataFusionError::Execution(format!(
                "catalog \"{}\": no live worker holds generation {} loaded (see GET /v1/catalogs/{})",
                self.catalog, self.version.generation, self.catalog
            )));
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % holders.len();
        holders.rotate_left(start);
        let request = ScanSplit {
            catalog: self.catalog.clone(),
            version: self.version,
            request: task.request.clone(),
            split: task.split.clone(),
        };
        let mut failures = Vec::new();
        for holder in holders {
            match self.client.scan(&holder.address, &request).await {
                Ok(response) => {
                    tracing::debug!(catalog = %self.catalog, worker = %holder.worker, "split started");
                    return Ok(batches(response, holder, task.schema.clone()));
                }
                Err(error) if !worth_retrying(&error) => {
                    return Err(DataFusionError::Execution(describe(&holder, &error)));
                }
                Err(error) => {
                    tracing::warn!(catalog = %self.catalog, worker = %holder.worker, %error,
                        "split could not start; trying the next worker");
                    failures.push(describe(&holder, &error));
                }
            }
        }
        Err(DataFusionError::Execution(format!(
            "catalog \"{}\": no worker could start the split: {}",
            self.catalog,
            failures.join("; ")
        )))
    }
}

/// A refusal that another worker would repeat (a bad request, a plugin error, a rejected
/// secret) is not retried; a worker that is gone, slow, at another version or broken is.
fn worth_retrying(error: &WorkerCallError) -> bool {
    match error {
        WorkerCallError::Refused { status, .. } => {
            *status == StatusCode::CONFLICT || status.is_server_error()
        }
        _ => true,
    }
}

fn describe(holder: &Holder, error: &WorkerCallError) -> String {
    match error {
        // The worker's message already names it and the catalog.
        WorkerCallError::Refused { body, .. } => body.clone(),
        other => format!("worker \"{}\": {other}", holder.worker),
    }
}

/// The batches of a started split, decoded as they arrive.
fn batches(
    response: reqwest::Response,
    holder: Holder,
    schema: SchemaRef,
) -> SendableRecordBatchStream {
    let state = Some((response, FrameDecoder::default()));
    let stream = futures::stream::unfold(state, move |state| {
        let holder = holder.clone();
        async move {
            let (mut response, mut decoder) = state?;
            loop {
                match decoder.next_frame() {
                    Ok(Some(Frame::Batch(batch))) => {
                        return Some((Ok::<RecordBatch, _>(batch), Some((response, decoder))));
                    }
                    Ok(Some(Frame::Failed(reason))) => {
                        return Some((Err(DataFusionError::Execution(reason)), None));
                    }
                    Ok(Some(Frame::End)) => return None,
                    Ok(None) => {}
                    Err(error) => return Some((Err(lost(&holder, &error)), None)),
                }
                let chunk = tokio::time::timeout(STALL_TIMEOUT, response.chunk()).await;
                let Ok(chunk) = chunk else {
                    let silent = format!(
                        "it sent nothing for {STALL_TIMEOUT:?}, not even a keep-alive: stalled \
                         or stopped"
                    );
                    return Some((Err(lost(&holder, &silent)), None));
                };
                match chunk {
                    Ok(Some(chunk)) => decoder.push(&chunk),
                    Ok(None) => {
                        return decoder
                            .finish()
                            .err()
                            .map(|error| (Err(lost(&holder, &error)), None));
                    }
                    Err(error) => return Some((Err(lost(&holder, &error)), None)),
                }
            }
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}

fn lost(holder: &Holder, error: &dyn std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!(
        "worker \"{}\" ({}) was lost while sending a split ({error}); the query failed rather \
         than return a partial answer",
        holder.worker, holder.address
    ))
}
