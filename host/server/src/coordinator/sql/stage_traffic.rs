//! [`StageTraffic`]: what each stage of a distributed query moved between processes, and the
//! workers its tasks ran on.
//!
//! The figures are datafusion-distributed's own metrics. Each worker sends its tasks' metrics
//! back to the coordinator when the tasks end, and `rewrite_distributed_plan_with_metrics` folds
//! them into the coordinator's copy of the plan. A stage's rows are the output rows of its head
//! operator, summed over its tasks: what it sent on. Its bytes are the encoded Arrow Flight
//! messages its consumer (the next stage, or the coordinator) received from it: the network
//! boundary's `bytes_transferred`.
//!
//! Where the tasks ran is recorded as they are routed ([`StagePlacements`], filled by the
//! session's task router), and matched to the stages of the executed plan by the stage's
//! operators, down to its own network boundaries.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::Result;
use datafusion::physical_plan::metrics::{MetricValue, MetricsSet};
use datafusion::physical_plan::{ExecutionPlan, displayable};
use datafusion_distributed::{
    DistributedExec, DistributedMetricsFormat, NetworkBoundaryExt, Stage,
    rewrite_distributed_plan_with_metrics,
};
use serde::Serialize;
use url::Url;

/// How long the coordinator waits, after a query ends, for the workers' task metrics. A worker
/// that died mid-query never sends them; its stages are then reported without figures.
pub const METRICS_WAIT: Duration = Duration::from_secs(10);

/// What one stage moved, and where its tasks ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageTraffic {
    /// The stage number, as `EXPLAIN` shows it (`[Stage 1] => …`).
    pub stage: usize,
    pub tasks: usize,
    /// The stage that consumed its output; `None`: the coordinator.
    #[serde(serialize_with = "consumer_name")]
    pub to: Option<usize>,
    /// The execution service each task ran on, by task (empty when not recorded).
    pub workers: Vec<String>,
    /// Rows the stage sent on, over all its tasks.
    pub rows: u64,
    /// Bytes of Arrow Flight messages its consumer received.
    pub bytes: u64,
}

impl StageTraffic {
    /// Who read its output: `coordinator` or `stage N`.
    pub fn consumer(&self) -> impl fmt::Display {
        Consumer(self.to)
    }
}

fn consumer_name<S: serde::Serializer>(to: &Option<usize>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&Consumer(*to).to_string())
}

/// `coordinator` or `stage N`.
struct Consumer(Option<usize>);

impl fmt::Display for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => write!(f, "coordinator"),
            Some(stage) => write!(f, "stage {stage}"),
        }
    }
}

impl fmt::Display for StageTraffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stage {} ({} tasks) -> {}: {} rows, {} bytes",
            self.stage,
            self.tasks,
            self.consumer(),
            self.rows,
            self.bytes
        )
    }
}

/// The workers each stage of one query was routed to, in the order the router saw them. A
/// session-config extension of the query, so the router (shared by every query) can find it.
#[derive(Debug, Default)]
pub struct StagePlacements {
    routed: Mutex<Vec<RoutedStage>>,
}

#[derive(Clone, Debug)]
struct RoutedStage {
    operators: String,
    urls: Vec<String>,
}

impl StagePlacements {
    /// The router sent the tasks of the stage headed by `head` to `urls`.
    pub fn record(&self, head: &Arc<dyn ExecutionPlan>, urls: &[Url]) {
        let routed = RoutedStage {
            operators: stage_operators(head),
            urls: urls.iter().map(|url| url.as_str().to_owned()).collect(),
        };
        self.routed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(routed);
    }

    /// What was recorded so far.
    fn routed(&self) -> Vec<RoutedStage> {
        self.routed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The workers of the first stage of `routed` with `head`'s operators, taken out of it (two
/// stages of the same operators, in a self-join, take one each).
fn claim(routed: &mut Vec<RoutedStage>, head: &Arc<dyn ExecutionPlan>) -> Vec<String> {
    let operators = stage_operators(head);
    match routed.iter().position(|stage| stage.operators == operators) {
        Some(index) => routed.remove(index).urls,
        None => Vec::new(),
    }
}

/// The one-line display of every operator of a stage, down to and including the network
/// boundaries that read other stages (whose own plans are left out).
fn stage_operators(head: &Arc<dyn ExecutionPlan>) -> String {
    let mut out = String::new();
    let _ = head.apply(|node| {
        out.push_str(&displayable(node.as_ref()).one_line().to_string());
        out.push('\n');
        Ok(if node.is_network_boundary() {
            TreeNodeRecursion::Jump
        } else {
            TreeNodeRecursion::Continue
        })
    });
    out
}

/// What each stage of the executed `plan` moved, by stage number; empty when no part of it
/// ran distributed. Waits (up to the caller's patience) for the workers' task metrics.
pub async fn measure(
    plan: &Arc<dyn ExecutionPlan>,
    placements: &StagePlacements,
) -> Result<Vec<StageTraffic>> {
    let Some(distributed) = find_distributed(plan) else {
        return Ok(Vec::new());
    };
    let rewritten =
        rewrite_distributed_plan_with_metrics(distributed, DistributedMetricsFormat::Aggregated)
            .await?;
    let mut stages = Vec::new();
    collect(&rewritten, None, &mut placements.routed(), &mut stages);
    stages.sort_by_key(|stage| stage.stage);
    Ok(stages)
}

fn find_distributed(plan: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
    let mut found = None;
    let _ = plan.apply(|node| {
        if node.downcast_ref::<DistributedExec>().is_some() {
            found = Some(Arc::clone(node));
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

fn collect(
    plan: &Arc<dyn ExecutionPlan>,
    consumer: Option<usize>,
    routed: &mut Vec<RoutedStage>,
    out: &mut Vec<StageTraffic>,
) {
    if let Some(boundary) = plan.as_network_boundary() {
        if let Stage::Local(stage) = boundary.input_stage() {
            out.push(StageTraffic {
                stage: stage.num,
                tasks: stage.tasks,
                to: consumer,
                workers: claim(routed, &stage.plan),
                rows: stage
                    .plan
                    .metrics()
                    .and_then(|metrics| metrics.output_rows())
                    .map_or(0, to_u64),
                bytes: plan
                    .metrics()
                    .map_or(0, |metrics| bytes_transferred(&metrics)),
            });
            collect(&stage.plan, Some(stage.num), routed, out);
        }
        return;
    }
    for child in plan.children() {
        collect(child, consumer, routed, out);
    }
}

/// The library's `bytes_transferred` counters of a network boundary, summed.
fn bytes_transferred(metrics: &MetricsSet) -> u64 {
    metrics
        .iter()
        .map(|metric| match metric.value() {
            MetricValue::Custom { name, value } if name == "bytes_transferred" => {
                to_u64(value.as_usize())
            }
            _ => 0,
        })
        .sum()
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_reads_as_where_it_went_and_what_it_moved() {
        let stage = StageTraffic {
            stage: 1,
            tasks: 2,
            to: Some(2),
            workers: vec!["http://127.0.0.1:1/".into(), "http://127.0.0.1:2/".into()],
            rows: 40,
            bytes: 4096,
        };
        assert_eq!(
            stage.to_string(),
            "stage 1 (2 tasks) -> stage 2: 40 rows, 4096 bytes"
        );
        let json = serde_json::to_value(&stage).unwrap_or_default();
        assert_eq!(json["to"], "stage 2");
        let last = StageTraffic { to: None, ..stage };
        assert_eq!(
            serde_json::to_value(&last).unwrap_or_default()["to"],
            "coordinator"
        );
    }
}
