//! [`WorkerClient`]: the coordinator's HTTP calls to workers (`GET /v1/worker/catalogs`,
//! `POST /v1/worker/sync`), each with a deadline, so a worker that accepts connections and never
//! answers costs its own syncer a timeout and nobody else anything.

use std::time::Duration;

use reqwest::StatusCode;

use crate::sync_protocol::{HeldState, SyncRequest};

/// Why a call to a worker failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkerCallError {
    #[error("worker at {address} did not answer within {timeout:?}")]
    Timeout { address: String, timeout: Duration },
    #[error("worker at {address} is unreachable: {message}")]
    Unreachable { address: String, message: String },
    /// The worker restarted since the request was computed.
    #[error("worker at {address} is another process than the one this sync was computed for")]
    WrongInstance { address: String },
    #[error("worker at {address} answered {status}: {body}")]
    Refused {
        address: String,
        status: StatusCode,
        body: String,
    },
}

/// Calls workers with the cluster secret.
#[derive(Clone, Debug)]
pub struct WorkerClient {
    http: reqwest::Client,
    cluster_secret: Option<String>,
    timeout: Duration,
}

impl WorkerClient {
    pub fn new(http: reqwest::Client, cluster_secret: Option<String>, timeout: Duration) -> Self {
        WorkerClient {
            http,
            cluster_secret,
            timeout,
        }
    }

    /// What the worker at `address` holds.
    pub async fn held(&self, address: &str) -> Result<HeldState, WorkerCallError> {
        let url = format!("{}/v1/worker/catalogs", address.trim_end_matches('/'));
        self.call(address, self.http.get(url)).await
    }

    /// Sends loads and unloads; answers what the worker holds afterwards.
    pub async fn sync(
        &self,
        address: &str,
        request: &SyncRequest,
    ) -> Result<HeldState, WorkerCallError> {
        let url = format!("{}/v1/worker/sync", address.trim_end_matches('/'));
        self.call(address, self.http.post(url).json(request)).await
    }

    async fn call(
        &self,
        address: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<HeldState, WorkerCallError> {
        let mut request = request.timeout(self.timeout);
        if let Some(secret) = &self.cluster_secret {
            request = request.bearer_auth(secret);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.failure(address, &e))?;
        let status = response.status();
        if status == StatusCode::CONFLICT {
            return Err(WorkerCallError::WrongInstance {
                address: address.to_owned(),
            });
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(WorkerCallError::Refused {
                address: address.to_owned(),
                status,
                body,
            });
        }
        response
            .json::<HeldState>()
            .await
            .map_err(|e| self.failure(address, &e))
    }

    fn failure(&self, address: &str, error: &reqwest::Error) -> WorkerCallError {
        if error.is_timeout() {
            WorkerCallError::Timeout {
                address: address.to_owned(),
                timeout: self.timeout,
            }
        } else {
            WorkerCallError::Unreachable {
                address: address.to_owned(),
                message: error.to_string(),
            }
        }
    }
}
