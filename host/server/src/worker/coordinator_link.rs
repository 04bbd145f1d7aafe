//! [`CoordinatorLink`]: the worker's calls to its coordinator, with the cluster secret:
//! register, heartbeat, goodbye, and fetching a plugin's component and precompiled artifact.

use std::time::Duration;

use reqwest::StatusCode;

use crate::sync_protocol::{RegisterWorker, WorkerGoodbye};

/// Why a call to the coordinator failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("coordinator at {url} is unreachable: {message}")]
    Unreachable { url: String, message: String },
    #[error("coordinator answered {status} to {what}: {body}")]
    Refused {
        what: String,
        status: StatusCode,
        body: String,
    },
}

impl LinkError {
    /// The coordinator does not know this worker (any more), or it stopped: register again.
    pub fn must_register(&self) -> bool {
        matches!(self, LinkError::Refused { status, .. }
            if *status == StatusCode::NOT_FOUND || *status == StatusCode::CONFLICT)
    }

    /// The coordinator answered 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, LinkError::Refused { status, .. } if *status == StatusCode::NOT_FOUND)
    }
}

/// Calls the coordinator.
#[derive(Clone, Debug)]
pub struct CoordinatorLink {
    http: reqwest::Client,
    base: String,
    cluster_secret: Option<String>,
}

/// Short calls (register, heartbeat) give up quickly so a heartbeat is never late by much.
const SHORT_CALL: Duration = Duration::from_secs(5);
/// Fetching a component or an artifact may move tens of megabytes.
const TRANSFER_CALL: Duration = Duration::from_secs(120);

impl CoordinatorLink {
    /// Calls the coordinator at `base` with `http` (which trusts its certificate for
    /// `https://`).
    pub fn new(http: reqwest::Client, base: &str, cluster_secret: Option<String>) -> Self {
        CoordinatorLink {
            http,
            base: base.trim_end_matches('/').to_owned(),
            cluster_secret,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub async fn register(&self, request: &RegisterWorker) -> Result<(), LinkError> {
        let call = self.http.post(self.url("/v1/workers")).json(request);
        self.send(call, SHORT_CALL, "register").await.map(drop)
    }

    pub async fn heartbeat(&self, id: &str) -> Result<(), LinkError> {
        let call = self
            .http
            .post(self.url(&format!("/v1/workers/{id}/heartbeat")));
        self.send(call, SHORT_CALL, "heartbeat").await.map(drop)
    }

    pub async fn goodbye(&self, id: &str, goodbye: &WorkerGoodbye) -> Result<(), LinkError> {
        let call = self
            .http
            .post(self.url(&format!("/v1/workers/{id}/goodbye")))
            .json(goodbye);
        self.send(call, SHORT_CALL, "goodbye").await.map(drop)
    }

    /// The component bytes with this sha256 (not yet checked: the caller hashes them).
    pub async fn component(&self, sha256: &str) -> Result<Vec<u8>, LinkError> {
        let call = self
            .http
            .get(self.url(&format!("/v1/plugins/by-sha256/{sha256}/component")));
        self.send(call, TRANSFER_CALL, "component fetch").await
    }

    /// The public key the coordinator signs artifact bundles with.
    pub async fn artifact_key(&self) -> Result<[u8; 32], LinkError> {
        let call = self.http.get(self.url("/v1/plugins/artifact-key"));
        let body = self.send(call, SHORT_CALL, "artifact key fetch").await?;
        let invalid = |message: &str| LinkError::Unreachable {
            url: self.url("/v1/plugins/artifact-key"),
            message: message.to_owned(),
        };
        let parsed: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| invalid("the answer is not JSON"))?;
        let key = parsed["public_key"]
            .as_str()
            .and_then(|key| hex::decode(key).ok())
            .and_then(|key| <[u8; 32]>::try_from(key).ok())
            .ok_or_else(|| invalid("the answer holds no 32-byte hex public key"))?;
        Ok(key)
    }

    /// The coordinator's signed artifact of this component for an engine with `compat`.
    pub async fn artifact(&self, sha256: &str, compat: &str) -> Result<Vec<u8>, LinkError> {
        let call = self
            .http
            .get(self.url(&format!("/v1/plugins/by-sha256/{sha256}/artifact")))
            .query(&[("compat", compat)]);
        self.send(call, TRANSFER_CALL, "artifact fetch").await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(
        &self,
        call: reqwest::RequestBuilder,
        timeout: Duration,
        what: &str,
    ) -> Result<Vec<u8>, LinkError> {
        let mut call = call.timeout(timeout);
        if let Some(secret) = &self.cluster_secret {
            call = call.bearer_auth(secret);
        }
        let unreachable = |e: reqwest::Error| LinkError::Unreachable {
            url: self.base.clone(),
            message: e.to_string(),
        };
        let response = call.send().await.map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            return Err(LinkError::Refused {
                what: what.to_owned(),
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        Ok(body.to_vec())
    }
}
