//! The accept loop of the PostgreSQL endpoint: one task per connection, at most
//! [`PgConfig::max_connections`] of them, each closed by its watchdog when it overstays the
//! startup or idle timeout, or dropped with its running statement when the client hangs up
//! (`client_presence.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use pgwire::error::ErrorInfo;
use pgwire::messages::Message;
use pgwire::messages::response::ErrorResponse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::StatementRunner;
use crate::cancel_registry::CancelRegistry;
use crate::client_presence;
use crate::connection_activity::{ConnectionActivity, Expiry};
use crate::pg_config::PgConfig;
use crate::pg_handlers::{Endpoint, PgHandlers};
use crate::query_parser::PreparedStatementParser;
use crate::session_startup::Login;

/// Serves PostgreSQL clients on `listener` until `shutdown` resolves, running their statements
/// with `runner`. Each connection runs in its own task; on shutdown the open connections are
/// closed and their running statements dropped. With [`PgConfig::tls`] an SSLRequest gets a
/// TLS handshake; without, it is answered "no", so `sslmode=prefer` clients continue in plain
/// text.
///
/// Errors of single connections are logged and do not end the loop; the `io::Result` is kept
/// for listener failures.
pub async fn serve(
    listener: TcpListener,
    runner: Arc<dyn StatementRunner>,
    config: PgConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let endpoint = Endpoint {
        parser: Arc::new(PreparedStatementParser::new(runner.clone())),
        runner,
        cancels: Arc::new(CancelRegistry::default()),
        login: Arc::new(Login::new(&config.authentication)),
    };
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    // A reply is several small messages: send them at once, not after the
                    // client's delayed ACK (Nagle's algorithm).
                    if let Err(error) = socket.set_nodelay(true) {
                        tracing::debug!(%peer, %error, "cannot set TCP_NODELAY");
                    }
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        tracing::warn!(%peer, max = config.max_connections, "pg connection refused: too many connections");
                        connections.spawn(refuse(socket, config.max_connections));
                        continue;
                    };
                    let activity = ConnectionActivity::new();
                    let handlers = PgHandlers::new(&endpoint, activity.clone());
                    let timeouts = (config.startup_timeout, config.idle_timeout);
                    let tls = config.tls.clone();
                    connections.spawn(async move {
                        serve_connection(socket, peer, tls, handlers, &activity, timeouts).await;
                        drop(slot);
                    });
                }
                Err(error) => {
                    // Usually out of file descriptors: wait for connections to close.
                    tracing::warn!(%error, "cannot accept a pg connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
    Ok(())
}

async fn serve_connection(
    socket: TcpStream,
    peer: SocketAddr,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    handlers: PgHandlers,
    activity: &ConnectionActivity,
    (startup_timeout, idle_timeout): (Duration, Duration),
) {
    let (socket, watcher) = match client_presence::watched(socket) {
        Ok(pair) => pair,
        Err(error) => {
            tracing::warn!(%peer, %error, "cannot watch a pg connection; closing it");
            return;
        }
    };
    tokio::select! {
        served = pgwire::tokio::process_socket(socket, tls, handlers) => {
            if let Err(error) = served {
                tracing::debug!(%peer, %error, "pg connection ended with an error");
            }
        }
        expiry = activity.expired(startup_timeout, idle_timeout) => match expiry {
            Expiry::Startup => tracing::info!(%peer, timeout = ?startup_timeout, "pg connection closed: no login within the startup timeout"),
            Expiry::Idle => tracing::info!(%peer, timeout = ?idle_timeout, "pg connection closed: idle for the idle timeout"),
        },
        () = client_presence::client_gone(&watcher) => {
            tracing::info!(%peer, "pg client disconnected; its running statement is dropped");
        }
    }
}

/// Tells a client over the cap why it is turned away (`53300`, as PostgreSQL does), then
/// closes. The client is answered where it expects an error: an SSLRequest or GSSENCRequest
/// first gets "N" (libpq reports an error sent in their place only as "error during SSL
/// exchange"), and the error follows the startup message.
async fn refuse(mut socket: TcpStream, max: usize) {
    const SSL_REQUEST: u32 = 80_877_103;
    const GSSENC_REQUEST: u32 = 80_877_104;
    let read_timeout = Duration::from_secs(2);
    for _ in 0..3 {
        let mut header = [0u8; 8];
        match tokio::time::timeout(read_timeout, socket.read_exact(&mut header)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let code = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        if length == 8 && (code == SSL_REQUEST || code == GSSENC_REQUEST) {
            if socket.write_all(b"N").await.is_err() {
                return;
            }
            continue;
        }
        // The startup message: its parameters are not needed, only read.
        let rest = usize::try_from(length.saturating_sub(8))
            .unwrap_or(0)
            .min(64 * 1024);
        let mut parameters = vec![0u8; rest];
        let _ = tokio::time::timeout(read_timeout, socket.read_exact(&mut parameters)).await;
        break;
    }
    let error = ErrorResponse::from(ErrorInfo::new(
        "FATAL".to_owned(),
        "53300".to_owned(),
        format!("sorry, too many clients already (the limit is {max} connections)"),
    ));
    let mut buffer = BytesMut::new();
    if error.encode(&mut buffer).is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(5), socket.write_all(&buffer)).await;
    }
    let _ = socket.shutdown().await;
}
