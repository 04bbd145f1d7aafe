//! The outbound HTTP policy seen from a real plugin (testkit's `escape` sends one GET to
//! `http_url`): a granted name that resolves to loopback is refused, while the literal address
//! is reachable; a response over the sandbox's byte cap and a server that never answers end in
//! errors, not in a hung call.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use arrow_array::{Array, BooleanArray, StringArray};
use quarry_runtime::{CatalogConfig, HostPattern, Plugin, Runtime, SandboxLimits, ScanRequest};

/// A server on 127.0.0.1 that answers every request with `response`, or (None) reads the
/// request and never answers; returns its port.
fn server(response: Option<&'static [u8]>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            match response {
                Some(bytes) => {
                    let _ = stream.write_all(bytes);
                }
                None => held.push(stream),
            }
        }
    });
    port
}

/// The outcome of the plugin's one GET of `url` under `grant` and `limits`: Ok(detail) or
/// Err(detail).
async fn get(
    rt: &Runtime,
    plugin: &Plugin,
    url: &str,
    grant: &str,
    limits: SandboxLimits,
) -> Result<String, String> {
    let mut config = CatalogConfig::new("web", plugin)
        .property("behaviour", "escape")
        .property("http_url", url);
    config.grants.allowed_hosts = vec![HostPattern::parse(grant).unwrap()];
    config.limits = Some(limits);
    let c = rt.open_catalog(config).unwrap();
    let batches = common::scan_all(&c, &ScanRequest::table("escape", "attempts"))
        .await
        .unwrap();
    let key = format!("http {url}");
    for b in batches {
        let attempt = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        let ok = b.column(1).as_any().downcast_ref::<BooleanArray>().unwrap();
        let detail = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            if attempt.value(i) == key {
                let detail = detail.value(i).to_owned();
                return if ok.value(i) { Ok(detail) } else { Err(detail) };
            }
        }
    }
    panic!("the plugin made no attempt {key:?}")
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_unless_the_address_is_granted() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let port = server(Some(
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
    ));

    // Granted by name: `localhost` is in the grant, but it resolves to loopback.
    let by_name = format!("http://localhost:{port}");
    let err = get(
        &rt,
        &testkit,
        &format!("{by_name}/"),
        &by_name,
        common::test_limits(),
    )
    .await
    .unwrap_err();
    assert!(err.contains("DestinationIpProhibited"), "{err}");

    // Granted literally: the same server answers.
    let literal = format!("http://127.0.0.1:{port}");
    let ok = get(
        &rt,
        &testkit,
        &format!("{literal}/"),
        &literal,
        common::test_limits(),
    )
    .await;
    assert_eq!(ok.unwrap(), "status 200");
}

#[tokio::test]
async fn a_response_over_the_byte_cap_fails() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let port = server(Some(
        b"HTTP/1.1 200 OK\r\ncontent-length: 4096\r\nconnection: close\r\n\r\n",
    ));
    let origin = format!("http://127.0.0.1:{port}");
    let limits = SandboxLimits {
        http_response_bytes: 1024,
        ..common::test_limits()
    };
    let err = get(&rt, &testkit, &format!("{origin}/"), &origin, limits)
        .await
        .unwrap_err();
    assert!(err.contains("HttpResponseBodySize"), "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_at_the_first_byte_timeout() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let port = server(None);
    let origin = format!("http://127.0.0.1:{port}");
    let limits = SandboxLimits {
        http_first_byte_timeout: Duration::from_millis(300),
        ..common::test_limits()
    };
    assert!(limits.call_deadline >= Duration::from_secs(2));
    let err = get(&rt, &testkit, &format!("{origin}/"), &origin, limits)
        .await
        .unwrap_err();
    assert!(err.contains("HttpResponseTimeout"), "{err}");
}
