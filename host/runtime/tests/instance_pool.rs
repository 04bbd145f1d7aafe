//! Instances are reused across calls and splits of a catalog, dropped after a trap, and
//! dropped when idle; an idle catalog holds no instance.

use crate::common;

use std::time::Duration;

use quarry_runtime::{CatalogConfig, Runtime, RuntimeConfig, ScanRequest};

#[tokio::test]
async fn a_catalog_reuses_its_warm_instance() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let c = common::testkit(&rt, &testkit, "normal");
    assert_eq!(
        c.warm_instances(),
        0,
        "opening a catalog instantiates nothing"
    );
    c.list_schemas().await.unwrap();
    assert_eq!(c.warm_instances(), 1);
    let batches = common::scan_all(&c, &ScanRequest::table("main", "numbers"))
        .await
        .unwrap();
    assert_eq!(common::rows(&batches), 10_000);
    assert_eq!(
        c.warm_instances(),
        1,
        "both splits ran in the same instance"
    );
    c.release_instances();
    assert_eq!(c.warm_instances(), 0);
}

#[tokio::test]
async fn concurrent_scans_get_their_own_instances_and_the_pool_stays_small() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let c = common::testkit(&rt, &testkit, "normal");
    let request = ScanRequest::table("main", "numbers");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (c, request) = (c.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            common::rows(&common::scan_all(&c, &request).await.unwrap())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 10_000);
    }
    let (_, slots) = rt.free_instance_slots();
    assert!(
        c.warm_instances() <= slots.per_catalog,
        "at most the catalog's share of instances is kept"
    );
}

#[tokio::test]
async fn idle_instances_are_dropped_after_the_timeout() {
    let rt = Runtime::new(RuntimeConfig {
        idle_timeout: Duration::ZERO,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let testkit = common::load(&rt, "testkit").await;
    let c = common::testkit(&rt, &testkit, "normal");
    c.list_schemas().await.unwrap();
    assert_eq!(c.warm_instances(), 1);
    rt.sweep_idle();
    assert_eq!(c.warm_instances(), 0);
    // And the catalog still works: it instantiates again.
    assert_eq!(c.list_tables("main").await.unwrap(), ["numbers"]);
}

#[tokio::test]
async fn a_thousand_idle_catalogs_hold_no_instances() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let catalogs: Vec<_> = (0..1000)
        .map(|i| {
            rt.open_catalog(
                CatalogConfig::new(format!("c{i}"), &testkit).property("behaviour", "normal"),
            )
            .unwrap()
        })
        .collect();
    assert!(catalogs.iter().all(|c| c.warm_instances() == 0));
    // Any of them answers on demand.
    assert_eq!(
        catalogs[999].list_tables("main").await.unwrap(),
        ["numbers"]
    );
}

#[tokio::test]
async fn on_demand_allocation_serves_the_same() {
    let rt = Runtime::new(RuntimeConfig {
        allocation: quarry_runtime::Allocation::OnDemand,
        ..RuntimeConfig::default()
    })
    .unwrap();
    assert!(!rt.is_pooling());
    let testkit = common::load(&rt, "testkit").await;
    let c = common::testkit(&rt, &testkit, "normal");
    let batches = common::scan_all(&c, &ScanRequest::table("main", "numbers"))
        .await
        .unwrap();
    assert_eq!(common::rows(&batches), 10_000);
}
