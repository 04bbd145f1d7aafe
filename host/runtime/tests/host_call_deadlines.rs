//! A plugin waiting inside a WASI call (a clock sleep, a read of a FIFO nobody writes to in a
//! granted directory) fails its call at the catalog's deadline, the thread that ran the call is
//! released, and the runtime keeps serving other catalogs (ADR 0018).

use std::path::Path;
use std::time::{Duration, Instant};

use quarry_runtime::{CatalogConfig, Connector, Error, Grants, Plugin, Runtime};

use crate::common::{self, TEST_DEADLINE};

/// The most a stalled call may outlast its deadline.
const GRACE: Duration = Duration::from_secs(2);

fn stalling(rt: &Runtime, plugin: &Plugin, behaviour: &str, fifo: Option<&Path>) -> Connector {
    let mut config = CatalogConfig::new(behaviour, plugin)
        .property("behaviour", behaviour)
        .property("stall_in", "list-schemas");
    if let Some(fifo) = fifo {
        config = config.property("read_paths", fifo.to_string_lossy());
        config.grants = Grants {
            allowed_paths: vec![fifo.parent().unwrap().to_path_buf()],
            ..Grants::default()
        };
    }
    config.limits = Some(common::test_limits());
    rt.open_catalog(config).expect("open testkit catalog")
}

/// Runs `list_schemas` and returns its error and how long it took.
async fn stalled_call(connector: &Connector) -> (Error, Duration) {
    let started = Instant::now();
    let err = connector
        .list_schemas()
        .await
        .expect_err("a stalled call must fail");
    (err, started.elapsed())
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_asleep_in_a_wasi_clock_call_fails_at_its_deadline() {
    common::init_tracing();
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let sleeper = stalling(&rt, &testkit, "clock-sleep", None);
    let good = common::testkit(&rt, &testkit, "normal");

    let (err, took) = stalled_call(&sleeper).await;
    assert_eq!(
        err.to_string(),
        "catalog \"clock-sleep\": plugin \"testkit@0.1.0\": deadline of 2s exceeded in \
         `catalog.list-schemas`"
    );
    assert!(took < TEST_DEADLINE + GRACE, "took {took:?}");
    assert_eq!(
        sleeper.warm_instances(),
        0,
        "an abandoned instance is dropped"
    );
    let gauges = rt.call_gauges();
    assert_eq!(gauges.calls_running, 0, "{gauges:?}");
    assert_eq!(gauges.calls_abandoned, 1, "{gauges:?}");

    // Four at once. New instances of a catalog warm up one at a time, and each of these stalls
    // in its first call, so they end one deadline after another; none runs past its own
    // deadline, and a well-behaved catalog answers meanwhile.
    let started = Instant::now();
    let stalled: Vec<_> = (0..4)
        .map(|_| {
            let sleeper = sleeper.clone();
            tokio::spawn(async move { stalled_call(&sleeper).await })
        })
        .collect();
    assert_eq!(good.list_tables("main").await.unwrap(), ["numbers"]);
    for call in stalled {
        let (err, _) = call.await.unwrap();
        assert!(matches!(err, Error::DeadlineExceeded { .. }), "{err:?}");
    }
    assert!(
        started.elapsed() < 4 * TEST_DEADLINE + GRACE,
        "took {:?}",
        started.elapsed()
    );
    let gauges = rt.call_gauges();
    assert_eq!(gauges.calls_running, 0, "{gauges:?}");
    assert_eq!(gauges.calls_abandoned, 5, "{gauges:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_blocked_reading_a_fifo_in_its_grant_fails_at_its_deadline() {
    common::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("never-written");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let reader = stalling(&rt, &testkit, "blocking-read", Some(&fifo));
    let good = common::testkit(&rt, &testkit, "normal");

    let (err, took) = stalled_call(&reader).await;
    assert!(
        matches!(
            err,
            Error::DeadlineExceeded {
                call: "catalog.list-schemas",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(took < TEST_DEADLINE + GRACE, "took {took:?}");
    assert_eq!(good.list_tables("main").await.unwrap(), ["numbers"]);

    // The call's thread is back; the kernel still holds one I/O thread in `open` of the FIFO
    // (one reactor thread plus that one)...
    let gauges = rt.call_gauges();
    assert_eq!(gauges.calls_running, 0, "{gauges:?}");
    assert_eq!(gauges.calls_abandoned, 1, "{gauges:?}");
    assert!(gauges.io_threads >= 2, "{gauges:?}");
    // ...until someone writes to it: then that thread finishes, idles and exits.
    let fifo_path = fifo.clone();
    tokio::task::spawn_blocking(move || {
        drop(std::fs::OpenOptions::new().write(true).open(fifo_path))
    })
    .await
    .unwrap();
    wait_until("the plugin I/O thread to exit", || {
        rt.call_gauges().io_threads == 1
    })
    .await;
}
