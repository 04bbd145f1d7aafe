//! Serving an axum router over HTTP/1.1, plain or TLS, with a bound on how long a client may
//! take to send a request's headers (and its TLS handshake), so slow or silent clients cannot
//! hold connections open. `axum::serve` offers neither TLS nor that timeout, hence this loop
//! over hyper's connection builder; on shutdown it stops accepting, lets requests in flight
//! finish, and closes idle keep-alive connections.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How one HTTP endpoint serves.
#[derive(Clone)]
pub struct HttpServing {
    /// TLS, when configured.
    pub tls: Option<TlsAcceptor>,
    /// A client must send a request's headers (and finish the TLS handshake) within this.
    pub header_timeout: Duration,
}

impl std::fmt::Debug for HttpServing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServing")
            .field("tls", &self.tls.is_some())
            .field("header_timeout", &self.header_timeout)
            .finish()
    }
}

/// How long connections get to finish their requests after shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve_http(
    listener: TcpListener,
    router: Router,
    serving: HttpServing,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stopping, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    // Small responses go out at once instead of waiting for the peer's
                    // delayed ACK (Nagle's algorithm).
                    if let Err(error) = socket.set_nodelay(true) {
                        tracing::debug!(%peer, %error, "cannot set TCP_NODELAY");
                    }
                    let router = router.clone();
                    let serving = serving.clone();
                    let stopped = stopped.clone();
                    connections.spawn(async move {
                        if let Err(error) = serve_connection(socket, router, &serving, stopped).await {
                            tracing::debug!(%peer, %error, "http connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    // Usually out of file descriptors: wait for connections to close.
                    tracing::warn!(%error, "cannot accept an http connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = stopping.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "http connections still open after the drain timeout; closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

async fn serve_connection(
    socket: TcpStream,
    router: Router,
    serving: &HttpServing,
    stopped: watch::Receiver<bool>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match &serving.tls {
        None => serve_stream(socket, router, serving.header_timeout, stopped).await,
        Some(acceptor) => {
            let stream =
                tokio::time::timeout(serving.header_timeout, acceptor.accept(socket)).await??;
            serve_stream(stream, router, serving.header_timeout, stopped).await
        }
    }
}

async fn serve_stream<S>(
    stream: S,
    router: Router,
    header_timeout: Duration,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(router);
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => return Ok(served?),
        _ = stopped.wait_for(|stop| *stop) => {}
    }
    connection.as_mut().graceful_shutdown();
    Ok(connection.await?)
}
