//! [`CoordinatorClient`]: the calls of the coordinator's control API (`/v1`) that the
//! end-to-end tests and the benchmarks make, with the admin token: any call, answered with its
//! status and JSON body; upload and delete plugins; create, read and delete catalogs; count
//! live workers; run a statement (JSON, or an Arrow stream decoded as it arrives); read `/metrics`. Plus plain GETs of a worker's `/readyz` and
//! `/metrics` (no token).
//!
//! A helper for tests and benchmarks, not the `quarry` command's own client (host/cli), which
//! is product code with its own error messages.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An uploaded plugin: `name@version` and the sha256 of its bytes.
#[derive(Clone, Debug)]
pub struct PluginRef {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

impl PluginRef {
    /// `name@version`, how a catalog names its plugin.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// What `GET /v1/catalogs/{name}` says about where a catalog is loaded.
#[derive(Debug)]
pub struct CatalogStatus {
    pub status: String,
    pub generation: i64,
    /// (worker, generation, state, error) per live worker.
    pub workers: Vec<WorkerLoad>,
}

/// One live worker's report on a catalog.
#[derive(Debug)]
pub struct WorkerLoad {
    pub worker: String,
    pub generation: i64,
    pub state: String,
    pub error: Option<String>,
}

impl CatalogStatus {
    /// `ready`, with exactly `workers` live workers that all hold the current generation.
    pub fn loaded_on(&self, workers: usize) -> bool {
        self.status == "ready"
            && self.workers.len() == workers
            && self
                .workers
                .iter()
                .all(|w| w.state == "loaded" && w.generation == self.generation)
    }

    /// The workers' errors, one line each, when the catalog failed.
    pub fn errors(&self) -> String {
        self.workers
            .iter()
            .filter_map(|w| Some(format!("{}: {}", w.worker, w.error.as_deref()?)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A client for one coordinator (cheap to clone: the connection pool is shared).
#[derive(Clone, Debug)]
pub struct CoordinatorClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

impl CoordinatorClient {
    /// A client of the coordinator at `base_url` (`http://127.0.0.1:PORT`) calling as `token`.
    pub fn new(base_url: &str, token: &str) -> anyhow::Result<CoordinatorClient> {
        Ok(CoordinatorClient::with_http(
            base_url,
            token,
            http_client()?,
        ))
    }

    /// A client that sends its calls with `http` (one that trusts a test CA, say).
    pub fn with_http(base_url: &str, token: &str, http: reqwest::Client) -> CoordinatorClient {
        CoordinatorClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    /// `method path` with the token and a JSON `body` (if any), whatever it answers: the status
    /// and the body as JSON (`Null` when empty, a JSON string when it is not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let what = format!("{method} {path}");
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.with_context(|| what.clone())?;
        let status = response.status();
        let text = response.text().await.with_context(|| what.clone())?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, value))
    }

    /// `POST /v1/plugins` with the component's bytes.
    pub async fn upload_plugin(&self, bytes: Vec<u8>) -> anyhow::Result<PluginRef> {
        let response = self
            .request(reqwest::Method::POST, "/v1/plugins")
            .header(reqwest::header::CONTENT_TYPE, "application/wasm")
            .body(bytes)
            .send()
            .await
            .context("POST /v1/plugins")?;
        let body = expect_json(response, "POST /v1/plugins").await?;
        let field = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("POST /v1/plugins: no {name:?} in {body}"))
        };
        Ok(PluginRef {
            name: field("name")?,
            version: field("version")?,
            sha256: field("sha256")?,
        })
    }

    /// `DELETE /v1/plugins/{name}/{version}`.
    pub async fn delete_plugin(&self, plugin: &PluginRef) -> anyhow::Result<()> {
        self.delete(&format!("/v1/plugins/{}/{}", plugin.name, plugin.version))
            .await
    }

    /// `POST /v1/catalogs` with no properties; expects 201.
    pub async fn create_catalog(&self, name: &str, plugin: &str) -> anyhow::Result<()> {
        self.create_catalog_with(name, plugin, &[]).await
    }

    /// `POST /v1/catalogs` with `properties`; expects 201.
    pub async fn create_catalog_with(
        &self,
        name: &str,
        plugin: &str,
        properties: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        self.create_catalog_granted(name, plugin, properties, &[])
            .await
    }

    /// `POST /v1/catalogs` with string properties and read-only access to `allowed_paths`.
    pub async fn create_catalog_granted(
        &self,
        name: &str,
        plugin: &str,
        properties: &[(&str, &str)],
        allowed_paths: &[&std::path::Path],
    ) -> anyhow::Result<()> {
        let properties: serde_json::Map<String, Value> = properties
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        let mut body = json!({"name": name, "plugin": plugin, "properties": properties});
        if !allowed_paths.is_empty() {
            body["grants"] = json!({ "allowed_paths": allowed_paths });
        }
        self.create_catalog_from(&body).await.map(drop)
    }

    /// `POST /v1/catalogs` with `body` as it is; expects 201 and answers the catalog.
    pub async fn create_catalog_from(&self, body: &Value) -> anyhow::Result<Value> {
        let what = format!(
            "POST /v1/catalogs {}",
            body["name"].as_str().unwrap_or_default()
        );
        let (status, answer) = self
            .call(reqwest::Method::POST, "/v1/catalogs", Some(body))
            .await?;
        if status != StatusCode::CREATED {
            bail!("{what}: HTTP {status} (expected 201 Created): {answer}");
        }
        Ok(answer)
    }

    /// `GET /v1/catalogs/{name}`.
    pub async fn catalog(&self, name: &str) -> anyhow::Result<CatalogStatus> {
        let path = format!("/v1/catalogs/{name}");
        let body = self.get_json(&path).await?;
        catalog_status(&body).with_context(|| format!("GET {path}: unexpected answer {body}"))
    }

    /// `DELETE /v1/catalogs/{name}`.
    pub async fn delete_catalog(&self, name: &str) -> anyhow::Result<()> {
        self.delete(&format!("/v1/catalogs/{name}")).await
    }

    /// How many workers `GET /v1/workers` lists as `alive`.
    pub async fn alive_workers(&self) -> anyhow::Result<usize> {
        let body = self.get_json("/v1/workers").await?;
        let workers = body
            .get("workers")
            .and_then(Value::as_array)
            .with_context(|| format!("GET /v1/workers: unexpected answer {body}"))?;
        Ok(workers
            .iter()
            .filter(|w| w.get("state").and_then(Value::as_str) == Some("alive"))
            .count())
    }

    /// The coordinator's `/metrics` text.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        let (status, text) = get_text(&self.http, &self.url("/metrics")).await?;
        if status != StatusCode::OK {
            bail!("GET /metrics: HTTP {status}: {text}");
        }
        Ok(text)
    }

    /// `POST /v1/statement`: the JSON result of one SQL statement.
    pub async fn statement(&self, sql: &str) -> anyhow::Result<Value> {
        let response = self
            .request(reqwest::Method::POST, "/v1/statement")
            .json(&json!({ "sql": sql }))
            .send()
            .await
            .context("POST /v1/statement")?;
        expect_json(response, "POST /v1/statement").await
    }

    /// `POST /v1/statement` asking for an Arrow IPC stream, decoded as it arrives: calls `each`
    /// with every batch, and answers the number of rows.
    pub async fn statement_arrow(
        &self,
        sql: &str,
        mut each: impl FnMut(&RecordBatch),
    ) -> anyhow::Result<u64> {
        let mut response = self
            .http
            .post(self.url("/v1/statement"))
            .bearer_auth(&self.token)
            .header("accept", "application/vnd.apache.arrow.stream")
            .json(&json!({ "sql": sql }))
            .send()
            .await
            .context("POST /v1/statement")?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            bail!("POST /v1/statement: HTTP {status}: {text}");
        }
        let mut decoder = StreamDecoder::new();
        let mut rows = 0;
        while let Some(chunk) = response.chunk().await.context("reading the Arrow stream")? {
            let mut buffer = Buffer::from(chunk);
            while !buffer.is_empty() {
                if let Some(batch) = decoder
                    .decode(&mut buffer)
                    .context("decoding the Arrow stream")?
                {
                    rows += batch.num_rows() as u64;
                    each(&batch);
                }
            }
        }
        decoder
            .finish()
            .context("the Arrow stream ended in the middle of a message")?;
        Ok(rows)
    }

    /// The bytes the stages of the newest statement sent the coordinator and sent between
    /// workers (`GET /v1/queries`), waiting up to 10 s for the workers' figures.
    pub async fn moved_by_last_statement(&self) -> anyhow::Result<(u64, u64)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let body = self.get_json("/v1/queries").await?;
            let newest = &body["queries"][0];
            if let Some(stages) = newest["stages"].as_array().filter(|s| !s.is_empty()) {
                let sum = |to_coordinator: bool| -> u64 {
                    stages
                        .iter()
                        .filter(|s| (s["to"] == "coordinator") == to_coordinator)
                        .filter_map(|s| s["bytes"].as_u64())
                        .sum()
                };
                return Ok((sum(true), sum(false)));
            }
            if let Some(reason) = newest["stages_unknown"].as_str() {
                bail!(
                    "the stages of statement {} are unknown: {reason}",
                    newest["id"]
                );
            }
            if Instant::now() > deadline {
                bail!("no stage figures for the newest statement within 10 s: {newest}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `GET path` with the token: the JSON body of a 2xx answer.
    async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let what = format!("GET {path}");
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .with_context(|| what.clone())?;
        expect_json(response, &what).await
    }

    /// `DELETE path` with the token; expects 204.
    async fn delete(&self, path: &str) -> anyhow::Result<()> {
        let what = format!("DELETE {path}");
        let response = self
            .request(reqwest::Method::DELETE, path)
            .send()
            .await
            .with_context(|| what.clone())?;
        expect_status(response, StatusCode::NO_CONTENT, &what).await
    }

    /// The shared HTTP client, for the workers' endpoints.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The coordinator's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `method path` on the coordinator, with the token.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// A client for 127.0.0.1: no proxy (whatever the environment says), a generous timeout.
fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()?)
}

/// GET `url` without a token: its status and body (a worker's `/readyz` or `/metrics`).
pub async fn get_text(http: &reqwest::Client, url: &str) -> anyhow::Result<(StatusCode, String)> {
    let response = http
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .with_context(|| format!("GET {url}"))?;
    Ok((status, text))
}

fn catalog_status(body: &Value) -> Option<CatalogStatus> {
    let workers = body
        .get("workers")?
        .as_array()?
        .iter()
        .map(|w| {
            Some(WorkerLoad {
                worker: w.get("worker")?.as_str()?.to_owned(),
                generation: w.get("generation").and_then(Value::as_i64).unwrap_or(0),
                state: w.get("state")?.as_str()?.to_owned(),
                error: w.get("error").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(CatalogStatus {
        status: body.get("status")?.as_str()?.to_owned(),
        generation: body.get("generation")?.as_i64()?,
        workers,
    })
}

async fn expect_json(response: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response.text().await.with_context(|| what.to_owned())?;
    if !status.is_success() {
        bail!("{what}: HTTP {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{what}: not JSON: {text}"))
}

async fn expect_status(
    response: reqwest::Response,
    expected: StatusCode,
    what: &str,
) -> anyhow::Result<()> {
    let status = response.status();
    if status != expected {
        let text = response.text().await.unwrap_or_default();
        bail!("{what}: HTTP {status} (expected {expected}): {text}");
    }
    Ok(())
}
