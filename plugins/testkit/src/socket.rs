//! The `socket` behaviour: one use of `wasi:sockets`, chosen by `socket_action`, in `validate`
//! (an issue on `connect_to` when it fails) and in `list-schemas` (an `io` error quoting what
//! the guest saw). After a connect it writes `hello from testkit\n` to the peer, so the test's
//! listener can tell it was reached.
//!
//! | `socket_action` | what it tries |
//! | --- | --- |
//! | `connect` (default) | a TCP connect to `connect_to` (`host:port`; a name is looked up first) |
//! | `lookup` | a name lookup of `lookup_name` |
//! | `listen` | a TCP listener on `listen_on` (default `127.0.0.1:0`) |
//! | `udp` | a UDP socket bound to `127.0.0.1:0`, sending one datagram to `connect_to` |

use std::io::Write;
use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};

use crate::guest::bindings::exports::quarry::connector::source::{ConnectorError, Properties};

/// Runs the action the properties name.
pub fn run(properties: &Properties) -> Result<(), ConnectorError> {
    let prop = |k: &str| {
        properties
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let target = prop("connect_to").unwrap_or("127.0.0.1:80");
    let action = prop("socket_action").unwrap_or("connect");
    let failed = |what: String, e: std::io::Error| ConnectorError::Io(format!("{what}: {e}"));
    match action {
        "connect" => {
            let mut stream =
                TcpStream::connect(target).map_err(|e| failed(format!("connect {target}"), e))?;
            stream
                .write_all(b"hello from testkit\n")
                .map_err(|e| failed(format!("write to {target}"), e))?;
        }
        "lookup" => {
            let name = prop("lookup_name").unwrap_or("example.com");
            let found: Vec<_> = (name, 80)
                .to_socket_addrs()
                .map_err(|e| failed(format!("lookup {name}"), e))?
                .collect();
            if found.is_empty() {
                return Err(ConnectorError::Io(format!("lookup {name}: no address")));
            }
        }
        "listen" => {
            let on = prop("listen_on").unwrap_or("127.0.0.1:0");
            TcpListener::bind(on).map_err(|e| failed(format!("listen on {on}"), e))?;
        }
        "udp" => {
            let socket = UdpSocket::bind("127.0.0.1:0")
                .map_err(|e| failed("udp bind 127.0.0.1:0".to_owned(), e))?;
            socket
                .send_to(b"hello", target)
                .map_err(|e| failed(format!("udp send to {target}"), e))?;
        }
        other => {
            return Err(ConnectorError::InvalidConfig(format!(
                "unknown socket_action \"{other}\""
            )));
        }
    }
    Ok(())
}
