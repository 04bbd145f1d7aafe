//! [`SplitPartition`]: the splits one DataFusion partition reads, one after the other.
//!
//! A scan becomes a `StreamingTableExec` of `SplitPartition`s: one per split up to
//! [`MAX_SCAN_PARTITIONS`] (or the session's target partitions, if more), the splits dealt out
//! round-robin beyond that. DataFusion reads the partitions in parallel, so a table of 12,000
//! splits keeps a bounded number of split reads open on the workers, not 12,000.

use std::sync::Arc;

use arrow_schema::SchemaRef;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::{StreamExt, TryStreamExt};

use crate::split_source::{SplitSource, SplitTask};

/// The fewest partitions a scan may be cut into before splits share a partition.
pub(crate) const MAX_SCAN_PARTITIONS: usize = 16;

/// Splits, read in turn through a [`SplitSource`] when DataFusion executes their partition.
#[derive(Debug)]
pub(crate) struct SplitPartition {
    pub source: Arc<dyn SplitSource>,
    pub schema: SchemaRef,
    pub tasks: Vec<Arc<SplitTask>>,
}

impl SplitPartition {
    /// `tasks` dealt round-robin into at most `partitions` partitions (at least one).
    pub fn deal(
        source: &Arc<dyn SplitSource>,
        schema: &SchemaRef,
        tasks: Vec<SplitTask>,
        partitions: usize,
    ) -> Vec<SplitPartition> {
        let count = partitions.clamp(1, tasks.len().max(1));
        let mut dealt: Vec<Vec<Arc<SplitTask>>> = vec![Vec::new(); count];
        for (i, task) in tasks.into_iter().enumerate() {
            dealt[i % count].push(Arc::new(task));
        }
        dealt
            .into_iter()
            .map(|tasks| SplitPartition {
                source: Arc::clone(source),
                schema: Arc::clone(schema),
                tasks,
            })
            .collect()
    }
}

impl PartitionStream for SplitPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let source = Arc::clone(&self.source);
        // Each split is opened when the one before it is done; dropping this stream drops the
        // open split's stream (which stops its read) and opens no other.
        let batches = futures::stream::iter(self.tasks.clone())
            .then(move |task| {
                let source = Arc::clone(&source);
                async move { source.open(&task).await }
            })
            .try_flatten();
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
    }
}
