//! [`HeldScanSources`]: how a query stage on this worker reads its scans' splits: through the
//! connector this worker holds for the catalog, at exactly the version the scan was planned
//! with, in this worker's own sandbox. A scan of a catalog held at another version, or not held
//! loaded, fails its task with a message that says so.
//!
//! Every split read counts in the worker's [`ScanMetrics`](crate::worker::scan_metrics) (splits,
//! rows, bytes, failures by kind), and a failure names this worker, the catalog and the table.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;
use quarry_runtime::Connector;
use quarry_sql::{CatalogVersion, ScanSources, SplitSource, SplitTask};

use crate::worker::state::WorkerState;

/// The held catalogs of this worker, as readers of scans.
#[derive(Debug, Clone)]
pub struct HeldScanSources {
    state: WorkerState,
}

impl HeldScanSources {
    pub fn new(state: WorkerState) -> Self {
        HeldScanSources { state }
    }
}

impl ScanSources for HeldScanSources {
    fn source(
        &self,
        catalog: &str,
        version: CatalogVersion,
    ) -> std::result::Result<Arc<dyn SplitSource>, String> {
        let worker = self.state.id();
        let Some((held, connector)) = self.state.held().connector(catalog) else {
            self.state.scan_metrics().failed("refused", false);
            return Err(format!(
                "worker \"{worker}\" does not hold catalog \"{catalog}\" loaded; the query was \
                 planned for {version}"
            ));
        };
        if held != version {
            self.state.scan_metrics().failed("refused", false);
            return Err(format!(
                "worker \"{worker}\" holds catalog \"{catalog}\" at {held}, not at {version} as \
                 the query was planned; run it again"
            ));
        }
        Ok(Arc::new(HeldSplitSource {
            state: self.state.clone(),
            connector,
        }))
    }
}

/// Reads splits through one held connector, counting them.
#[derive(Debug)]
struct HeldSplitSource {
    state: WorkerState,
    connector: Connector,
}

#[async_trait]
impl SplitSource for HeldSplitSource {
    async fn open(&self, task: &SplitTask) -> Result<SendableRecordBatchStream> {
        let here = format!(
            "worker \"{}\", catalog \"{}\", table {}.{}",
            self.state.id(),
            task.catalog,
            task.request.schema,
            task.request.table
        );
        tracing::debug!(
            catalog = %task.catalog,
            schema = %task.request.schema,
            table = %task.request.table,
            projection = ?task.request.projection,
            limit = ?task.request.limit,
            "split scan"
        );
        let active = ActiveSplit::start(self.state.clone());
        let batches = match self
            .connector
            .scan(task.request.clone(), task.split.clone())
            .await
        {
            Ok(batches) => batches,
            Err(error) => {
                let metrics = self.state.scan_metrics();
                metrics.failed(error.kind(), error.is_sandbox_limit());
                tracing::warn!(%here, %error, "split scan failed");
                return Err(DataFusionError::Execution(format!("{here}: {error}")));
            }
        };
        // The stream owns `active`: the split stops counting as running when it is dropped,
        // finished or not (dropping it stops the plugin's reader and frees its instance).
        let counted = batches.map(move |batch| {
            let metrics = active.0.scan_metrics();
            match batch {
                Ok(batch) => {
                    metrics.sent(batch.num_rows(), batch.get_array_memory_size());
                    Ok(batch)
                }
                Err(error) => {
                    metrics.failed(error.kind(), error.is_sandbox_limit());
                    tracing::warn!(%here, %error, "split scan failed");
                    Err(DataFusionError::Execution(format!("{here}: {error}")))
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&task.schema),
            counted,
        )))
    }
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
