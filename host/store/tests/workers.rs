//! Workers: registration, heartbeats, stopping, and marking silent workers dead.

use std::time::Duration;

use crate::common::{OpenStore, TestDb, catalog_spec, store_with_plugin};
use chrono::Utc;
use quarry_store::{Entity, Error, LoadState, WorkerCatalogState, WorkerState};

backend_tests!(
    register_heartbeat_and_stop,
    silent_workers_are_marked_dead_and_come_back,
    a_new_worker_process_starts_with_no_reports,
    a_live_workers_id_stays_bound_to_its_key,
);

async fn a_live_workers_id_stays_bound_to_its_key(db: &TestDb) {
    let store = db.open().await;
    let started = Utc::now();
    let worker = store
        .register_worker_with_key("w1", "http://10.0.0.1:8081", started, Some("aa"))
        .await
        .unwrap();
    assert_eq!(worker.public_key.as_deref(), Some("aa"));
    // The same key moves freely (a worker restarted on another address).
    store
        .register_worker_with_key("w1", "http://10.0.0.2:8081", started, Some("aa"))
        .await
        .unwrap();
    // Another key for the live id: refused, and nothing changes.
    let error = store
        .register_worker_with_key("w1", "http://evil:8081", Utc::now(), Some("bb"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Conflict(_)), "{error:?}");
    let kept = store.get_worker("w1").await.unwrap();
    assert_eq!(kept.address, "http://10.0.0.2:8081");
    assert_eq!(kept.public_key.as_deref(), Some("aa"));
    // Once the holder is dead, a new key takes the id over.
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        store.mark_dead_workers(Duration::ZERO).await.unwrap(),
        ["w1"]
    );
    let taken = store
        .register_worker_with_key("w1", "http://10.0.0.3:8081", Utc::now(), Some("bb"))
        .await
        .unwrap();
    assert_eq!(taken.public_key.as_deref(), Some("bb"));
}

async fn register_heartbeat_and_stop(db: &TestDb) {
    let store = db.open().await;
    let started = Utc::now();
    let worker = store
        .register_worker("w1", "127.0.0.1:9001", started)
        .await
        .unwrap();
    assert_eq!(worker.id, "w1");
    assert_eq!(worker.address, "127.0.0.1:9001");
    assert_eq!(worker.state, WorkerState::Alive);
    assert_eq!(
        worker.started_at.timestamp_micros(),
        started.timestamp_micros()
    );

    store.worker_heartbeat("w1").await.unwrap();
    let beaten = store.get_worker("w1").await.unwrap();
    assert!(beaten.last_heartbeat >= worker.last_heartbeat);

    store.mark_worker_stopped("w1").await.unwrap();
    assert_eq!(
        store.get_worker("w1").await.unwrap().state,
        WorkerState::Stopped
    );
    let error = store.worker_heartbeat("w1").await.unwrap_err();
    assert!(matches!(error, Error::Conflict(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "worker \"w1\" has stopped; it must register again"
    );
    // A stopped worker is not marked dead: it is not expected to beat.
    assert!(
        store
            .mark_dead_workers(Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );

    let again = store
        .register_worker("w1", "127.0.0.1:9002", Utc::now())
        .await
        .unwrap();
    assert_eq!(again.state, WorkerState::Alive);
    assert_eq!(again.address, "127.0.0.1:9002");
    assert_eq!(store.list_workers().await.unwrap().len(), 1);

    let error = store.worker_heartbeat("ghost").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::NotFound {
                kind: Entity::Worker,
                ..
            }
        ),
        "{error:?}"
    );
    let error = store.mark_worker_stopped("ghost").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::NotFound {
                kind: Entity::Worker,
                ..
            }
        ),
        "{error:?}"
    );
    let error = store
        .register_worker("bad id", "127.0.0.1:1", Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidName { .. }), "{error:?}");
}

async fn silent_workers_are_marked_dead_and_come_back(db: &TestDb) {
    let store = db.open().await;
    for id in ["w1", "w2"] {
        store
            .register_worker(id, "127.0.0.1:9000", Utc::now())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    store.worker_heartbeat("w1").await.unwrap();

    let marked = store
        .mark_dead_workers(Duration::from_millis(600))
        .await
        .unwrap();
    assert_eq!(marked, ["w2"]);
    assert_eq!(
        store.get_worker("w2").await.unwrap().state,
        WorkerState::Dead
    );
    assert_eq!(
        store.get_worker("w1").await.unwrap().state,
        WorkerState::Alive
    );
    // Already dead: not marked twice.
    assert!(
        store
            .mark_dead_workers(Duration::from_millis(600))
            .await
            .unwrap()
            .is_empty()
    );

    store.worker_heartbeat("w2").await.unwrap();
    assert_eq!(
        store.get_worker("w2").await.unwrap().state,
        WorkerState::Alive
    );
}

async fn a_new_worker_process_starts_with_no_reports(db: &TestDb) {
    let store = store_with_plugin(db).await;
    store
        .create_catalog("sales", &catalog_spec("pg", "1.0.0"))
        .await
        .unwrap();
    let first_start = Utc::now();
    store
        .register_worker("w1", "127.0.0.1:9001", first_start)
        .await
        .unwrap();
    store
        .report_catalog_state("w1", "sales", 1, LoadState::Loaded, None)
        .await
        .unwrap();

    // The same process announcing itself again keeps what it reported.
    store
        .register_worker("w1", "127.0.0.1:9001", first_start)
        .await
        .unwrap();
    let status = store.catalog_status("sales").await.unwrap();
    assert_eq!(status.workers[0].state, WorkerCatalogState::Loaded);

    // A restarted process holds nothing yet.
    store
        .register_worker("w1", "127.0.0.1:9001", first_start + Duration::from_secs(5))
        .await
        .unwrap();
    let status = store.catalog_status("sales").await.unwrap();
    assert_eq!(status.workers[0].state, WorkerCatalogState::Pending);
    assert_eq!(status.workers[0].generation, None);
}
