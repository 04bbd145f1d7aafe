//! Batches are checked against the schema the connector declared: invalid IPC, another
//! schema, or a batch over the byte cap fail the scan with an invalid-output error.

use crate::common;

use futures::TryStreamExt;
use quarry_runtime::{CatalogConfig, Error, SandboxLimits, ScanRequest};

async fn scan_error(config: CatalogConfig, rt: &quarry_runtime::Runtime) -> Error {
    let c = rt.open_catalog(config).unwrap();
    let request = ScanRequest::table("main", "numbers");
    let plan = c.plan_scan(&request).await.unwrap();
    let split = plan.splits.into_iter().next().unwrap();
    let err = c
        .scan(request, split)
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(
        c.warm_instances(),
        0,
        "an instance that sent bad output is dropped"
    );
    err
}

fn config(plugin: &quarry_runtime::Plugin, behaviour: &str) -> CatalogConfig {
    let mut c = CatalogConfig::new(behaviour, plugin).property("behaviour", behaviour);
    c.limits = Some(common::test_limits());
    c
}

#[tokio::test]
async fn bytes_that_are_not_arrow_ipc() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let err = scan_error(config(&testkit, "invalid-ipc"), &rt).await;
    assert!(matches!(err, Error::InvalidOutput { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "catalog \"invalid-ipc\": plugin \"testkit@0.1.0\": invalid output from \
             `split-reader.next`: invalid Arrow IPC"
        ),
        "{msg}"
    );
}

#[tokio::test]
async fn a_batch_with_another_schema() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let err = scan_error(config(&testkit, "wrong-schema"), &rt).await;
    assert!(matches!(err, Error::InvalidOutput { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("schema mismatch: 1 columns, expected 2"),
        "{err}"
    );
}

#[tokio::test]
async fn a_batch_over_the_byte_cap() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let mut c = config(&testkit, "huge-batch").property("huge_bytes", (8u64 << 20).to_string());
    c.limits = Some(SandboxLimits {
        max_batch_bytes: 4 << 20,
        ..common::test_limits()
    });
    let err = scan_error(c, &rt).await;
    assert!(matches!(err, Error::InvalidOutput { .. }), "{err:?}");
    assert!(
        err.to_string().contains("is over the cap of 4 MiB"),
        "{err}"
    );
}

#[tokio::test]
async fn a_projection_out_of_range_is_refused_before_reading() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let c = rt.open_catalog(config(&testkit, "normal")).unwrap();
    let mut request = ScanRequest::table("main", "numbers");
    let split = c.plan_scan(&request).await.unwrap().splits.remove(0);
    request.projection = Some(vec![7]);
    let err = c.scan(request, split).await.err().expect("refused");
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
}

/// Metadata that puts a buffer far past the body fails the scan with an error: never a panic
/// that ends the split short, never a batch with made-up rows.
#[tokio::test]
async fn a_batch_whose_buffer_reaches_past_its_body() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let err = scan_error(config(&testkit, "crafted-offsets"), &rt).await;
    assert!(matches!(err, Error::InvalidOutput { .. }), "{err:?}");
    assert!(err.to_string().contains("invalid Arrow IPC"), "{err}");
}

/// A compressed body is refused before anything decompresses it.
#[tokio::test]
async fn a_compressed_batch_is_refused() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let err = scan_error(config(&testkit, "compressed-bomb"), &rt).await;
    assert!(matches!(err, Error::InvalidOutput { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("compressed Arrow IPC is not accepted"),
        "{err}"
    );
}
