//! [`ExecutionChannels`]: the gRPC channels to workers' execution services, each call carrying
//! the cluster secret as `Authorization: Bearer …`, and [`check_cluster_secret`], the other end
//! of it, which a worker's execution service runs on every call.
//!
//! Both the coordinator (sending stages) and the workers (reading each other's shuffle outputs)
//! call execution services, so both use these channels. Channels are opened once per worker
//! address and reused (datafusion-distributed's `DefaultChannelResolver` caches them).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::error::DataFusionError;
use datafusion_distributed::grpc::{
    BoxCloneSyncChannel, DefaultChannelResolver, create_worker_client,
};
use datafusion_distributed::{ChannelResolver, WorkerChannel};
use http::HeaderValue;
use subtle::ConstantTimeEq;
use tower::ServiceExt;
use url::Url;

/// Channels to execution services that present `secret` (if the cluster has one).
#[derive(Clone)]
pub struct ExecutionChannels {
    channels: DefaultChannelResolver,
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
            channels: DefaultChannelResolver::default(),
            authorization,
        }
    }
}

#[async_trait]
impl ChannelResolver for ExecutionChannels {
    async fn get_worker_client_for_url(
        &self,
        url: &Url,
    ) -> Result<Box<dyn WorkerChannel>, DataFusionError> {
        let channel = self.channels.get_channel(url).await?;
        let Some(authorization) = self.authorization.clone() else {
            return Ok(create_worker_client(channel));
        };
        let authenticated = channel.map_request(move |mut request: http::Request<_>| {
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, authorization.as_ref().clone());
            request
        });
        Ok(create_worker_client(BoxCloneSyncChannel::new(
            authenticated,
        )))
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
