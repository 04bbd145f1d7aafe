//! A plugin reaches nothing it was not granted: no files, no directory listing, no
//! environment, no sockets, no HTTP. With an `allowed_paths` grant it reads that directory and
//! nothing above it; with an `allowed_hosts` grant it reaches that origin and no other.

use crate::common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;

use arrow_array::{Array, BooleanArray, StringArray};
use quarry_runtime::{CatalogConfig, Grants, HostPattern, Runtime, ScanRequest};

/// attempt → (succeeded, detail)
type Attempts = BTreeMap<String, (bool, String)>;

async fn attempts(rt: &Runtime, config: CatalogConfig) -> Attempts {
    let c = rt.open_catalog(config).unwrap();
    let batches = common::scan_all(&c, &ScanRequest::table("escape", "attempts"))
        .await
        .unwrap();
    let mut out = Attempts::new();
    for b in batches {
        let attempt = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        let ok = b.column(1).as_any().downcast_ref::<BooleanArray>().unwrap();
        let detail = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            out.insert(
                attempt.value(i).to_owned(),
                (ok.value(i), detail.value(i).to_owned()),
            );
        }
    }
    assert!(!out.is_empty());
    out
}

/// A one-request-at-a-time HTTP server on 127.0.0.1 that answers 200 to anything; returns its
/// port. The thread ends with the test process.
fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    port
}

fn escape_config(plugin: &quarry_runtime::Plugin, name: &str, port: u16) -> CatalogConfig {
    let mut c = CatalogConfig::new(name, plugin)
        .property("behaviour", "escape")
        .property("tcp_addr", format!("127.0.0.1:{port}"))
        .property("http_url", format!("http://127.0.0.1:{port}/"));
    c.limits = Some(common::test_limits());
    c
}

fn assert_failed(attempts: &Attempts, key: &str) {
    let (ok, detail) = attempts
        .get(key)
        .unwrap_or_else(|| panic!("no attempt {key:?} in {attempts:?}"));
    assert!(!ok, "{key} should have failed, but: {detail}");
}

fn assert_succeeded(attempts: &Attempts, key: &str) -> String {
    let (ok, detail) = attempts
        .get(key)
        .unwrap_or_else(|| panic!("no attempt {key:?} in {attempts:?}"));
    assert!(ok, "{key} should have succeeded, but: {detail}");
    detail.clone()
}

#[tokio::test]
async fn without_grants_every_escape_fails() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let port = http_server();
    let secret = tempfile::tempdir().unwrap();
    let file = secret.path().join("secret.txt");
    std::fs::write(&file, "s3cret").unwrap();

    let config = escape_config(&testkit, "escape", port)
        .property("read_paths", file.display().to_string())
        .property("list_paths", secret.path().display().to_string());
    let a = attempts(&rt, config).await;

    assert_failed(&a, "read /etc/passwd");
    assert_failed(&a, &format!("read {}", file.display()));
    assert_failed(&a, "list /");
    assert_failed(&a, &format!("list {}", secret.path().display()));
    assert_failed(&a, "environment");
    assert_failed(&a, &format!("tcp 127.0.0.1:{port}"));
    let http = format!("http http://127.0.0.1:{port}/");
    assert_failed(&a, &http);
    assert!(a[&http].1.contains("HttpRequestDenied"), "{:?}", a[&http]);
}

#[tokio::test]
async fn an_allowed_path_is_readable_and_nothing_above_it() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let root = tempfile::tempdir().unwrap();
    let granted = root.path().join("granted");
    std::fs::create_dir(&granted).unwrap();
    std::fs::write(granted.join("inside.txt"), "inside").unwrap();
    std::fs::write(root.path().join("outside.txt"), "outside").unwrap();
    let granted = granted.canonicalize().unwrap();
    let parent = granted.parent().unwrap();
    let inside = granted.join("inside.txt");
    let outside = parent.join("outside.txt");
    let dotdot = format!("{}/../outside.txt", granted.display());

    let mut config = escape_config(&testkit, "files", 9)
        .property(
            "read_paths",
            format!("{},{},{}", inside.display(), outside.display(), dotdot),
        )
        .property(
            "list_paths",
            format!("{},{}", granted.display(), parent.display()),
        );
    config.grants = Grants {
        allowed_paths: vec![granted.clone()],
        ..Grants::default()
    };
    let a = attempts(&rt, config).await;

    assert_eq!(
        assert_succeeded(&a, &format!("read {}", inside.display())),
        "6 bytes"
    );
    assert_eq!(
        assert_succeeded(&a, &format!("list {}", granted.display())),
        "inside.txt"
    );
    assert_failed(&a, &format!("read {}", outside.display()));
    assert_failed(&a, &format!("read {dotdot}"));
    assert_failed(&a, &format!("list {}", parent.display()));
    assert_failed(&a, "read /etc/passwd");
    assert_failed(&a, "list /");
    // The grant is read-only.
    assert_failed(&a, &format!("write {}/escape.txt", granted.display()));
    assert!(!granted.join("escape.txt").exists());
}

#[tokio::test]
async fn an_allowed_host_is_reachable_and_no_other() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let granted_port = http_server();
    let other_port = http_server();

    let mut config = escape_config(&testkit, "web", granted_port);
    config.grants.allowed_hosts =
        vec![HostPattern::parse(&format!("http://127.0.0.1:{granted_port}")).unwrap()];
    let a = attempts(&rt, config).await;
    assert_eq!(
        assert_succeeded(&a, &format!("http http://127.0.0.1:{granted_port}/")),
        "status 200"
    );
    // An HTTP grant is not a socket grant.
    assert_failed(&a, &format!("tcp 127.0.0.1:{granted_port}"));

    let mut config = escape_config(&testkit, "web-other", other_port);
    config.grants.allowed_hosts =
        vec![HostPattern::parse(&format!("http://127.0.0.1:{granted_port}")).unwrap()];
    let a = attempts(&rt, config).await;
    assert_failed(&a, &format!("http http://127.0.0.1:{other_port}/"));
}
