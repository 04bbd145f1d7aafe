//! The admin client's HTTP side: requests to the coordinator's `/v1` API with the admin token,
//! and the API's JSON errors turned into [`ApiFailure`], whose message is what the user sees.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde_json::Value;

/// A client for one coordinator.
#[derive(Clone, Debug)]
pub struct ApiClient {
    http: reqwest::Client,
    base_url: String,
    token: Option<String>,
}

/// An error answer from the API: its status and the JSON error's code, message and details.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// `invalid_catalog`: one entry per problem.
    pub issues: Vec<Issue>,
    /// `in_use`: the catalogs that use the plugin.
    pub catalogs: Vec<String>,
}

/// One problem of an invalid request: the contract's config issue (`field` absent when the
/// problem is not about one property).
pub use quarry_contract::ConfigIssue as Issue;

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {}", self.message, self.status.as_u16())?;
        if !self.code.is_empty() {
            write!(f, ", {}", self.code)?;
        }
        write!(f, ")")?;
        for issue in &self.issues {
            match &issue.field {
                Some(field) => write!(f, "\n  {field}: {}", issue.message)?,
                None => write!(f, "\n  {}", issue.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ApiFailure {}

/// The JSON error body: `{"error": {"code", "message", "issues"?, "catalogs"?}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    message: String,
    #[serde(default)]
    issues: Vec<Issue>,
    #[serde(default)]
    catalogs: Vec<String>,
}

impl ApiClient {
    /// A client for the coordinator at `base_url` (`http://127.0.0.1:8080`), sending `token` as
    /// the bearer token when there is one.
    pub fn new(base_url: &str, token: Option<String>) -> Result<ApiClient> {
        Self::with_tls_ca(base_url, token, None)
    }

    /// [`ApiClient::new`] trusting the CA certificates in `tls_ca` for an `https://` URL.
    pub fn with_tls_ca(
        base_url: &str,
        token: Option<String>,
        tls_ca: Option<&std::path::Path>,
    ) -> Result<ApiClient> {
        let http = quarry_server::tls::client_builder(tls_ca)?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(300))
            .build()
            .context("cannot build the http client")?;
        Ok(ApiClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// The coordinator's URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `request`; a success answers its status and JSON body (`Null` when empty), an error
    /// status is an [`ApiFailure`].
    async fn send(&self, request: RequestBuilder, what: &str) -> Result<(StatusCode, Value)> {
        let response = request.send().await.with_context(|| {
            format!("{what}: cannot reach the coordinator at {}", self.base_url)
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("{what}: reading the answer"))?;
        if status.is_success() {
            let value = if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&body)
                    .with_context(|| format!("{what}: the answer is not JSON"))?
            };
            return Ok((status, value));
        }
        let failure = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(ErrorBody { error }) => ApiFailure {
                status,
                code: error.code,
                message: error.message,
                issues: error.issues,
                catalogs: error.catalogs,
            },
            Err(_) => ApiFailure {
                status,
                code: String::new(),
                message: String::from_utf8_lossy(&body).trim().to_owned(),
                issues: Vec::new(),
                catalogs: Vec::new(),
            },
        };
        Err(anyhow::Error::new(failure).context(what.to_owned()))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value> {
        let what = format!("GET {path}");
        Ok(self.send(self.request(Method::GET, path), &what).await?.1)
    }

    /// `GET path`, with a 404 answered as `None`.
    pub async fn get_optional(&self, path: &str) -> Result<Option<Value>> {
        match self.get(path).await {
            Ok(value) => Ok(Some(value)),
            Err(error) if status_of(&error) == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<(StatusCode, Value)> {
        let what = format!("POST {path}");
        self.send(self.request(Method::POST, path).json(body), &what)
            .await
    }

    /// `PUT path` with a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> Result<Value> {
        let what = format!("PUT {path}");
        Ok(self
            .send(self.request(Method::PUT, path).json(body), &what)
            .await?
            .1)
    }

    /// `POST /v1/plugins` with a component's bytes.
    pub async fn upload_plugin(&self, bytes: Vec<u8>) -> Result<(StatusCode, Value)> {
        let request = self
            .request(Method::POST, "/v1/plugins")
            .header(reqwest::header::CONTENT_TYPE, "application/wasm")
            .body(bytes);
        self.send(request, "POST /v1/plugins").await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<()> {
        let what = format!("DELETE {path}");
        self.send(self.request(Method::DELETE, path), &what).await?;
        Ok(())
    }
}

/// The HTTP status of an API error, if `error` is one.
pub fn status_of(error: &anyhow::Error) -> Option<StatusCode> {
    error
        .downcast_ref::<ApiFailure>()
        .map(|failure| failure.status)
}

/// Escapes one path segment (names are identifiers, versions semver; this keeps a stray `/` or
/// `?` from changing the route).
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'+') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
