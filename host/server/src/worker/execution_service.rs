//! The worker's execution service: datafusion-distributed's worker service (Arrow Flight over
//! gRPC) on a port of its own, next to the HTTP API. The coordinator sends it query stages; other
//! workers read the outputs of its shuffle stages from it.
//!
//! Every call must present the cluster secret (`authorization: Bearer …`); one without it is
//! refused before anything is decoded, the task-execution calls included. A stage's plan is
//! decoded in a session that knows Quarry's connector scan ([`ConnectorScanCodec`]), reading
//! through this worker's held connectors ([`HeldScanSources`]), and that calls other workers
//! with the secret ([`ExecutionChannels`]).

use std::future::Future;

use datafusion_distributed::{DistributedExt, Worker, WorkerQueryContext};
use quarry_sql::ConnectorScanCodec;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;

use crate::execution_channels::{ExecutionChannels, check_cluster_secret};
use crate::worker::held_scan_sources::HeldScanSources;
use crate::worker::state::WorkerState;

/// Serves the execution service on `listener` until `shutdown` resolves.
pub async fn serve_execution(
    listener: TcpListener,
    state: WorkerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let channels = ExecutionChannels::new(state.cluster_secret_value());
    let sources = std::sync::Arc::new(HeldScanSources::new(state.clone()));
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
    });
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
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
}
