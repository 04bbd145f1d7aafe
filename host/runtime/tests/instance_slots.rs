//! Admission: a catalog holds at most its quota of instance slots; its further calls wait in a
//! bounded queue and run when a slot frees (a burst slows down, it does not fail); a call beyond
//! the queue is refused as busy at once; and a flooded catalog leaves other catalogs their slots.

use std::time::{Duration, Instant};

use quarry_runtime::{CatalogConfig, Error, Runtime, RuntimeConfig};

use crate::common;

fn runtime(per_catalog: usize, waiting: usize) -> Runtime {
    Runtime::new(RuntimeConfig {
        max_live_instances: 8,
        max_catalog_instances: per_catalog,
        max_waiting_calls: waiting,
        ..RuntimeConfig::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_quota_waits_and_every_call_succeeds() {
    common::init_tracing();
    let rt = runtime(2, 64);
    let testkit = common::load(&rt, "testkit").await;
    let c = common::testkit(&rt, &testkit, "normal");
    let calls: Vec<_> = (0..24)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.list_tables("main").await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), ["numbers"]);
    }
    assert!(c.warm_instances() <= 2, "{}", c.warm_instances());
    assert_eq!(c.waiting_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_catalog_is_refused_as_busy_and_others_keep_their_slots() {
    common::init_tracing();
    let rt = runtime(2, 2);
    let testkit = common::load(&rt, "testkit").await;
    let mut config = CatalogConfig::new("flood", &testkit)
        .property("behaviour", "clock-sleep")
        .property("stall_in", "list-schemas");
    config.limits = Some(common::test_limits());
    let flood = rt.open_catalog(config).unwrap();
    let good = common::testkit(&rt, &testkit, "normal");

    // The first call warms a new instance up and stalls in it; new instances warm up one at a
    // time, so the next two wait for their turn (the queue holds two); the fourth is refused at
    // once.
    let stalled: Vec<_> = (0..3)
        .map(|_| {
            let flood = flood.clone();
            tokio::spawn(async move { flood.list_schemas().await })
        })
        .collect();
    let started = Instant::now();
    while flood.waiting_calls() < 2 {
        assert!(started.elapsed() < Duration::from_secs(10), "nobody queued");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = Instant::now();
    let err = flood.list_schemas().await.unwrap_err();
    assert!(
        refused.elapsed() < Duration::from_secs(1),
        "{:?}",
        refused.elapsed()
    );
    assert!(matches!(err, Error::Busy { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "catalog \"flood\": plugin \"testkit@0.1.0\": busy: its calls already fill the wait \
         queue (at most 2 instances per catalog, 2 calls waiting, 300s wait); try again later"
    );
    // The other catalog is not held up by the flood.
    let answered = Instant::now();
    assert_eq!(good.list_tables("main").await.unwrap(), ["numbers"]);
    assert!(
        answered.elapsed() < common::TEST_DEADLINE,
        "{:?}",
        answered.elapsed()
    );
    // The queued calls ran in turn: each ends at its own deadline.
    for call in stalled {
        let err = call.await.unwrap().unwrap_err();
        assert!(matches!(err, Error::DeadlineExceeded { .. }), "{err:?}");
    }
    assert_eq!(flood.waiting_calls(), 0);
}
