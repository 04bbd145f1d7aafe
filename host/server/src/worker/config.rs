//! [`Worker`]: everything a worker process is configured with, in one typed struct. The
//! `quarry worker` command fills it from defaults, a TOML file, `QUARRY_*` variables and flags.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use quarry_runtime::RuntimeConfig;

use crate::env_allow_list::EnvAllowList;
use crate::tls::TlsFiles;

/// A worker's configuration.
#[derive(Clone)]
pub struct Worker {
    /// Where the worker's HTTP endpoint listens (`127.0.0.1:0` picks a free port).
    pub http_addr: SocketAddr,
    /// The base URL the coordinator reaches this worker at; `None` is `http://` + the bound
    /// address.
    pub advertise_url: Option<String>,
    /// Where the execution service (query stages, over gRPC) listens; `None` is the HTTP
    /// address's IP with a free port. It is advertised with the host of `advertise_url`, if set.
    pub execution_addr: Option<SocketAddr>,
    /// The coordinator's base URL.
    pub coordinator_url: String,
    /// Where the worker keeps its id, fetched components and precompiled artifacts.
    pub cache_dir: PathBuf,
    /// The bearer token between workers and the coordinator (`QUARRY_CLUSTER_SECRET`).
    pub cluster_secret: Option<String>,
    /// The worker's id; `None` reads (or creates) `cache_dir/worker-id`, so a restarted worker
    /// keeps its id.
    pub id: Option<String>,
    /// How often the worker tells the coordinator it is alive.
    pub heartbeat_interval: Duration,
    /// Runs without a cluster secret where none is configured. For a laptop.
    pub dev_mode: bool,
    /// The sandbox runtime that runs plugins.
    pub runtime: RuntimeConfig,
    /// Where `${ENV:NAME}` references are resolved: `None` is the worker's process environment.
    pub environment: Option<BTreeMap<String, String>>,
    /// Which variables `${ENV:NAME}` may read (`QUARRY_*` never).
    pub env_allow: EnvAllowList,
    /// How many catalogs load at once during a sync.
    pub load_concurrency: usize,
    /// Memory the query stages running on this worker may hold together (hash tables, sorts,
    /// buffered batches); a stage that needs more fails with DataFusion's "resources exhausted".
    pub stage_memory: usize,
    /// TLS for the worker's endpoint; `None`: plain TCP.
    pub tls: Option<TlsFiles>,
    /// CA certificates (PEM) trusted when calling the coordinator over `https://`.
    pub tls_ca: Option<PathBuf>,
    /// A client must send a request's headers within this.
    pub http_header_timeout: Duration,
}

impl Default for Worker {
    fn default() -> Self {
        Worker {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8081)),
            advertise_url: None,
            execution_addr: None,
            coordinator_url: "http://127.0.0.1:8080".to_owned(),
            cache_dir: PathBuf::from("worker-cache"),
            cluster_secret: None,
            id: None,
            heartbeat_interval: Duration::from_secs(2),
            dev_mode: false,
            runtime: RuntimeConfig::default(),
            environment: None,
            env_allow: EnvAllowList::default(),
            load_concurrency: 4,
            stage_memory: 4 * 1024 * 1024 * 1024,
            tls: None,
            tls_ca: None,
            http_header_timeout: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("http_addr", &self.http_addr)
            .field("advertise_url", &self.advertise_url)
            .field("execution_addr", &self.execution_addr)
            .field("coordinator_url", &self.coordinator_url)
            .field("cache_dir", &self.cache_dir)
            .field(
                "cluster_secret",
                &if self.cluster_secret.is_some() {
                    "set"
                } else {
                    "unset"
                },
            )
            .field("id", &self.id)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("dev_mode", &self.dev_mode)
            .field("tls", &self.tls)
            .field("tls_ca", &self.tls_ca)
            .finish_non_exhaustive()
    }
}

/// A worker configuration that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerConfigError {
    #[error(
        "no cluster secret: set QUARRY_CLUSTER_SECRET to the coordinator's (or enable dev mode \
         to run without one, on a laptop only)"
    )]
    MissingClusterSecret,
    #[error("the cluster secret must not be empty")]
    EmptyClusterSecret,
    #[error("invalid coordinator URL \"{0}\": expected http://host:port")]
    CoordinatorUrl(String),
    #[error(
        "dev mode without a cluster secret serves only loopback addresses, and the worker's \
         address is {0}: listen on 127.0.0.1, or set QUARRY_CLUSTER_SECRET"
    )]
    DevModeOffLoopback(SocketAddr),
}

impl Worker {
    /// Checks what the worker cannot run without.
    pub fn check(&self) -> Result<(), WorkerConfigError> {
        if self.cluster_secret.as_deref() == Some("") {
            return Err(WorkerConfigError::EmptyClusterSecret);
        }
        if !self.dev_mode && self.cluster_secret.is_none() {
            return Err(WorkerConfigError::MissingClusterSecret);
        }
        if self.cluster_secret.is_none() {
            for addr in [Some(self.http_addr), self.execution_addr]
                .into_iter()
                .flatten()
            {
                if !addr.ip().is_loopback() {
                    return Err(WorkerConfigError::DevModeOffLoopback(addr));
                }
            }
        }
        if !(self.coordinator_url.starts_with("http://")
            || self.coordinator_url.starts_with("https://"))
        {
            return Err(WorkerConfigError::CoordinatorUrl(
                self.coordinator_url.clone(),
            ));
        }
        Ok(())
    }

    /// Where the execution service listens (see [`Worker::execution_addr`]).
    pub fn execution_bind_addr(&self) -> SocketAddr {
        self.execution_addr
            .unwrap_or_else(|| SocketAddr::new(self.http_addr.ip(), 0))
    }

    /// The runtime configuration: artifacts in `cache_dir/artifacts`; the coordinator's
    /// artifact key is trusted once the worker has asked for it (`worker/plugin_fetch.rs`).
    pub fn runtime_config(&self) -> RuntimeConfig {
        let mut runtime = self.runtime.clone();
        if runtime.cache_dir.is_none() {
            runtime.cache_dir = Some(self.cache_dir.join("artifacts"));
        }
        runtime
    }
}
