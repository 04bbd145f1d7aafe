//! Where a split's batches come from: the [`SplitSource`] trait and [`LocalSplitSource`], which
//! reads splits through a `Connector` in this process.
//!
//! Why a trait: planning (metadata, `plan_scan`) runs on the coordinator, but reading a split
//! runs where the scan's stage runs: on a worker that holds the catalog at the planned version
//! (which decodes the scan with its own connector as the source), or in this process in the
//! single-process tests. The coordinator's own source refuses to read: its scans always run on
//! workers.

use std::fmt;

use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::TryStreamExt;
use quarry_runtime::{Connector, ScanRequest, Split};

use crate::catalog_version::CatalogVersion;
use crate::error::to_datafusion;

/// One split to read: everything a reader needs, on this process or another.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitTask {
    /// The catalog the split belongs to.
    pub catalog: String,
    /// The catalog version the scan was planned with; a reader must read it at that version
    /// or fail.
    pub version: CatalogVersion,
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

/// Reads splits through a local [`Connector`]: the connector of the catalog version this source
/// was made for.
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
