//! Noticing that a client hung up while its statement runs. pgwire reads the socket only between
//! statements, so a client that disconnects during a long query that has produced no rows yet
//! would leave the query running until it wrote its first row. A second handle on the same
//! socket peeks (never reads) for the end of the stream; the accept loop then drops the
//! connection, and with it the statement and its splits.

use std::time::Duration;

use tokio::net::TcpStream;

/// While the client has sent bytes pgwire has not read yet (a pipelined statement), how often
/// to look again.
const PENDING_INPUT_POLL: Duration = Duration::from_millis(200);

/// Splits `socket` into the stream pgwire serves and a watcher of the same connection.
pub(crate) fn watched(socket: TcpStream) -> std::io::Result<(TcpStream, TcpStream)> {
    let std = socket.into_std()?;
    let watcher = std.try_clone()?;
    Ok((TcpStream::from_std(std)?, TcpStream::from_std(watcher)?))
}

/// Resolves when the client has closed its side of the connection (or it failed).
pub(crate) async fn client_gone(watcher: &TcpStream) {
    let mut byte = [0u8; 1];
    loop {
        match watcher.peek(&mut byte).await {
            Ok(0) | Err(_) => return,
            // Input waits for pgwire; look again later rather than spin on it.
            Ok(_) => tokio::time::sleep(PENDING_INPUT_POLL).await,
        }
    }
}
