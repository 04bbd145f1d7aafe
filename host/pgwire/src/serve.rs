//! The accept loop of the PostgreSQL endpoint.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::StatementRunner;
use crate::pg_handlers::PgHandlers;

/// Serves PostgreSQL clients on `listener` until `shutdown` resolves, running their statements
/// with `runner`. Each connection runs in its own task; on shutdown the open connections are
/// closed and their running statements dropped. TLS is not offered: an SSLRequest is answered
/// with "no", so `sslmode=prefer` clients continue in plain text.
///
/// Errors of single connections are logged and do not end the loop; the `io::Result` is kept
/// for listener failures.
pub async fn serve(
    listener: TcpListener,
    runner: Arc<dyn StatementRunner>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handlers = Arc::new(PgHandlers::new(runner));
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let handlers = handlers.clone();
                    connections.spawn(async move {
                        if let Err(error) = pgwire::tokio::process_socket(socket, None, handlers).await {
                            tracing::debug!(%peer, %error, "pg connection ended with an error");
                        }
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
