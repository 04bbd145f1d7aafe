//! [`bytes_from_workers`]: how many bytes a query's last stage, the one the coordinator runs,
//! received from the workers' stages, read off the network boundaries of its executed plan.

use std::sync::Arc;

use datafusion::physical_plan::ExecutionPlan;
use datafusion_distributed::NetworkBoundaryExt;

/// The bytes the network boundaries of the coordinator's stage of `plan` received (the
/// library's `bytes_transferred` metric), once the plan has run.
pub fn bytes_from_workers(plan: &Arc<dyn ExecutionPlan>) -> u64 {
    if plan.is_network_boundary() {
        return plan
            .metrics()
            .and_then(|metrics| metrics.sum_by_name("bytes_transferred"))
            .map_or(0, |value| value.as_usize() as u64);
    }
    plan.children().into_iter().map(bytes_from_workers).sum()
}
