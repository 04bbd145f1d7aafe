//! Starting a worker: check the config, settle its id, build the runtime, bind the port, serve
//! the worker endpoint, register with the coordinator and heartbeat; on Ctrl-C or SIGTERM stop
//! taking requests, say goodbye and exit.

use std::future::Future;
use std::io;
use std::path::Path;

use quarry_runtime::Runtime;
use tokio::net::TcpListener;

use crate::http_server::{HttpServing, serve_http};
use crate::worker::api::router;
use crate::worker::config::{Worker, WorkerConfigError};
use crate::worker::coordinator_link::CoordinatorLink;
use crate::worker::execution_service::{serve_execution, stage_runtime};
use crate::worker::membership::{say_goodbye, stay_registered};
use crate::worker::state::{WorkerParts, WorkerState};
use crate::worker_identity::{WorkerKey, is_valid_worker_id};

/// Why the worker could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] WorkerConfigError),
    #[error("sandbox runtime: {0}")]
    Runtime(#[from] quarry_runtime::Error),
    #[error("worker identity file {path}: {source}")]
    IdFile { path: String, source: io::Error },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("invalid worker id \"{0}\": use letters, digits, '-', '_' and '.', at most 128")]
    InvalidId(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: io::Error,
    },
    #[error("http server: {0}")]
    Http(io::Error),
    #[error("query stage runtime: {0}")]
    StageRuntime(datafusion::error::DataFusionError),
}

/// Serves a worker configured by `config` until Ctrl-C or SIGTERM.
pub async fn serve(config: Worker) -> Result<(), ServeError> {
    config.check()?;
    let listener = TcpListener::bind(config.http_addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.http_addr,
            source,
        })?;
    serve_on(listener, config, crate::shutdown_signal::shutdown_signal()).await
}

/// Serves a worker on an already bound `listener` until `shutdown` resolves.
pub async fn serve_on(
    listener: TcpListener,
    config: Worker,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    config.check()?;
    if config.dev_mode && config.cluster_secret.is_none() {
        tracing::warn!("dev mode without a cluster secret: this worker's endpoint is open");
    }
    let id = match &config.id {
        Some(id) => id.clone(),
        None => worker_id_from(&config.cache_dir)?,
    };
    if !is_valid_worker_id(&id) {
        return Err(ServeError::InvalidId(id));
    }
    let key_path = config.cache_dir.join("worker-key");
    let key = WorkerKey::load_or_create(&key_path).map_err(|source| ServeError::IdFile {
        path: key_path.display().to_string(),
        source,
    })?;
    let runtime = Runtime::new(config.runtime_config())?;
    let serving = HttpServing {
        tls: config.tls.as_ref().map(crate::tls::acceptor).transpose()?,
        header_timeout: config.http_header_timeout,
    };
    let coordinator_http = crate::tls::http_client(config.tls_ca.as_deref())?;
    let scheme = if serving.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let bound = listener.local_addr().map_err(ServeError::Http)?;
    let address = config
        .advertise_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{bound}"));
    let execution_bind = config.execution_bind_addr();
    let execution_listener =
        TcpListener::bind(execution_bind)
            .await
            .map_err(|source| ServeError::Bind {
                addr: execution_bind,
                source,
            })?;
    let execution_bound = execution_listener.local_addr().map_err(ServeError::Http)?;
    let execution_address = execution_url(config.advertise_url.as_deref(), execution_bound);
    let state = WorkerState::new(WorkerParts {
        id: id.clone(),
        runtime,
        link: CoordinatorLink::new(
            coordinator_http,
            &config.coordinator_url,
            config.cluster_secret.clone(),
        ),
        components_dir: config.cache_dir.join("components"),
        cluster_secret: config.cluster_secret.clone(),
        environment: config.environment.clone(),
        env_allow: config.env_allow.clone(),
        key: std::sync::Arc::new(key),
        load_concurrency: config.load_concurrency,
        execution_address: Some(execution_address.clone()),
    });
    tracing::info!(worker = %id, %bound, %address, %execution_address,
        coordinator = %config.coordinator_url, "worker listening");
    println!("quarry worker {id} runs query stages on {execution_address}");
    println!("quarry worker {id} listening on {scheme}://{bound}");
    // One shutdown for both servers.
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let stage_runtime = stage_runtime(config.stage_memory).map_err(ServeError::StageRuntime)?;
    let execution = tokio::spawn({
        let state = state.clone();
        let mut stop = stop.clone();
        async move {
            let stopped = async move {
                let _ = stop.wait_for(|stopping| *stopping).await;
            };
            if let Err(error) =
                serve_execution(execution_listener, state, stage_runtime, stopped).await
            {
                tracing::error!(%error, "execution service stopped");
            }
        }
    });
    let membership = tokio::spawn(stay_registered(
        state.clone(),
        address,
        config.heartbeat_interval,
    ));
    let served = serve_http(listener, router(state.clone()), serving, shutdown).await;
    tracing::info!(worker = %id, "worker stopping");
    membership.abort();
    execution.abort();
    say_goodbye(&state).await;
    served.map_err(ServeError::Http)
}

/// The execution service's URL: the host of `advertise_url` (or the bound IP) with the bound
/// port. Plain `http://`: the service authenticates every call with the cluster secret.
fn execution_url(advertise_url: Option<&str>, bound: std::net::SocketAddr) -> String {
    let advertised_host = advertise_url
        .and_then(|url| url::Url::parse(url).ok())
        .and_then(|url| url.host_str().map(str::to_owned));
    match advertised_host {
        Some(host) => format!("http://{host}:{}", bound.port()),
        None => format!("http://{bound}"),
    }
}

/// The id kept in `cache_dir/worker-id`, created on first start, so a restarted worker is the
/// same worker to the coordinator.
fn worker_id_from(cache_dir: &Path) -> Result<String, ServeError> {
    let path = cache_dir.join("worker-id");
    let id_error = |source| ServeError::IdFile {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(id) => return Ok(id.trim().to_owned()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(id_error(e)),
    }
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|e| id_error(io::Error::other(e.to_string())))?;
    let id = format!("worker-{}", hex::encode(random));
    std::fs::create_dir_all(cache_dir).map_err(id_error)?;
    std::fs::write(&path, format!("{id}\n")).map_err(id_error)?;
    Ok(id)
}
