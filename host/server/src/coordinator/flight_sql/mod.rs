//! The coordinator's Arrow Flight SQL endpoint (ADR 0024), for Arrow-native clients (ADBC,
//! polars, DuckDB, JDBC's Flight SQL driver): the same users, the same statement path and the
//! same catalogs as `POST /v1/statement` and the PostgreSQL port, with results streamed as Arrow
//! record batches instead of being encoded row by row.
//!
//! [`service`] implements arrow-flight's Flight SQL server trait; [`statement_handle`] is what
//! its tickets and prepared statements carry; [`session_tokens`] are the bearer tokens its
//! handshake issues; [`catalog_listing`] reads the engine's catalogs for the metadata calls.
//! [`serve_flight_sql`] serves it over gRPC, with TLS (ALPN `h2`) when the coordinator has TLS.

pub mod catalog_listing;
pub mod service;
pub mod session_tokens;
pub mod statement_handle;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use arrow_flight::flight_service_server::FlightServiceServer;
use futures::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::transport::server::{Connected, TcpIncoming};

use crate::coordinator::state::AppState;
pub use service::FlightSqlEndpoint;

/// The largest message a client may send (a statement, bound parameters): 16 MiB.
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// Serves Flight SQL for `state` on `listener` until `shutdown` resolves; TLS through `tls`
/// when given (its configuration must offer ALPN `h2`, as [`crate::tls::grpc_acceptor`] does).
pub async fn serve_flight_sql(
    listener: TcpListener,
    state: AppState,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let endpoint = match FlightSqlEndpoint::new(state) {
        Ok(endpoint) => endpoint,
        Err(status) => {
            tracing::error!(error = %status.message(), "flight sql endpoint not started");
            return Ok(());
        }
    };
    let service = FlightServiceServer::new(endpoint)
        .max_decoding_message_size(MAX_REQUEST_BYTES)
        .max_encoding_message_size(usize::MAX);
    let router = tonic::transport::Server::builder().add_service(service);
    match tls {
        None => {
            router
                .serve_with_incoming_shutdown(
                    // As the workers' execution service: small frames go out at once.
                    TcpIncoming::from(listener).with_nodelay(Some(true)),
                    shutdown,
                )
                .await
        }
        Some(acceptor) => {
            router
                .serve_with_incoming_shutdown(tls_incoming(listener, acceptor), shutdown)
                .await
        }
    }
}

/// Connections on `listener` once their TLS handshake is done. Each handshake runs on its own
/// task (a slow client holds up no other) and must finish within 10 s; failed ones are logged
/// and dropped.
fn tls_incoming(
    listener: TcpListener,
    acceptor: TlsAcceptor,
) -> impl Stream<Item = io::Result<GrpcTls>> + Send + 'static {
    let (ready, connections) = tokio::sync::mpsc::channel::<GrpcTls>(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = ready.closed() => return,
                accepted = listener.accept() => accepted,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "flight sql accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%peer, %error, "cannot set TCP_NODELAY");
            }
            let acceptor = acceptor.clone();
            let ready = ready.clone();
            tokio::spawn(async move {
                let handshake =
                    tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp));
                match handshake.await {
                    Ok(Ok(stream)) => {
                        let _ = ready.send(GrpcTls(stream)).await;
                    }
                    Ok(Err(error)) => {
                        tracing::debug!(%peer, %error, "flight sql TLS handshake failed")
                    }
                    Err(_) => tracing::debug!(%peer, "flight sql TLS handshake timed out"),
                }
            });
        }
    });
    futures::stream::unfold(connections, |mut connections| async move {
        let connection = connections.recv().await?;
        Some((Ok(connection), connections))
    })
    .boxed()
}

/// A TLS connection as tonic serves it.
#[derive(Debug)]
pub struct GrpcTls(TlsStream<TcpStream>);

impl Connected for GrpcTls {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for GrpcTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for GrpcTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
