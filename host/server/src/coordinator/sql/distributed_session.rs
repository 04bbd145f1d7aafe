//! The coordinator's SQL session, distributed: DataFusion plans each query here, and
//! datafusion-distributed's planner cuts it into stages that run on the workers' execution
//! services, all but the last, which runs here (ADR 0021).
//!
//! What Quarry adds to the library:
//! - [`ClusterWorkers`]: where stages may run: the live workers of the cluster view that serve
//!   an execution service;
//! - [`ScanRouting`]: a stage that scans catalogs runs only on workers that hold every one of
//!   them at the planned version, so each split is read beside its connector;
//! - the connector scan's codec and task handlers (`quarry_sql::scan_distribution`);
//! - [`ClusterPlanner`]: lets a stage have as many tasks as there are workers and at least two,
//!   so that even on a one-worker cluster a scan's stage stays on the worker; makes `EXPLAIN`
//!   show the distributed plan, stage by stage, as it will run, and the workers each stage may
//!   run on (DataFusion's own `EXPLAIN` plans the query again without the distributed planner);
//!   and makes `EXPLAIN ANALYZE` show the stages as they ran, with their metrics;
//! - [`ExecutionChannels`]: every call presents the cluster secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::{LogicalPlan, PlanType, StringifiedPlan};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::explain::ExplainExec;
use datafusion_distributed::{
    DistributedConfig, DistributedExec, DistributedExt, DistributedLeafExec, NetworkBoundaryExt,
    RouteTasksEvent, RouteTasksEventResponse, RouteTasksHandler, SessionStateBuilderExt, Stage,
    WorkerResolver, display_plan_ascii,
};
use quarry_sql::scan_distribution::{self, MIN_SCAN_TASKS};
use quarry_sql::{CatalogVersion, ConnectorScanCodec, ConnectorScanExec};
use url::Url;

use crate::coordinator::sql::coordinator_scan_sources::CoordinatorScans;
use crate::coordinator::sql::distributed_analyze::DistributedAnalyzeExec;
use crate::coordinator::sql::stage_traffic::StagePlacements;
use crate::coordinator::sync::cluster_view::{ClusterView, Holder};
use crate::execution_channels::ExecutionChannels;

/// `builder` with the distributed planner over the workers of `view`, calling them with
/// `secret`.
pub fn distributed(
    builder: SessionStateBuilder,
    view: ClusterView,
    secret: Option<&str>,
) -> SessionStateBuilder {
    let routing = ScanRouting {
        view: view.clone(),
        next: Arc::new(AtomicUsize::new(0)),
    };
    let mut builder = builder
        .with_distributed_worker_resolver(ClusterWorkers { view })
        .with_distributed_channel_resolver(ExecutionChannels::new(secret))
        .with_distributed_user_codec(ConnectorScanCodec::new(Arc::new(CoordinatorScans)))
        .with_distributed_desired_task_count_handler(scan_distribution::desired_task_count)
        .with_distributed_scale_up_leaf_node_handler(scan_distribution::scale_up)
        .with_distributed_route_tasks_handler(routing.clone())
        .with_distributed_planner();
    let planner = builder.query_planner().take();
    match planner {
        Some(distributed) => builder.with_query_planner(Arc::new(ClusterPlanner {
            distributed,
            routing,
        })),
        None => builder,
    }
}

/// The live workers that serve an execution service.
#[derive(Debug, Clone)]
pub struct ClusterWorkers {
    view: ClusterView,
}

impl WorkerResolver for ClusterWorkers {
    fn get_urls(&self) -> Result<Vec<Url>> {
        self.view
            .execution_workers()
            .iter()
            .map(|(_, address)| parse_url(address))
            .collect()
    }
}

fn parse_url(address: &str) -> Result<Url> {
    Url::parse(address).map_err(|error| {
        DataFusionError::Execution(format!(
            "a worker reported execution address \"{address}\", which is not a URL: {error}"
        ))
    })
}

/// Routes a stage that scans catalogs to the workers that hold all of them at the planned
/// versions, in turn; other stages to every worker that serves an execution service, in turn.
/// Records where each stage went in the query's [`StagePlacements`].
#[derive(Debug, Clone)]
pub struct ScanRouting {
    view: ClusterView,
    next: Arc<AtomicUsize>,
}

impl RouteTasksHandler for ScanRouting {
    fn handle(&self, event: RouteTasksEvent) -> Option<Result<RouteTasksEventResponse>> {
        let mut scans = Vec::new();
        scans_of_stage(event.plan, true, &mut scans);
        let urls = self.candidates(&scans).and_then(|candidates| {
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            (0..event.task_count)
                .map(|task| parse_url(&candidates[(start + task) % candidates.len()].1))
                .collect::<Result<Vec<Url>>>()
        });
        let urls = match urls {
            Ok(urls) => urls,
            Err(error) => return Some(Err(error)),
        };
        if let Some(placements) = event
            .task_ctx
            .session_config()
            .get_extension::<StagePlacements>()
        {
            placements.record(event.plan, &urls);
        }
        Some(Ok(RouteTasksEventResponse::new(urls)))
    }
}

impl ScanRouting {
    /// The workers (id, execution address) a stage scanning `scans` may run on: those holding
    /// every one of them at the planned version; any worker for a stage that scans nothing.
    fn candidates(&self, scans: &[(String, CatalogVersion)]) -> Result<Vec<(String, String)>> {
        if scans.is_empty() {
            let workers = self.view.execution_workers();
            if workers.is_empty() {
                return Err(DataFusionError::Execution(
                    "no live worker serves query stages (see GET /v1/workers)".to_owned(),
                ));
            }
            return Ok(workers);
        }
        let mut candidates: Option<Vec<Holder>> = None;
        for (catalog, version) in scans {
            let holders: Vec<Holder> = self
                .view
                .holders(catalog, *version)
                .into_iter()
                .filter(|holder| holder.execution_address.is_some())
                .collect();
            if holders.is_empty() {
                return Err(DataFusionError::Execution(format!(
                    "catalog \"{catalog}\": no live worker holds {version} loaded and serves \
                     queries (see GET /v1/catalogs/{catalog})"
                )));
            }
            candidates = Some(match candidates {
                None => holders,
                Some(before) => before
                    .into_iter()
                    .filter(|holder| holders.iter().any(|h| h.worker == holder.worker))
                    .collect(),
            });
        }
        let candidates: Vec<(String, String)> = candidates
            .unwrap_or_default()
            .into_iter()
            .filter_map(|holder| Some((holder.worker, holder.execution_address?)))
            .collect();
        if candidates.is_empty() {
            let names: Vec<&str> = scans.iter().map(|(catalog, _)| catalog.as_str()).collect();
            return Err(DataFusionError::Execution(format!(
                "no live worker holds all of the catalogs {names:?} that one stage of this query \
                 scans"
            )));
        }
        Ok(candidates)
    }
}

/// The catalogs (and versions) the connector scans of one stage read: the scans under `plan`
/// down to the stage's network boundaries.
fn scans_of_stage(
    plan: &Arc<dyn ExecutionPlan>,
    head: bool,
    scans: &mut Vec<(String, CatalogVersion)>,
) {
    if let Some(scan) = plan.downcast_ref::<ConnectorScanExec>() {
        let description = scan.description();
        scans.push((description.catalog.clone(), description.version));
        return;
    }
    if let Some(leaf) = plan.downcast_ref::<DistributedLeafExec>() {
        scans_of_stage(leaf.original(), false, scans);
        return;
    }
    if !head && plan.is_network_boundary() {
        return;
    }
    for child in plan.children() {
        scans_of_stage(child, false, scans);
    }
}

/// The distributed planner, with as many tasks per stage as there are workers, and at least
/// [`MIN_SCAN_TASKS`]: a stage of one task under a consumer of one is folded into the consumer,
/// and on a one-worker cluster that would put a scan in the coordinator's own stage. `EXPLAIN`
/// shows the stages and the workers each may run on; `EXPLAIN ANALYZE` runs the query and
/// shows them as they ran ([`DistributedAnalyzeExec`]).
#[derive(Debug)]
struct ClusterPlanner {
    distributed: Arc<dyn QueryPlanner + Send + Sync>,
    /// The cluster's workers (its view), and to say, in `EXPLAIN`, where each stage may run.
    routing: ScanRouting,
}

impl ClusterPlanner {
    /// One line per stage of `plan`: its tasks and the workers the router chooses them from.
    fn placement(&self, plan: &Arc<dyn ExecutionPlan>) -> String {
        let mut lines = Vec::new();
        let _ = plan.apply(|node| {
            if let Some(boundary) = node.as_network_boundary()
                && let Stage::Local(stage) = boundary.input_stage()
            {
                let mut scans = Vec::new();
                scans_of_stage(&stage.plan, true, &mut scans);
                let among = if scans.is_empty() {
                    "any live worker".to_owned()
                } else {
                    let catalogs: Vec<String> = scans
                        .iter()
                        .map(|(catalog, version)| format!("{catalog} at {version}"))
                        .collect();
                    format!("the workers holding {}", catalogs.join(" and "))
                };
                let workers = match self.routing.candidates(&scans) {
                    Ok(workers) => workers
                        .iter()
                        .map(|(id, address)| format!("{id} ({address})"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    Err(error) => format!("none now: {error}"),
                };
                lines.push((
                    stage.num,
                    format!(
                        "Stage {}: {} tasks on {among}: {workers}",
                        stage.num, stage.tasks
                    ),
                ));
            }
            Ok(TreeNodeRecursion::Continue)
        });
        lines.sort();
        let mut text = String::from("Where the stages run:\n");
        for (_, line) in lines {
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str("The last stage (the plan above Stage boundaries): the coordinator\n");
        text
    }
}

#[async_trait]
impl QueryPlanner for ClusterPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let LogicalPlan::Explain(explain) = logical_plan
            && explain.logical_optimization_succeeded
        {
            let physical = self.create_physical_plan(&explain.plan, session).await?;
            let mut text = display_plan_ascii(physical.as_ref(), false);
            if physical.downcast_ref::<DistributedExec>().is_some() {
                text.push_str(&self.placement(&physical));
            }
            let mut plans = explain.stringified_plans.clone();
            plans.push(StringifiedPlan::new(PlanType::FinalPhysicalPlan, text));
            return Ok(Arc::new(ExplainExec::new(
                Arc::clone(explain.schema.inner()),
                plans,
                explain.verbose,
            )));
        }
        if let LogicalPlan::Analyze(analyze) = logical_plan {
            let physical = self.create_physical_plan(&analyze.input, session).await?;
            return Ok(Arc::new(DistributedAnalyzeExec::new(
                physical,
                Arc::clone(analyze.schema.inner()),
            )));
        }
        let Some(state) = session.as_any().downcast_ref::<SessionState>() else {
            return self
                .distributed
                .create_physical_plan(logical_plan, session)
                .await;
        };
        let mut state = state.clone();
        let workers = self.routing.view.execution_workers().len();
        DistributedConfig::from_config_options_mut(state.config_mut().options_mut())?
            .max_tasks_per_stage = workers.max(MIN_SCAN_TASKS);
        self.distributed
            .create_physical_plan(logical_plan, &state)
            .await
    }
}
