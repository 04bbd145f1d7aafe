//! [`ExecutionChannels`]: the gRPC channels to workers' execution services, each call carrying
//! the cluster secret as `Authorization: Bearer …`, and [`check_cluster_secret`], the other end
//! of it, which a worker's execution service runs on every call.
//!
//! Both the coordinator (sending stages) and the workers (reading each other's shuffle outputs)
//! call execution services, so both use these channels. One channel per worker address, opened
//! on first use and reused (a channel reconnects by itself). Every channel pings its worker
//! ([`KEEP_ALIVE_INTERVAL`]): a worker that stops answering (stopped, hung, cut off) fails the
//! calls in flight within [`KEEP_ALIVE_TIMEOUT`] instead of leaving a query waiting on it, and
//! every error names the worker's address.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion_distributed::grpc::{BoxCloneSyncChannel, create_worker_client};
use datafusion_distributed::{
    ChannelResolver, CoordinatorToWorkerMsg, ExecuteTaskRequest, GetWorkerInfoRequest,
    GetWorkerInfoResponse, SetPlanRequest, WorkerChannel, WorkerToCoordinatorMsg,
};
use futures::StreamExt;
use futures::stream::BoxStream;
use http::{HeaderMap, HeaderValue};
use subtle::ConstantTimeEq;
use tonic::transport::{Channel, Endpoint};
use tower::ServiceExt;
use url::Url;

/// How often a channel pings its worker, idle or not.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// How long a ping may go unanswered before the connection counts as lost.
pub const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to a worker may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Channels to execution services that present the cluster secret (if the cluster has one).
/// Cheap to clone; clones share the channels.
#[derive(Clone)]
pub struct ExecutionChannels {
    channels: Arc<Mutex<HashMap<Url, Channel>>>,
    authorization: Option<Arc<HeaderValue>>,
}

impl std::fmt::Debug for ExecutionChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionChannels")
            .field("authenticated", &self.authorization.is_some())
            .finish_non_exhaustive()
    }
}

impl ExecutionChannels {
    /// Channels presenting `secret`. A secret that cannot be a header value (it has control
    /// characters) presents nothing, and the workers refuse the calls.
    pub fn new(secret: Option<&str>) -> Self {
        let authorization = secret.and_then(|secret| {
            let mut value = HeaderValue::from_str(&format!("Bearer {secret}")).ok()?;
            value.set_sensitive(true);
            Some(Arc::new(value))
        });
        ExecutionChannels {
            channels: Arc::default(),
            authorization,
        }
    }

    /// The channel to `url`, made on first use.
    fn channel(&self, url: &Url) -> Result<Channel> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(channel) = channels.get(url) {
            return Ok(channel.clone());
        }
        let endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|error| {
                DataFusionError::Execution(format!(
                    "worker execution address \"{url}\" is not usable: {error}"
                ))
            })?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
            .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
            .keep_alive_while_idle(true);
        let channel = endpoint.connect_lazy();
        channels.insert(url.clone(), channel.clone());
        Ok(channel)
    }
}

#[async_trait]
impl ChannelResolver for ExecutionChannels {
    async fn get_worker_client_for_url(&self, url: &Url) -> Result<Box<dyn WorkerChannel>> {
        let channel = self.channel(url)?;
        let service = match self.authorization.clone() {
            None => BoxCloneSyncChannel::new(channel),
            Some(authorization) => BoxCloneSyncChannel::new(channel.map_request(
                move |mut request: http::Request<_>| {
                    request
                        .headers_mut()
                        .insert(http::header::AUTHORIZATION, authorization.as_ref().clone());
                    request
                },
            )),
        };
        Ok(Box::new(NamedWorker {
            inner: create_worker_client(service),
            url: url.clone(),
        }))
    }
}

/// A worker client whose errors name the worker's address.
struct NamedWorker {
    inner: Box<dyn WorkerChannel>,
    url: Url,
}

impl NamedWorker {
    fn named(url: &Url, error: DataFusionError) -> DataFusionError {
        DataFusionError::Context(format!("worker at {url}"), Box::new(error))
    }

    fn named_stream<T: Send + 'static>(
        &self,
        stream: BoxStream<'static, Result<T>>,
    ) -> BoxStream<'static, Result<T>> {
        let url = self.url.clone();
        stream
            .map(move |item| item.map_err(|error| Self::named(&url, error)))
            .boxed()
    }
}

#[async_trait]
impl WorkerChannel for NamedWorker {
    async fn coordinator_channel(
        &mut self,
        headers: HeaderMap,
        set_plan_request: SetPlanRequest,
        c2w_stream: BoxStream<'static, CoordinatorToWorkerMsg>,
        metrics: ExecutionPlanMetricsSet,
        task_ctx: &Arc<TaskContext>,
    ) -> Result<BoxStream<'static, Result<WorkerToCoordinatorMsg>>> {
        let stream = self
            .inner
            .coordinator_channel(headers, set_plan_request, c2w_stream, metrics, task_ctx)
            .await
            .map_err(|error| Self::named(&self.url, error))?;
        Ok(self.named_stream(stream))
    }

    async fn execute_task(
        &mut self,
        headers: HeaderMap,
        request: ExecuteTaskRequest,
        metrics: ExecutionPlanMetricsSet,
        task_ctx: &Arc<TaskContext>,
    ) -> Result<Vec<BoxStream<'static, Result<RecordBatch>>>> {
        let streams = self
            .inner
            .execute_task(headers, request, metrics, task_ctx)
            .await
            .map_err(|error| Self::named(&self.url, error))?;
        Ok(streams
            .into_iter()
            .map(|stream| self.named_stream(stream))
            .collect())
    }

    async fn get_worker_info(
        &mut self,
        request: GetWorkerInfoRequest,
    ) -> Result<GetWorkerInfoResponse> {
        self.inner
            .get_worker_info(request)
            .await
            .map_err(|error| Self::named(&self.url, error))
    }
}

/// Whether a call's `authorization` metadata presents `secret`; `Err` is the status to refuse
/// it with. With no secret configured (dev mode only), every call passes.
#[allow(clippy::result_large_err)]
pub fn check_cluster_secret(
    secret: Option<&str>,
    authorization: Option<&[u8]>,
) -> Result<(), tonic::Status> {
    let Some(secret) = secret else {
        return Ok(());
    };
    let Some(presented) = authorization else {
        return Err(tonic::Status::unauthenticated(
            "the execution service needs the cluster secret as `authorization: Bearer <secret>`",
        ));
    };
    let presented = presented
        .strip_prefix(b"Bearer ")
        .or_else(|| presented.strip_prefix(b"bearer "))
        .unwrap_or(b"");
    if bool::from(presented.ct_eq(secret.as_bytes())) {
        Ok(())
    } else {
        Err(tonic::Status::permission_denied("wrong cluster secret"))
    }
}
