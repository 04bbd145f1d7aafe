//! The worker's execution service: datafusion-distributed's worker service (Arrow Flight over
//! gRPC) on a port of its own, next to the HTTP API. The coordinator sends it query stages; other
//! workers read the outputs of its shuffle stages from it.
//!
//! Every call must present the cluster secret (`authorization: Bearer …`); one without it is
//! refused before anything is decoded, the task-execution calls included. A stage's plan is
//! decoded in a session that knows Quarry's connector scan ([`ConnectorScanCodec`]), reading
//! through this worker's held connectors ([`HeldScanSources`]), and that calls other workers
//! with the secret ([`ExecutionChannels`]). The stages share one memory pool of the worker's
//! `stage_memory`.

use std::future::Future;
use std::sync::Arc;

use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion_distributed::{DistributedExt, Worker, WorkerQueryContext};
use quarry_sql::ConnectorScanCodec;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;

use crate::execution_channels::{
    ExecutionChannels, KEEP_ALIVE_INTERVAL, KEEP_ALIVE_TIMEOUT, check_cluster_secret,
};
use crate::worker::held_scan_sources::HeldScanSources;
use crate::worker::state::WorkerState;

/// The runtime the stages run in: one memory pool of `stage_memory` bytes for all of them.
pub fn stage_runtime(stage_memory: usize) -> datafusion::error::Result<Arc<RuntimeEnv>> {
    RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(GreedyMemoryPool::new(stage_memory)))
        .build_arc()
}

/// Serves the execution service on `listener` until `shutdown` resolves, running stages in
/// `runtime` ([`stage_runtime`]).
pub async fn serve_execution(
    listener: TcpListener,
    state: WorkerState,
    runtime: Arc<RuntimeEnv>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let channels = ExecutionChannels::new(state.cluster_secret_value());
    let sources = Arc::new(HeldScanSources::new(state.clone()));
    let worker = Worker::from_session_builder(move |context: WorkerQueryContext| {
        let channels = channels.clone();
        let codec = ConnectorScanCodec::new(sources.clone());
        async move {
            Ok(context
                .builder
                .with_distributed_user_codec(codec)
                .with_distributed_channel_resolver(channels)
                .build())
        }
    })
    .with_runtime_env(runtime);
    let secret = state.cluster_secret_value().map(str::to_owned);
    let service = InterceptedService::new(
        worker.into_worker_server(),
        move |request: tonic::Request<()>| {
            let presented = request
                .metadata()
                .get("authorization")
                .map(|value| value.as_bytes());
            check_cluster_secret(secret.as_deref(), presented)?;
            Ok(request)
        },
    );
    // Pings its callers too, so a task whose coordinator went away (stopped, cut off) ends.
    // TCP_NODELAY on every accepted connection: tonic's server sets it only on addresses it
    // binds itself, and without it a stream's small last frames (the end of a task's stream,
    // its trailers) waited for the peer's delayed ACK, 40 ms a query.
    tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(KEEP_ALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEP_ALIVE_TIMEOUT))
        .add_service(service)
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
}
