//! [`DistributedAnalyzeExec`]: `EXPLAIN ANALYZE` of a distributed query. It runs the query to
//! the end, waits for the workers' task metrics, and answers with the plan stage by stage,
//! each operator with its metrics summed over the stage's tasks (datafusion-distributed's
//! `explain_analyze`), followed by what each stage moved and the workers its tasks ran on
//! ([`StageTraffic`]).
//!
//! DataFusion's own `AnalyzeExec` would show the coordinator's copy of the plan, whose worker
//! stages never ran there: every figure below the last stage would read zero.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use arrow_array::{RecordBatch, StringArray};
use arrow_schema::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, execute_stream,
};
use datafusion_distributed::{DistributedMetricsFormat, explain_analyze};
use futures::TryStreamExt;

use crate::coordinator::sql::stage_traffic::{METRICS_WAIT, StagePlacements, measure};

/// Runs `input`, then describes how it ran. See the module documentation.
#[derive(Debug)]
pub struct DistributedAnalyzeExec {
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl DistributedAnalyzeExec {
    /// `schema` is the `EXPLAIN ANALYZE` statement's: `plan_type` and `plan`, both text.
    pub fn new(input: Arc<dyn ExecutionPlan>, schema: SchemaRef) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        DistributedAnalyzeExec {
            input,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for DistributedAnalyzeExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistributedAnalyzeExec")
    }
}

impl ExecutionPlan for DistributedAnalyzeExec {
    fn name(&self) -> &str {
        "DistributedAnalyzeExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
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
        let [input] = <[_; 1]>::try_from(children).map_err(|children| {
            DataFusionError::Internal(format!(
                "DistributedAnalyzeExec takes one child, not {}",
                children.len()
            ))
        })?;
        Ok(Arc::new(DistributedAnalyzeExec::new(input, self.schema())))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "DistributedAnalyzeExec has one partition, not {}",
                partition + 1
            )));
        }
        let input = Arc::clone(&self.input);
        let schema = self.schema();
        let placements = context
            .session_config()
            .get_extension::<StagePlacements>()
            .unwrap_or_default();
        let answer = futures::stream::once(async move {
            let rows: usize = execute_stream(Arc::clone(&input), context)?
                .try_fold(0, |rows, batch| async move { Ok(rows + batch.num_rows()) })
                .await?;
            let described = tokio::time::timeout(METRICS_WAIT, async {
                let plan =
                    explain_analyze(Arc::clone(&input), DistributedMetricsFormat::Aggregated)
                        .await?;
                let stages = measure(&input, &placements).await?;
                Ok::<_, DataFusionError>((plan, stages))
            })
            .await
            .map_err(|_| {
                DataFusionError::Execution(format!(
                    "EXPLAIN ANALYZE: the query ran ({rows} rows), but the workers' task \
                     metrics did not arrive within {}s",
                    METRICS_WAIT.as_secs()
                ))
            })??;
            let (mut text, stages) = described;
            let _ = writeln!(text, "Output rows: {rows}");
            for stage in &stages {
                let _ = writeln!(text, "Stage moved: {stage}, on {}", stage.workers.join(" "));
            }
            RecordBatch::try_new(
                schema,
                vec![
                    Arc::new(StringArray::from(vec!["Plan with Metrics"])),
                    Arc::new(StringArray::from(vec![text])),
                ],
            )
            .map_err(DataFusionError::from)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            answer,
        )))
    }
}
