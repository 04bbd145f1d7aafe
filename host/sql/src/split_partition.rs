//! [`SplitPartition`]: one split as one DataFusion partition.
//!
//! A scan becomes a `StreamingTableExec` with one `SplitPartition` per split, so DataFusion
//! reads splits in parallel and the operators above see one partition per split.

use std::sync::Arc;

use arrow_schema::SchemaRef;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::TryStreamExt;

use crate::split_source::{SplitSource, SplitTask};

/// A split, read through a [`SplitSource`] when DataFusion executes its partition.
#[derive(Debug)]
pub(crate) struct SplitPartition {
    pub source: Arc<dyn SplitSource>,
    pub task: Arc<SplitTask>,
}

impl PartitionStream for SplitPartition {
    fn schema(&self) -> &SchemaRef {
        &self.task.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let source = Arc::clone(&self.source);
        let task = Arc::clone(&self.task);
        let opened = async move { source.open(&task).await };
        // The split is opened on first poll; dropping this stream before then opens nothing,
        // and dropping it after drops the source's stream (which stops the read).
        Box::pin(RecordBatchStreamAdapter::new(
            self.task.schema.clone(),
            futures::stream::once(opened).try_flatten(),
        ))
    }
}
