//! [`ConnectorScanExec`]: the scan of one connector table, the leaf of a query plan and the part
//! of it that travels to the workers.
//!
//! What it carries is what a reader needs, and nothing more ([`ScanDescription`]): the catalog's
//! name and version, the scan request (projection, filters, limit) and the split payloads. Never
//! the catalog's properties or secrets: a worker reads the splits through the connector it
//! already holds at that version, in its own sandbox ([`ConnectorScanCodec`]).
//!
//! The splits are handed out while the plan runs: each partition takes the next split of the
//! scan when it has finished the one before ([`SplitQueue`]), so a scan of 1,000 splits has as
//! many partitions as the session's target partitions (DataFusion's
//! `datafusion.execution.target_partitions`, by default the coordinator's cores; ADR 0029) and
//! as many split reads open, and a partition held up by a slow split leaves the others to read
//! the rest. When the distributed planner runs the scan
//! as several tasks, each task gets a scan of its own share of the splits
//! ([`ConnectorScanExec::dealt`]), handed out among its partitions the same way.
//!
//! [`ConnectorScanCodec`]: crate::connector_scan_codec::ConnectorScanCodec

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arrow_schema::SchemaRef;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, Statistics, StatisticsArgs,
};
use futures::{StreamExt, TryStreamExt};
use quarry_runtime::{ScanRequest, Split};
use serde::{Deserialize, Serialize};

use crate::catalog_version::CatalogVersion;
use crate::split_source::{SplitSource, SplitTask};

/// The fewest partitions a scan has, even of one split. With more than one, DataFusion puts a
/// merge (a coalesce, a sort-preserving merge, a repartition) between the scan and any operator
/// that needs one partition, and the distributed planner cuts the plan there: the scan always
/// lands in a stage of its own, on the workers, never in the coordinator's.
pub(crate) const MIN_SCAN_PARTITIONS: usize = 2;

/// What a scan reads, as it travels: everything but the batch schema (which the codec carries
/// in DataFusion's own encoding) and the source (which the reader supplies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanDescription {
    pub catalog: String,
    /// The catalog version the scan was planned with; a reader at another version refuses it.
    pub version: CatalogVersion,
    /// What the connector was asked for, and every split is read with.
    pub request: ScanRequest,
    /// This scan's splits, as `plan_scan` returned them.
    pub splits: Vec<Split>,
    /// How many partitions the splits are dealt to (at least one).
    pub partitions: usize,
    /// The columns of the connector's batches the scan outputs (`None`: all). `count(*)` reads
    /// one column and outputs none.
    pub output_projection: Option<Vec<usize>>,
    /// Rows each partition stops after, when the connector was given the limit too.
    pub limit: Option<usize>,
}

/// The scan of one connector table. See the module documentation.
pub struct ConnectorScanExec {
    scan: Arc<ScanDescription>,
    /// The schema of the connector's batches (the table's, projected as requested).
    batch_schema: SchemaRef,
    source: Arc<dyn SplitSource>,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
    queue: Arc<SplitQueue>,
}

/// The splits of one scan not yet taken by a partition, and which partitions have started.
#[derive(Debug)]
struct SplitQueue {
    next: AtomicUsize,
    started: Mutex<Vec<bool>>,
}

impl SplitQueue {
    fn new(partitions: usize) -> Self {
        SplitQueue {
            next: AtomicUsize::new(0),
            started: Mutex::new(vec![false; partitions]),
        }
    }

    /// Marks `partition` started; false if it had started already. A scan's partitions share
    /// its splits, so running one of them again would read nothing (the others took them): a
    /// second execution fails instead of answering short.
    fn start(&self, partition: usize) -> bool {
        let mut started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
        match started.get_mut(partition) {
            Some(flag) if !*flag => {
                *flag = true;
                true
            }
            _ => false,
        }
    }

    /// The index of the next split to read, if any is left.
    fn take(&self, splits: usize) -> Option<usize> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        (index < splits).then_some(index)
    }
}

impl fmt::Debug for ConnectorScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorScanExec")
            .field("catalog", &self.scan.catalog)
            .field("version", &self.scan.version)
            .field("splits", &self.scan.splits.len())
            .field("partitions", &self.scan.partitions)
            .finish_non_exhaustive()
    }
}

impl ConnectorScanExec {
    /// A scan of `scan.splits` whose connector batches carry `batch_schema`, read through
    /// `source`.
    pub fn try_new(
        scan: ScanDescription,
        batch_schema: SchemaRef,
        source: Arc<dyn SplitSource>,
    ) -> Result<Self> {
        let output_schema = match &scan.output_projection {
            Some(columns) => Arc::new(batch_schema.project(columns)?),
            None => Arc::clone(&batch_schema),
        };
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(output_schema),
            Partitioning::UnknownPartitioning(scan.partitions.max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        let queue = Arc::new(SplitQueue::new(scan.partitions.max(1)));
        Ok(ConnectorScanExec {
            scan: Arc::new(scan),
            batch_schema,
            source,
            properties,
            metrics: ExecutionPlanMetricsSet::new(),
            queue,
        })
    }

    /// What this scan reads.
    pub fn description(&self) -> &ScanDescription {
        &self.scan
    }

    /// The schema of the connector's batches, before the output projection.
    pub fn batch_schema(&self) -> &SchemaRef {
        &self.batch_schema
    }

    /// This scan cut into `tasks` scans, each with its own share of the splits (dealt in turn),
    /// all with the same partition count. Together they read every split once.
    pub fn dealt(&self, tasks: usize) -> Result<Vec<ConnectorScanExec>> {
        let tasks = tasks.max(1);
        let mut shares: Vec<Vec<Split>> = vec![Vec::new(); tasks];
        for (i, split) in self.scan.splits.iter().enumerate() {
            shares[i % tasks].push(split.clone());
        }
        let largest = self.scan.splits.len().div_ceil(tasks);
        let partitions = self.scan.partitions.min(largest).max(1);
        shares
            .into_iter()
            .map(|splits| {
                let scan = ScanDescription {
                    splits,
                    partitions,
                    ..self.scan.as_ref().clone()
                };
                ConnectorScanExec::try_new(
                    scan,
                    Arc::clone(&self.batch_schema),
                    Arc::clone(&self.source),
                )
            })
            .collect()
    }

    /// The qualified table name, for messages.
    fn table(&self) -> String {
        format!(
            "{}.{}.{}",
            self.scan.catalog, self.scan.request.schema, self.scan.request.table
        )
    }
}

/// The rows a scan reads, if every split has an estimate: their sum, capped at the limit each
/// partition stops at times the partitions.
fn estimated_rows(scan: &ScanDescription) -> Option<u64> {
    let mut rows = 0u64;
    for split in &scan.splits {
        rows = rows.saturating_add(split.estimated_rows?);
    }
    if let Some(limit) = scan.limit {
        let most = u64::try_from(limit.saturating_mul(scan.partitions.max(1))).unwrap_or(u64::MAX);
        rows = rows.min(most);
    }
    Some(rows)
}

impl DisplayAs for ConnectorScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ConnectorScanExec: table={}, generation={}, splits={}, partitions={}",
            self.table(),
            self.scan.version.generation,
            self.scan.splits.len(),
            self.scan.partitions
        )?;
        if let Some(projection) = &self.scan.request.projection {
            write!(f, ", projection={projection:?}")?;
        }
        if !self.scan.request.filters.is_empty() {
            write!(f, ", pushed_filters={}", self.scan.request.filters.len())?;
        }
        if let Some(limit) = self.scan.limit {
            write!(f, ", limit={limit}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for ConnectorScanExec {
    fn name(&self) -> &str {
        "ConnectorScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal(format!(
                "ConnectorScanExec of {} is a leaf: it takes no children",
                self.table()
            )))
        }
    }

    /// The whole scan's rows, summed from the splits' estimates when every split has one
    /// (capped by the limit each partition stops at), so that DataFusion builds hash joins on
    /// the smaller side and broadcasts small ones instead of shuffling both. Always inexact: an
    /// estimate counts rows before filters, and an exact count would let DataFusion answer
    /// `count(*)` without reading. A single partition's share is not known before the splits
    /// are handed out.
    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let mut statistics = Statistics::new_unknown(&self.schema());
        if args.partition().is_none() {
            statistics.num_rows = estimated_rows(&self.scan).map_or(Precision::Absent, |rows| {
                Precision::Inexact(usize::try_from(rows).unwrap_or(usize::MAX))
            });
        }
        Ok(Arc::new(statistics))
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let partitions = self.scan.partitions.max(1);
        if partition >= partitions {
            return Err(DataFusionError::Internal(format!(
                "ConnectorScanExec of {}: partition {partition} of {partitions}",
                self.table()
            )));
        }
        if !self.queue.start(partition) {
            return Err(DataFusionError::Internal(format!(
                "ConnectorScanExec of {}: partition {partition} executed twice; its splits were \
                 handed out the first time",
                self.table()
            )));
        }
        let scan = Arc::clone(&self.scan);
        let schema = Arc::clone(&self.batch_schema);
        let queue = Arc::clone(&self.queue);
        // The next split, taken when the stream asks for it: when the split before is done.
        let tasks = futures::stream::iter(std::iter::from_fn(move || {
            let index = queue.take(scan.splits.len())?;
            Some(SplitTask {
                catalog: scan.catalog.clone(),
                version: scan.version,
                request: scan.request.clone(),
                split: scan.splits[index].clone(),
                schema: Arc::clone(&schema),
            })
        }));
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let splits_read = MetricBuilder::new(&self.metrics).counter("splits_read", partition);
        let source = Arc::clone(&self.source);
        let output_projection = self.scan.output_projection.clone();
        // Each split is opened when the one before it is done; dropping this stream drops the
        // open split's stream (which stops its read) and takes no other.
        let batches = tasks
            .then(move |task| {
                let source = Arc::clone(&source);
                let splits_read = splits_read.clone();
                async move {
                    let batches = source.open(&task).await?;
                    splits_read.add(1);
                    Ok::<_, DataFusionError>(batches)
                }
            })
            .try_flatten()
            .map(move |batch| match (&output_projection, batch) {
                (Some(columns), Ok(batch)) => batch.project(columns).map_err(DataFusionError::from),
                (None, batch) | (_, batch @ Err(_)) => batch,
            });
        let mut remaining = self.scan.limit.unwrap_or(usize::MAX);
        let limited = batches.scan((), move |(), batch| {
            if remaining == 0 {
                return futures::future::ready(None);
            }
            let batch = batch.map(|batch| {
                let kept = batch.num_rows().min(remaining);
                remaining -= kept;
                if kept < batch.num_rows() {
                    batch.slice(0, kept)
                } else {
                    batch
                }
            });
            futures::future::ready(Some(batch))
        });
        let counted = limited.inspect_ok(move |batch| baseline.record_output(batch.num_rows()));
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            counted,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{RecordBatch, UInt8Array};
    use arrow_schema::{DataType, Field, Schema};
    use async_trait::async_trait;

    use super::*;

    /// Answers each split with one row: the split's payload byte. It stands for the connector
    /// here, where what is tested is which partition reads which split.
    #[derive(Debug)]
    struct PayloadSource;

    #[async_trait]
    impl SplitSource for PayloadSource {
        async fn open(&self, task: &SplitTask) -> Result<SendableRecordBatchStream> {
            let batch = RecordBatch::try_new(
                Arc::clone(&task.schema),
                vec![Arc::new(UInt8Array::from(task.split.payload.clone()))],
            )?;
            Ok(Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&task.schema),
                futures::stream::iter([Ok(batch)]),
            )))
        }
    }

    fn scan(splits: u8, partitions: usize) -> ConnectorScanExec {
        let description = ScanDescription {
            catalog: "c".into(),
            version: CatalogVersion {
                incarnation: 1,
                generation: 1,
            },
            request: ScanRequest::table("s", "t"),
            splits: (0..splits)
                .map(|n| Split {
                    payload: vec![n],
                    estimated_rows: Some(1),
                })
                .collect(),
            partitions,
            output_projection: None,
            limit: None,
        };
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::UInt8, false)]));
        ConnectorScanExec::try_new(description, schema, Arc::new(PayloadSource))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    async fn read(exec: &ConnectorScanExec, partition: usize) -> Vec<u8> {
        let stream = exec
            .execute(partition, Arc::new(TaskContext::default()))
            .unwrap_or_else(|e| panic!("{e}"));
        let batches: Vec<RecordBatch> = stream.try_collect().await.unwrap_or_default();
        batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<UInt8Array>()
                    .map(|a| a.values().to_vec())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[tokio::test]
    async fn partitions_take_splits_as_they_run_and_each_split_is_read_once() {
        let exec = scan(10, 3);
        // Partition 1 runs first and alone: it takes every split, one after another; the
        // partitions that start later find none left.
        assert_eq!(read(&exec, 1).await, (0..10).collect::<Vec<u8>>());
        assert!(read(&exec, 0).await.is_empty());
        assert!(read(&exec, 2).await.is_empty());

        // Run together, the partitions share the splits: each is read once.
        let exec = scan(10, 3);
        let (a, b, c) = tokio::join!(read(&exec, 0), read(&exec, 1), read(&exec, 2));
        let mut all: Vec<u8> = a.into_iter().chain(b).chain(c).collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<u8>>());
    }

    #[tokio::test]
    async fn a_partition_run_twice_fails_instead_of_reading_nothing() {
        let exec = scan(4, 2);
        assert_eq!(read(&exec, 0).await.len(), 4);
        let again = exec.execute(0, Arc::new(TaskContext::default()));
        let error = again.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("partition 0 executed twice"), "{error}");
    }

    #[test]
    fn the_scan_estimates_its_rows_from_its_splits_never_exactly() {
        let rows = |exec: &ConnectorScanExec, partition: Option<usize>| {
            let args = StatisticsArgs::new().with_partition(partition);
            exec.statistics_from_inputs(&[], &args)
                .unwrap_or_else(|e| panic!("{e}"))
                .num_rows
        };
        let exec = scan(10, 3);
        assert_eq!(rows(&exec, None), Precision::Inexact(10));
        assert_eq!(rows(&exec, Some(0)), Precision::Absent);

        let mut description = exec.description().clone();
        description.limit = Some(2);
        let limited = ConnectorScanExec::try_new(
            description.clone(),
            Arc::clone(exec.batch_schema()),
            Arc::new(PayloadSource),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // Each of the 3 partitions stops after 2 rows.
        assert_eq!(rows(&limited, None), Precision::Inexact(6));

        description.limit = None;
        description.splits[4].estimated_rows = None;
        let unknown = ConnectorScanExec::try_new(
            description,
            Arc::clone(exec.batch_schema()),
            Arc::new(PayloadSource),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows(&unknown, None), Precision::Absent);
    }
}
