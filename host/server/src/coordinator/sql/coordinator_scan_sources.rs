//! [`CoordinatorScans`]: the coordinator's side of a connector scan, which never reads a split.
//!
//! The coordinator plans scans (it holds each catalog's connector for metadata and `plan_scan`)
//! but runs only a query's last stage; the distributed planner puts every scan in a stage of its
//! own on the workers (`quarry_sql::scan_distribution`). Should a scan ever reach the
//! coordinator's own stage, it fails with this module's error rather than run plugin code here or
//! return nothing.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use quarry_sql::{CatalogVersion, ScanSources, SplitSource, SplitTask};

/// Refuses to read splits on the coordinator.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoordinatorScans;

impl CoordinatorScans {
    /// The split source the coordinator registers its catalogs with.
    pub fn split_source() -> Arc<dyn SplitSource> {
        Arc::new(CoordinatorScans)
    }
}

#[async_trait]
impl SplitSource for CoordinatorScans {
    async fn open(&self, task: &SplitTask) -> Result<SendableRecordBatchStream> {
        Err(DataFusionError::Execution(format!(
            "catalog \"{}\": a scan reached the coordinator, which does not read splits; \
             scans run on workers that hold the catalog",
            task.catalog
        )))
    }
}

impl ScanSources for CoordinatorScans {
    fn source(
        &self,
        _catalog: &str,
        _version: CatalogVersion,
    ) -> std::result::Result<Arc<dyn SplitSource>, String> {
        Ok(CoordinatorScans::split_source())
    }
}
