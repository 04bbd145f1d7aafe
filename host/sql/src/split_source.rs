//! Where a split's batches come from: the [`SplitSource`] trait and [`LocalSplitSource`], which
//! reads splits through a `Connector` in this process.
//!
//! Why a trait: planning (metadata, `plan_scan`) runs on the coordinator, but reading a split
//! can run anywhere that holds the catalog at the right generation. The single-process mode
//! and the tests read through the local connector; the coordinator streams Arrow IPC from a
//! worker over HTTP with another implementation of the same trait.

use std::fmt;

use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::TryStreamExt;
use quarry_runtime::{Connector, ScanRequest, Split};

use crate::error::to_datafusion;

/// One split to read: everything a reader needs, on this process or another.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitTask {
    /// The catalog the split belongs to.
    pub catalog: String,
    /// The catalog generation the scan was planned with; a reader must read it at that
    /// generation or fail.
    pub generation: u64,
    /// The request the scan was planned with (projection, filters, limit).
    pub request: ScanRequest,
    /// The split, as `plan_scan` returned it.
    pub split: Split,
    /// The schema the batches carry: the table's, projected as requested.
    pub schema: SchemaRef,
}

/// Opens split streams. Dropping the returned stream must stop the read (and release whatever
/// the read holds: a plugin instance, an HTTP response).
#[async_trait]
pub trait SplitSource: fmt::Debug + Send + Sync {
    /// Starts reading `task`'s split.
    async fn open(&self, task: &SplitTask) -> Result<SendableRecordBatchStream>;
}

/// Reads splits through a local [`Connector`]: the connector of the catalog generation this
/// source was registered with.
#[derive(Debug, Clone)]
pub struct LocalSplitSource {
    connector: Connector,
}

impl LocalSplitSource {
    pub fn new(connector: Connector) -> Self {
        LocalSplitSource { connector }
    }
}

#[async_trait]
impl SplitSource for LocalSplitSource {
    async fn open(&self, task: &SplitTask) -> Result<SendableRecordBatchStream> {
        let batches = self
            .connector
            .scan(task.request.clone(), task.split.clone())
            .await
            .map_err(to_datafusion)?;
        // Dropping this adapter drops the connector's stream, which stops the split's reader
        // and discards its instance (see `Connector::scan`).
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            task.schema.clone(),
            batches.map_err(to_datafusion),
        )))
    }
}
