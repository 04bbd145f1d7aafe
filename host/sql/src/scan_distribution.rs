//! How the distributed planner spreads a [`ConnectorScanExec`] over tasks: how many it asks for
//! ([`desired_task_count`]) and how the splits are shared among them ([`scale_up`]).
//!
//! A scan asks for one task per split and at least two. Two, even for one split: a stage of a
//! single task under a single consumer is folded into its consumer by the planner, and the
//! consumer may be the coordinator's own stage, which never reads splits. The planner caps the
//! count at the tasks a stage may have (the coordinator sets it to the live workers, and at
//! least two); a task whose share is empty reads nothing.

use std::sync::Arc;

use datafusion::error::Result;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_distributed::{
    DesiredTaskCountEvent, DesiredTaskCountEventResponse, DistributedLeafExec,
    ScaleUpLeafNodeEvent, ScaleUpLeafNodeEventResponse,
};

use crate::connector_scan_exec::ConnectorScanExec;

/// The fewest tasks a connector scan runs as (see the module documentation).
pub const MIN_SCAN_TASKS: usize = 2;

/// A [`DesiredTaskCountHandler`](datafusion_distributed::DesiredTaskCountHandler) for connector
/// scans: one task per split, at least [`MIN_SCAN_TASKS`].
pub fn desired_task_count(
    event: DesiredTaskCountEvent,
) -> Option<Result<DesiredTaskCountEventResponse>> {
    let scan = event.plan.downcast_ref::<ConnectorScanExec>()?;
    let splits = scan.description().splits.len();
    Some(Ok(DesiredTaskCountEventResponse::desired(
        splits.max(MIN_SCAN_TASKS),
    )))
}

/// A [`ScaleUpLeafNodeHandler`](datafusion_distributed::ScaleUpLeafNodeHandler) for connector
/// scans: one scan per task, each with its share of the splits.
pub fn scale_up(event: ScaleUpLeafNodeEvent) -> Option<Result<ScaleUpLeafNodeEventResponse>> {
    let scan = event.plan.downcast_ref::<ConnectorScanExec>()?;
    if event.task_count <= 1 {
        return Some(Ok(ScaleUpLeafNodeEventResponse::new(Arc::clone(
            event.plan,
        ))));
    }
    let leaf = scan.dealt(event.task_count).and_then(|shares| {
        let variants = shares
            .into_iter()
            .map(|share| Arc::new(share) as Arc<dyn ExecutionPlan>);
        DistributedLeafExec::try_new(Arc::clone(event.plan), variants)
    });
    Some(leaf.map(|leaf| ScaleUpLeafNodeEventResponse::new(Arc::new(leaf))))
}
