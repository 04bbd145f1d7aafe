//! Starting the coordinator: open the store, build the runtime, bind the ports (HTTP, and the
//! PostgreSQL wire protocol and Arrow Flight SQL when configured), start the sync task and the SQL catalogs, serve
//! until Ctrl-C or SIGTERM (or until the given shutdown future resolves), then stop the sync
//! task and close the store.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use quarry_pgwire::{PgAuthentication, PgConfig};
use quarry_runtime::Runtime;
use quarry_store::Store;
use tokio::net::TcpListener;

use crate::coordinator::api::router;
use crate::coordinator::config::{ConfigError, Coordinator};
use crate::coordinator::flight_sql::serve_flight_sql;
use crate::coordinator::sql::pg_runner::PgRunner;
use crate::coordinator::state::AppState;
use crate::http_server::serve_http;

/// Why the coordinator could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("catalog store: {0}")]
    Store(#[from] quarry_store::Error),
    #[error("sandbox runtime: {0}")]
    Runtime(#[from] quarry_runtime::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: io::Error,
    },
    #[error("http server: {0}")]
    Http(io::Error),
    #[error("TLS for the Flight SQL endpoint: {0}")]
    FlightTls(#[from] crate::tls::TlsError),
}

/// Opens what `config` names and serves the API on `config.http_addr` until Ctrl-C.
pub async fn serve(config: Coordinator) -> Result<(), ServeError> {
    config.check()?;
    let store = Store::open(&config.database_url).await?;
    let runtime = Runtime::new(config.runtime_config())?;
    let state = AppState::new(&config, store, runtime)?;
    let (listener, addr) = bind(config.http_addr).await?;
    let scheme = if state.http_serving().tls.is_some() {
        "https"
    } else {
        "http"
    };
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let pg = match config.pg_addr {
        Some(pg_addr) => {
            let (pg_listener, pg_addr) = bind(pg_addr).await?;
            let pg_config = pg_config(&state);
            match pg_config.authentication {
                PgAuthentication::Trust => tracing::warn!(
                    addr = %pg_addr,
                    "postgres wire protocol listening WITHOUT passwords (dev mode, no admin \
                     token): any local user is an admin; loopback only"
                ),
                PgAuthentication::Scram(_) => tracing::info!(
                    addr = %pg_addr,
                    "postgres wire protocol listening (SCRAM-SHA-256)"
                ),
            }
            println!("quarry coordinator postgres on {pg_addr}");
            let runner = std::sync::Arc::new(PgRunner::new(state.clone()));
            let mut stopped = stopped.clone();
            Some(tokio::spawn(quarry_pgwire::serve(
                pg_listener,
                runner,
                pg_config,
                async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                },
            )))
        }
        None => None,
    };
    let flight = match config.flight_sql_addr {
        Some(flight_addr) => {
            let (flight_listener, flight_addr) = bind(flight_addr).await?;
            let tls = config
                .tls
                .as_ref()
                .map(crate::tls::grpc_acceptor)
                .transpose()?;
            tracing::info!(
                addr = %flight_addr,
                tls = tls.is_some(),
                open = state.sql_is_open(),
                "arrow flight sql listening"
            );
            println!("quarry coordinator flight sql on {flight_addr}");
            let mut stopped = stopped.clone();
            Some(tokio::spawn(serve_flight_sql(
                flight_listener,
                state.clone(),
                tls,
                async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                },
            )))
        }
        None => None,
    };
    tracing::info!(%addr, database = state.store().backend_name(), "coordinator listening");
    println!("quarry coordinator listening on {scheme}://{addr}");
    let shutdown = async move {
        crate::shutdown_signal::shutdown_signal().await;
        let _ = stopping.send(true);
    };
    let served = serve_on(listener, state, shutdown).await;
    drop(stopped);
    if let Some(pg) = pg
        && let Ok(Err(error)) = pg.await
    {
        tracing::warn!(%error, "postgres wire protocol server stopped with an error");
    }
    if let Some(flight) = flight
        && let Ok(Err(error)) = flight.await
    {
        tracing::warn!(%error, "flight sql server stopped with an error");
    }
    served
}

/// A listener on `addr`, and the address it took (port 0 picks one).
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(ServeError::Http)?;
    Ok((listener, local))
}

/// The PostgreSQL port's settings: SCRAM against the coordinator's users, or trust when there
/// are none (dev mode without an admin token, which the config check keeps on loopback).
fn pg_config(state: &AppState) -> PgConfig {
    let limits = state.sql_limits();
    PgConfig {
        authentication: if state.sql_is_open() {
            PgAuthentication::Trust
        } else {
            PgAuthentication::Scram(state.users().clone())
        },
        tls: state.http_serving().tls.clone(),
        max_connections: limits.pg_max_connections,
        startup_timeout: limits.pg_startup_timeout,
        idle_timeout: limits.pg_idle_timeout,
    }
}

/// Serves the API for `state` on an already bound `listener` until `shutdown` resolves; the
/// store is closed afterwards. Tests bind `127.0.0.1:0` and call this.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let store = state.store().clone();
    let (stop_sync, sync_stopped) = tokio::sync::oneshot::channel::<()>();
    let sync = tokio::spawn(state.sync().clone().run(
        store.clone(),
        state.worker_http().clone(),
        state.cluster_secret_value(),
        async {
            let _ = sync_stopped.await;
        },
    ));
    let (stop_sql, sql_stopped) = tokio::sync::oneshot::channel::<()>();
    let sql = tokio::spawn(crate::coordinator::sql::queryable_catalogs::keep_queryable(
        state.clone(),
        async {
            let _ = sql_stopped.await;
        },
    ));
    let serving = state.http_serving().clone();
    let served = serve_http(listener, router(state), serving, shutdown).await;
    tracing::info!("coordinator stopping");
    let _ = stop_sync.send(());
    let _ = sync.await;
    let _ = stop_sql.send(());
    let _ = sql.await;
    store.close().await;
    served.map_err(ServeError::Http)
}
