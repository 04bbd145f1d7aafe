//! A real cluster for end-to-end tests: a `quarry coordinator` process and `quarry worker`
//! processes on 127.0.0.1, each with its own directory under one temporary directory, driven over
//! HTTP like an operator would. Processes are killed when the cluster is dropped.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_schema::SchemaRef;
pub use quarry_testing::QuarryProcess;
pub use quarry_testing::plugin_component::plugin_path;
use quarry_testing::{CoordinatorClient, metrics_text};
use serde_json::{Value, json};

use crate::common::test_certificates::TestCertificates;

pub const ADMIN_TOKEN: &str = "e2e-admin-token";
pub const CLUSTER_SECRET: &str = "e2e-cluster-secret";

/// How long a process may take to print that it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a process may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The `quarry` binary cargo built for these tests.
pub fn quarry_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_quarry"))
}

/// A free port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts `command` as the process `name` and waits for its `… listening on http(s)://ADDR`
/// line; fails with its output when it does not come.
pub fn spawn_listening(name: &str, command: Command) -> QuarryProcess {
    let mut process = QuarryProcess::spawn(name, command).unwrap_or_else(|e| panic!("{e:#}"));
    process
        .wait_until_listening(START_TIMEOUT)
        .unwrap_or_else(|e| panic!("{name} did not say it listens: {e:#}"));
    process
}

/// Timings short enough for tests.
#[derive(Clone, Debug)]
pub struct Timings {
    pub sync_interval: &'static str,
    pub heartbeat_interval: &'static str,
    pub heartbeat_timeout: &'static str,
    pub worker_request_timeout: &'static str,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            sync_interval: "1s",
            heartbeat_interval: "200ms",
            heartbeat_timeout: "2s",
            worker_request_timeout: "30s",
        }
    }
}

/// A coordinator, its workers and an admin client.
pub struct Cluster {
    dir: tempfile::TempDir,
    database_url: String,
    port: u16,
    timings: Timings,
    coordinator_env: Vec<(String, String)>,
    /// The PostgreSQL wire protocol port, when the coordinator serves it.
    pg_port: Option<u16>,
    /// The Flight SQL port, served alongside the PostgreSQL port.
    flight_sql_port: Option<u16>,
    pub coordinator: Option<QuarryProcess>,
    pub workers: BTreeMap<String, QuarryProcess>,
    /// The admin's client of the coordinator (its HTTP client also calls the workers).
    client: CoordinatorClient,
    tls: Option<TestCertificates>,
}

impl Cluster {
    /// Starts a coordinator over `database_url` (no workers yet).
    pub fn start(database_url: &str) -> Cluster {
        Cluster::start_with(database_url, Timings::default(), &[])
    }

    /// Starts a coordinator with these timings and extra environment variables.
    pub fn start_with(database_url: &str, timings: Timings, env: &[(&str, &str)]) -> Cluster {
        Cluster::launch(database_url, timings, env, false, None)
    }

    /// A coordinator (with the PostgreSQL and Flight SQL ports when `pg`, with TLS on all of
    /// them when `tls` is given) started with these timings and extra environment variables.
    fn launch(
        database_url: &str,
        timings: Timings,
        env: &[(&str, &str)],
        pg: bool,
        tls: Option<TestCertificates>,
    ) -> Cluster {
        let http = match &tls {
            None => reqwest::Client::new(),
            Some(certificates) => reqwest::Client::builder()
                .add_root_certificate(
                    reqwest::Certificate::from_pem(&std::fs::read(&certificates.ca).unwrap())
                        .unwrap(),
                )
                .build()
                .unwrap(),
        };
        let port = free_port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let client = CoordinatorClient::with_http(
            &format!("{scheme}://127.0.0.1:{port}"),
            ADMIN_TOKEN,
            http,
        );
        let mut cluster = Cluster {
            dir: tempfile::tempdir().unwrap(),
            database_url: database_url.to_owned(),
            port,
            timings,
            coordinator_env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            pg_port: pg.then(free_port),
            flight_sql_port: pg.then(free_port),
            coordinator: None,
            workers: BTreeMap::new(),
            client,
            tls,
        };
        cluster.start_coordinator();
        cluster
    }

    /// A coordinator serving HTTP and the PostgreSQL port over TLS with `certificates`; its
    /// workers (started with [`Self::start_worker`]) serve TLS too, and every process trusts
    /// the test CA.
    pub fn start_with_tls(database_url: &str, certificates: TestCertificates) -> Cluster {
        Cluster::launch(
            database_url,
            Timings::default(),
            &[],
            true,
            Some(certificates),
        )
    }

    /// The TLS files, for a TLS cluster.
    pub fn certificates(&self) -> Option<&TestCertificates> {
        self.tls.as_ref()
    }

    /// The TLS environment of every process of a TLS cluster.
    fn tls_env(&self) -> Vec<(&'static str, String)> {
        match &self.tls {
            None => Vec::new(),
            Some(certificates) => vec![
                ("QUARRY_TLS_CERT", certificates.cert.display().to_string()),
                ("QUARRY_TLS_KEY", certificates.key.display().to_string()),
                ("QUARRY_TLS_CA", certificates.ca.display().to_string()),
            ],
        }
    }

    /// Starts a coordinator that also serves the PostgreSQL wire protocol and Flight SQL (see
    /// [`Self::pg_port`], [`Self::flight_sql_port`]).
    pub fn start_with_pg(database_url: &str) -> Cluster {
        Cluster::start_with_pg_and(database_url, &[])
    }

    /// [`Self::start_with_pg`] with extra environment variables for the coordinator.
    pub fn start_with_pg_and(database_url: &str, env: &[(&str, &str)]) -> Cluster {
        Cluster::launch(database_url, Timings::default(), env, true, None)
    }

    /// The port psql connects to, when served.
    pub fn pg_port(&self) -> Option<u16> {
        self.pg_port
    }

    /// The port Flight SQL clients connect to, when served.
    pub fn flight_sql_port(&self) -> Option<u16> {
        self.flight_sql_port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The coordinator's base URL; the same across restarts.
    pub fn url(&self) -> String {
        self.client.base_url().to_owned()
    }

    /// Starts the coordinator process (again) on the cluster's port, database and data dir.
    pub fn start_coordinator(&mut self) {
        assert!(self.coordinator.is_none(), "the coordinator is running");
        let mut command = Command::new(quarry_bin());
        command
            .arg("coordinator")
            .args(["--http", &format!("127.0.0.1:{}", self.port)])
            .args(["--database", &self.database_url])
            .args([
                "--data-dir",
                &self.dir.path().join("coordinator").display().to_string(),
            ])
            .args(["--sync-interval", self.timings.sync_interval])
            .args(["--heartbeat-timeout", self.timings.heartbeat_timeout])
            .args([
                "--worker-request-timeout",
                self.timings.worker_request_timeout,
            ])
            .env("QUARRY_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("QUARRY_CLUSTER_SECRET", CLUSTER_SECRET)
            .env("RUST_LOG", "info")
            .envs(self.tls_env())
            .envs(self.coordinator_env.iter().map(|(k, v)| (k, v)));
        if let Some(pg_port) = self.pg_port {
            command.args(["--pg", &format!("127.0.0.1:{pg_port}")]);
        }
        if let Some(flight_sql_port) = self.flight_sql_port {
            command.args(["--flight-sql", &format!("127.0.0.1:{flight_sql_port}")]);
        }
        self.coordinator = Some(spawn_listening("coordinator", command));
    }

    /// Replaces the coordinator's extra environment for its next start.
    pub fn set_coordinator_env(&mut self, env: &[(&str, &str)]) {
        self.coordinator_env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
    }

    /// SIGTERM to the coordinator; asserts it exits cleanly.
    pub fn stop_coordinator(&mut self) {
        let mut coordinator = self.coordinator.take().expect("a running coordinator");
        let status = coordinator
            .terminate(STOP_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert!(
            status.success(),
            "the coordinator exited with {status} on SIGTERM; output:\n{}",
            coordinator.output()
        );
    }

    /// Starts worker `id`, uploads the tpch plugin and creates a `tpch` catalog with default
    /// properties, ready on that worker.
    pub async fn with_ready_tpch_on(&mut self, id: &str) {
        self.start_worker(id, &[]);
        let tpch = self.upload_plugin("tpch").await;
        self.create_catalog("tpch", &tpch, json!({})).await;
        self.wait_for_catalog("tpch", 1, "ready", &[id], "loaded")
            .await;
    }

    /// Starts a worker `id` with its cache in the cluster's directory and extra environment.
    pub fn start_worker(&mut self, id: &str, env: &[(&str, &str)]) {
        assert!(!self.workers.contains_key(id), "worker {id} is running");
        let mut command = Command::new(quarry_bin());
        command
            .arg("worker")
            .args(["--coordinator", &self.url()])
            .args(["--http", "127.0.0.1:0"])
            .args([
                "--cache-dir",
                &self.dir.path().join(id).display().to_string(),
            ])
            .args(["--id", id])
            .args(["--heartbeat-interval", self.timings.heartbeat_interval])
            .env("QUARRY_CLUSTER_SECRET", CLUSTER_SECRET)
            .env("RUST_LOG", "info")
            .envs(self.tls_env())
            .envs(env.iter().copied());
        self.workers.insert(
            id.to_owned(),
            spawn_listening(&format!("worker {id}"), command),
        );
    }

    /// Worker `id`'s HTTP base URL.
    pub fn worker_url(&self, id: &str) -> &str {
        self.workers[id].url()
    }

    /// `kill -9` a worker.
    pub fn kill_worker(&mut self, id: &str) {
        let mut worker = self.workers.remove(id).expect("a running worker");
        worker.kill();
    }

    /// Everything the processes printed, for failure messages.
    pub fn outputs(&self) -> String {
        let mut all = String::new();
        if let Some(coordinator) = &self.coordinator {
            all.push_str(&format!("--- coordinator ---\n{}", coordinator.output()));
        }
        for (id, worker) in &self.workers {
            all.push_str(&format!("--- worker {id} ---\n{}", worker.output()));
        }
        all
    }

    /// `POST /v1/statement` with JSON, as the admin; the status and the JSON body.
    pub async fn statement(&self, sql: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            "/v1/statement",
            Some(json!({ "sql": sql })),
        )
        .await
    }

    /// `POST /v1/statement` as the admin, asking for an Arrow IPC stream; asserts 200 and
    /// answers the result's schema and batches.
    pub async fn arrow_statement(&self, sql: &str) -> (SchemaRef, Vec<RecordBatch>) {
        let response = self
            .client
            .http()
            .post(format!("{}/v1/statement", self.url()))
            .bearer_auth(ADMIN_TOKEN)
            .header("accept", "application/vnd.apache.arrow.stream")
            .json(&json!({ "sql": sql }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.bytes().await.unwrap();
        assert_eq!(
            status,
            200,
            "{sql}: {}\n{}",
            String::from_utf8_lossy(&body),
            self.outputs()
        );
        assert_eq!(
            content_type.as_deref(),
            Some("application/vnd.apache.arrow.stream")
        );
        let reader = StreamReader::try_new(Cursor::new(body), None).unwrap();
        let schema = reader.schema();
        let batches = reader.collect::<Result<Vec<_>, _>>().unwrap();
        (schema, batches)
    }

    /// An admin call; answers the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, value) = self
            .client
            .call(method, path, body.as_ref())
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        (status.as_u16(), value)
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Worker `id`'s `/metrics` value for `name` (0 if absent).
    pub async fn worker_metric(&self, id: &str, name: &str) -> f64 {
        self.metric(self.workers[id].url(), name).await
    }

    /// The coordinator's `/metrics` value for `name`, labels included
    /// (`quarry_queries_total{outcome="failed"}`); 0 if absent.
    pub async fn coordinator_metric(&self, name: &str) -> f64 {
        self.metric(&self.url(), name).await
    }

    async fn metric(&self, base_url: &str, name: &str) -> f64 {
        let url = format!("{base_url}/metrics");
        let text = self
            .client
            .http()
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics_text::sample(&text, name).unwrap_or(0.0)
    }

    /// Uploads `target/plugins/<name>.wasm`; returns `name@version`.
    pub async fn upload_plugin(&self, name: &str) -> String {
        let bytes = std::fs::read(plugin_path(name)).unwrap();
        self.client
            .upload_plugin(bytes)
            .await
            .unwrap_or_else(|e| panic!("upload {name}: {e:#}"))
            .reference()
    }

    /// Creates a catalog; asserts 201.
    pub async fn create_catalog(&self, name: &str, plugin: &str, properties: Value) -> Value {
        self.create_catalog_from(
            json!({ "name": name, "plugin": plugin, "properties": properties }),
        )
        .await
    }

    /// Creates a catalog from a whole `POST /v1/catalogs` body (grants too); asserts 201, and
    /// otherwise fails with the answer and the processes' output.
    pub async fn create_catalog_from(&self, body: Value) -> Value {
        self.client
            .create_catalog_from(&body)
            .await
            .unwrap_or_else(|e| panic!("{e:#}\n{}", self.outputs()))
    }

    /// What worker `id` says it holds (its own endpoint, with the cluster secret).
    pub async fn held_by(&self, id: &str) -> Value {
        let worker = &self.workers[id];
        let response = self
            .client
            .http()
            .get(format!("{}/v1/worker/catalogs", worker.url()))
            .bearer_auth(CLUSTER_SECRET)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.unwrap()
    }

    /// Polls `probe` every 50 ms until it answers `Some`, for at most `timeout`; on timeout
    /// fails with `what`, the last value seen and every process's output.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, timeout: Duration, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            match probe().await {
                Ok(value) => return value,
                Err(last) => {
                    if Instant::now() > deadline {
                        panic!(
                            "timed out after {timeout:?} waiting for {what}; last seen: {last}\n{}",
                            self.outputs()
                        );
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until catalog `name` is at `generation` and its status is `status`, with exactly
    /// `workers` in its per-worker list, each in `worker_state`. Returns the catalog.
    pub async fn wait_for_catalog(
        &self,
        name: &str,
        generation: i64,
        status: &str,
        workers: &[&str],
        worker_state: &str,
    ) -> Value {
        let path = format!("/v1/catalogs/{name}");
        let mut expected: Vec<String> = workers.iter().map(|w| (*w).to_owned()).collect();
        expected.sort();
        self.wait_for(
            &format!("catalog {name} {status} at generation {generation} on {workers:?}"),
            Duration::from_secs(60),
            || async {
                let (code, catalog) = self.call(reqwest::Method::GET, &path, None).await;
                if code != 200 {
                    return Err(format!("{code} {catalog}"));
                }
                let mut seen: Vec<String> = catalog["workers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|w| w["state"] == worker_state && w["generation"] == json!(generation))
                    .filter_map(|w| w["worker"].as_str().map(str::to_owned))
                    .collect();
                seen.sort();
                let all_listed =
                    catalog["workers"].as_array().map_or(0, Vec::len) == expected.len();
                if catalog["generation"] == json!(generation)
                    && catalog["status"] == status
                    && seen == expected
                    && all_listed
                {
                    Ok(catalog)
                } else {
                    Err(catalog.to_string())
                }
            },
        )
        .await
    }
}
