//! [`WorkerSplitSource`]: reads a catalog version's splits from the workers that hold it, as
//! Arrow IPC over HTTP (`POST /v1/worker/scan`).
//!
//! Splits are spread over the holders in turn. A split that cannot be started on one worker
//! (unreachable, no answer within the request deadline, another version held, a server error),
//! or whose worker is lost before it sent the split's first batch, is tried on the next holder.
//! Once a worker has sent rows of a split, its loss fails the query with an error naming the
//! worker: rows already sent cannot be taken back, and a wrong answer is worse than none. A worker that sends nothing, not even its keep-alive frame, for
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
            let response = match self.client.scan(&holder.address, &request).await {
                Ok(response) => response,
                Err(error) if !worth_retrying(&error) => {
                    return Err(DataFusionError::Execution(describe(&holder, &error)));
                }
                Err(error) => {
                    tracing::warn!(catalog = %self.catalog, worker = %holder.worker, %error,
                        "split could not start; trying the next worker");
                    failures.push(describe(&holder, &error));
                    continue;
                }
            };
            tracing::debug!(catalog = %self.catalog, worker = %holder.worker, "split started");
            // Until its first batch, the split has sent no row: a worker lost before then
            // (stopped, crashed, cut off) is replaced by the next holder.
            let mut reader = FrameReader::new(response, holder.clone());
            match reader.next().await {
                Read::Batch(batch) => return Ok(batches(Some(batch), reader, task.schema.clone())),
                Read::End => return Ok(batches(None, reader, task.schema.clone())),
                Read::Failed(reason) => return Err(DataFusionError::Execution(reason)),
                Read::Lost(reason) => {
                    tracing::warn!(catalog = %self.catalog, worker = %holder.worker,
                        %reason, "worker lost before the split's first row; trying the next worker");
                    failures.push(format!("worker \"{}\": {reason}", holder.worker));
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

/// One frame of a split's answer, as read.
enum Read {
    Batch(RecordBatch),
    End,
    /// The worker's own reason for failing the scan: another worker would say the same.
    Failed(String),
    /// The worker went away, stalled past `STALL_TIMEOUT`, or sent a broken body.
    Lost(String),
}

/// Reads a split's frames off a worker's response.
struct FrameReader {
    response: reqwest::Response,
    decoder: FrameDecoder,
    holder: Holder,
}

impl FrameReader {
    fn new(response: reqwest::Response, holder: Holder) -> Self {
        FrameReader {
            response,
            decoder: FrameDecoder::default(),
            holder,
        }
    }

    async fn next(&mut self) -> Read {
        loop {
            match self.decoder.next_frame() {
                Ok(Some(Frame::Batch(batch))) => return Read::Batch(batch),
                Ok(Some(Frame::Failed(reason))) => return Read::Failed(reason),
                Ok(Some(Frame::End)) => return Read::End,
                Ok(None) => {}
                Err(error) => return Read::Lost(error.to_string()),
            }
            let Ok(chunk) = tokio::time::timeout(STALL_TIMEOUT, self.response.chunk()).await else {
                return Read::Lost(format!(
                    "it sent nothing for {STALL_TIMEOUT:?}, not even a keep-alive: stalled or \
                     stopped"
                ));
            };
            match chunk {
                Ok(Some(chunk)) => self.decoder.push(&chunk),
                Ok(None) => {
                    return match self.decoder.finish() {
                        Ok(()) => Read::End,
                        Err(error) => Read::Lost(error.to_string()),
                    };
                }
                Err(error) => return Read::Lost(error.to_string()),
            }
        }
    }
}

/// The batches of a started split: `first` (already read), then the rest as they arrive. From
/// here a lost worker fails the query: rows already sent cannot be taken back.
fn batches(
    first: Option<RecordBatch>,
    reader: FrameReader,
    schema: SchemaRef,
) -> SendableRecordBatchStream {
    let ended = first.is_none();
    let state = (first, (!ended).then_some(reader));
    let stream = futures::stream::unfold(state, |(first, reader)| async move {
        if let Some(batch) = first {
            return Some((Ok::<RecordBatch, DataFusionError>(batch), (None, reader)));
        }
        let mut reader = reader?;
        match reader.next().await {
            Read::Batch(batch) => Some((Ok(batch), (None, Some(reader)))),
            Read::End => None,
            Read::Failed(reason) => Some((Err(DataFusionError::Execution(reason)), (None, None))),
            Read::Lost(reason) => Some((Err(lost(&reader.holder, &reason)), (None, None))),
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
