//! The `allowed_sockets` grant seen from a real plugin (testkit's `socket` behaviour makes one
//! use of `wasi:sockets` in `list-schemas`) against a real listener on 127.0.0.1: a granted
//! endpoint is reached, by address and by a granted name the host resolves; an ungranted port,
//! an ungranted name, listening, UDP and any socket without a grant are refused, and the error
//! names the catalog, the plugin and what to grant.

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use quarry_runtime::{CatalogConfig, Error, Plugin, Runtime, SocketDenial, SocketGrant};

/// A listener on 127.0.0.1 that reports the first line each connection sends; returns its port.
fn listener() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut line = String::new();
            let _ = BufReader::new(stream).read_line(&mut line);
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What `list-schemas` of a `socket` catalog named "pg" comes to, with `action` and its
/// properties, under `grants`.
async fn attempt(
    rt: &Runtime,
    plugin: &Plugin,
    grants: &[&str],
    properties: &[(&str, String)],
) -> Result<Vec<String>, Error> {
    let mut config = CatalogConfig::new("pg", plugin).property("behaviour", "socket");
    for (key, value) in properties {
        config = config.property(*key, value.as_str());
    }
    config.grants.allowed_sockets = grants
        .iter()
        .map(|g| SocketGrant::parse(g).unwrap())
        .collect();
    config.limits = Some(common::test_limits());
    let catalog = rt.open_catalog(config).unwrap();
    catalog.list_schemas().await
}

fn connect_to(target: String) -> Vec<(&'static str, String)> {
    vec![("connect_to", target)]
}

#[tokio::test]
async fn a_granted_address_is_reached_and_another_port_is_denied_naming_the_endpoint() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let (port, seen) = listener();
    let granted = format!("127.0.0.1:{port}");

    let schemas = attempt(&rt, &testkit, &[&granted], &connect_to(granted.clone()))
        .await
        .unwrap();
    assert!(schemas.contains(&"main".to_owned()), "{schemas:?}");
    let line = seen.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(line, "hello from testkit\n");

    let other = free_port();
    let err = attempt(
        &rt,
        &testkit,
        &[&granted],
        &connect_to(format!("127.0.0.1:{other}")),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "catalog \"pg\": plugin \"testkit@0.1.0\": connect to 127.0.0.1:{other} denied: not \
             in allowed_sockets; add it with --grant-socket 127.0.0.1:{other} (API: \
             grants.allowed_sockets)"
        )
    );
    assert_eq!(err.kind(), "socket_denied");
    assert!(matches!(
        err,
        Error::SocketDenied {
            denial: SocketDenial::Connect(addr),
            ..
        } if addr.port() == other
    ));
    assert!(
        seen.try_recv().is_err(),
        "the denied connect reached a listener"
    );
}

#[tokio::test]
async fn a_granted_name_is_resolved_by_the_host_and_reached() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let (port, seen) = listener();

    let schemas = attempt(
        &rt,
        &testkit,
        &[&format!("LocalHost:{port}")],
        &connect_to(format!("localhost:{port}")),
    )
    .await
    .unwrap();
    assert!(schemas.contains(&"main".to_owned()), "{schemas:?}");
    let line = seen.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(line, "hello from testkit\n");
}

#[tokio::test]
async fn a_lookup_of_a_name_no_grant_names_is_denied() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let (port, _seen) = listener();

    let err = attempt(
        &rt,
        &testkit,
        &[&format!("localhost:{port}")],
        &[
            ("socket_action", "lookup".to_owned()),
            ("lookup_name", "example.com".to_owned()),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "catalog \"pg\": plugin \"testkit@0.1.0\": name lookup of \"example.com\" denied: not \
         in allowed_sockets; add it with --grant-socket example.com:PORT (API: \
         grants.allowed_sockets)"
    );

    // Connecting by a name is a lookup first: the same refusal, before any connect.
    let err = attempt(
        &rt,
        &testkit,
        &[&format!("127.0.0.1:{port}")],
        &connect_to(format!("localhost:{port}")),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::SocketDenied { denial: SocketDenial::NameLookup(name), .. } if name == "localhost"),
        "{err}"
    );
}

#[tokio::test]
async fn without_a_grant_no_socket_opens() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let (port, seen) = listener();

    let err = attempt(&rt, &testkit, &[], &connect_to(format!("127.0.0.1:{port}")))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "catalog \"pg\": plugin \"testkit@0.1.0\": opening a TCP socket denied: the catalog has \
         no allowed_sockets; add the endpoint with --grant-socket HOST:PORT (API: \
         grants.allowed_sockets)"
    );
    let err = attempt(&rt, &testkit, &[], &connect_to(format!("localhost:{port}")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::SocketDenied { denial: SocketDenial::NameLookup(name), .. } if name == "localhost"),
        "{err}"
    );
    assert!(
        seen.try_recv().is_err(),
        "a denied connect reached the listener"
    );
}

#[tokio::test]
async fn listening_and_udp_are_denied_even_with_a_grant() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let (port, _seen) = listener();
    let granted = format!("127.0.0.1:{port}");

    let err = attempt(
        &rt,
        &testkit,
        &[&granted],
        &[
            ("socket_action", "listen".to_owned()),
            ("listen_on", granted.clone()),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "catalog \"pg\": plugin \"testkit@0.1.0\": binding a TCP socket to {granted} \
             denied: the sandbox allows only outbound TCP connections to the catalog's \
             allowed_sockets (no listening sockets, no UDP)"
        )
    );

    // UDP is off in WASI itself: the plugin sees its socket refused.
    let err = attempt(
        &rt,
        &testkit,
        &[&granted],
        &[
            ("socket_action", "udp".to_owned()),
            ("connect_to", granted.clone()),
        ],
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Connector { .. }), "{message}");
    assert!(message.contains("udp bind 127.0.0.1:0"), "{message}");
}
