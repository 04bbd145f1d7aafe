//! What workers report per catalog: generation ordering, and the status derived from the
//! reports of live workers.

use std::time::Duration;

use crate::common::{TestDb, catalog_spec, store_with_plugin};
use chrono::Utc;
use quarry_store::{
    CatalogReport, CatalogState, Entity, Error, LoadState, ReportOutcome, Store,
    WorkerCatalogState, WorkerCatalogStatus, WorkerError,
};

backend_tests!(
    status_follows_the_reports_of_live_workers,
    a_stale_report_is_ignored,
    a_report_from_the_future_is_refused,
    reports_about_unknown_things_are_not_found,
    dead_and_stopped_workers_do_not_count,
    deleting_a_catalog_deletes_its_reports,
    a_batch_of_reports_is_recorded_skipping_what_a_single_report_refuses,
);

async fn with_workers(db: &TestDb, ids: &[&str]) -> Store {
    let store = store_with_plugin(db).await;
    store
        .create_catalog("sales", &catalog_spec("pg", "1.0.0"))
        .await
        .unwrap();
    for id in ids {
        store
            .register_worker(id, "127.0.0.1:9000", Utc::now())
            .await
            .unwrap();
    }
    store
}

async fn report(store: &Store, worker: &str, generation: i64, state: LoadState) -> ReportOutcome {
    let error = (state == LoadState::Failed).then_some("connection refused");
    store
        .report_catalog_state(worker, "sales", generation, state, error)
        .await
        .unwrap()
}

async fn state(store: &Store) -> CatalogState {
    store.catalog_status("sales").await.unwrap().state
}

async fn status_follows_the_reports_of_live_workers(db: &TestDb) {
    let store = with_workers(db, &["w1", "w2"]).await;

    let status = store.catalog_status("sales").await.unwrap();
    assert_eq!(status.catalog, "sales");
    assert_eq!(status.generation, 1);
    assert_eq!(status.state, CatalogState::Pending);
    assert_eq!(
        status.workers,
        ["w1", "w2"].map(|w| WorkerCatalogStatus {
            worker: w.to_owned(),
            generation: None,
            state: WorkerCatalogState::Pending,
            error: None,
        })
    );

    assert_eq!(
        report(&store, "w1", 1, LoadState::Loading).await,
        ReportOutcome::Recorded
    );
    assert_eq!(state(&store).await, CatalogState::Pending);
    report(&store, "w1", 1, LoadState::Loaded).await;
    assert_eq!(state(&store).await, CatalogState::Pending);
    report(&store, "w2", 1, LoadState::Loaded).await;
    assert_eq!(state(&store).await, CatalogState::Ready);

    // An alter makes every worker behind until it reports the new generation.
    store
        .alter_catalog("sales", &catalog_spec("pg", "1.0.0"), None)
        .await
        .unwrap();
    assert_eq!(state(&store).await, CatalogState::Pending);
    report(&store, "w1", 2, LoadState::Loaded).await;
    report(&store, "w2", 2, LoadState::Failed).await;
    let status = store.catalog_status("sales").await.unwrap();
    assert_eq!(status.state, CatalogState::Failed);
    assert_eq!(
        status.errors,
        [WorkerError {
            worker: "w2".to_owned(),
            error: "connection refused".to_owned(),
        }]
    );
    assert_eq!(status.workers[1].generation, Some(2));
    assert_eq!(
        status.workers[1].error.as_deref(),
        Some("connection refused")
    );

    // A retry at the same generation replaces the failure.
    report(&store, "w2", 2, LoadState::Loaded).await;
    let status = store.catalog_status("sales").await.unwrap();
    assert_eq!(status.state, CatalogState::Ready);
    assert!(status.errors.is_empty());
    assert_eq!(status.workers[1].error, None);

    let all = store.catalog_statuses().await.unwrap();
    assert_eq!(all, [status]);
}

async fn a_stale_report_is_ignored(db: &TestDb) {
    let store = with_workers(db, &["w1"]).await;
    store
        .alter_catalog("sales", &catalog_spec("pg", "1.0.0"), None)
        .await
        .unwrap();
    report(&store, "w1", 2, LoadState::Loaded).await;

    // A message about generation 1 that arrives late.
    let outcome = report(&store, "w1", 1, LoadState::Failed).await;
    assert_eq!(
        outcome,
        ReportOutcome::Stale {
            recorded_generation: 2
        }
    );
    let status = store.catalog_status("sales").await.unwrap();
    assert_eq!(status.state, CatalogState::Ready);
    assert_eq!(status.workers[0].generation, Some(2));
    assert_eq!(status.workers[0].state, WorkerCatalogState::Loaded);

    // Older than the catalog but newer than the row is recorded: the worker is behind.
    store
        .alter_catalog("sales", &catalog_spec("pg", "1.0.0"), None)
        .await
        .unwrap();
    store
        .alter_catalog("sales", &catalog_spec("pg", "1.0.0"), None)
        .await
        .unwrap();
    assert_eq!(
        report(&store, "w1", 3, LoadState::Loaded).await,
        ReportOutcome::Recorded
    );
    let status = store.catalog_status("sales").await.unwrap();
    assert_eq!(status.generation, 4);
    assert_eq!(status.state, CatalogState::Pending);
    assert_eq!(status.workers[0].generation, Some(3));
}

async fn a_report_from_the_future_is_refused(db: &TestDb) {
    let store = with_workers(db, &["w1"]).await;
    let error = store
        .report_catalog_state("w1", "sales", 5, LoadState::Loaded, None)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Conflict(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "catalog \"sales\" is at generation 1; worker \"w1\" reported generation 5, which \
         does not exist yet"
    );
    assert_eq!(db.count_rows("catalog_workers").await, 0);

    let error = store
        .report_catalog_state("w1", "sales", 0, LoadState::Loaded, None)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidName { .. }), "{error:?}");
}

async fn reports_about_unknown_things_are_not_found(db: &TestDb) {
    let store = with_workers(db, &["w1"]).await;
    let error = store
        .report_catalog_state("w1", "nope", 1, LoadState::Loaded, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::NotFound {
                kind: Entity::Catalog,
                ..
            }
        ),
        "{error:?}"
    );
    let error = store
        .report_catalog_state("ghost", "sales", 1, LoadState::Loaded, None)
        .await
        .unwrap_err();
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
    assert_eq!(error.to_string(), "worker \"ghost\" not found");
    let error = store.catalog_status("nope").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::NotFound {
                kind: Entity::Catalog,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(db.count_rows("catalog_workers").await, 0);
}

async fn dead_and_stopped_workers_do_not_count(db: &TestDb) {
    let store = with_workers(db, &["w1", "w2", "w3"]).await;
    report(&store, "w1", 1, LoadState::Loaded).await;
    report(&store, "w3", 1, LoadState::Failed).await;
    assert_eq!(state(&store).await, CatalogState::Failed);

    // w3 stops: its failure no longer counts, but w2 has not reported.
    store.mark_worker_stopped("w3").await.unwrap();
    assert_eq!(state(&store).await, CatalogState::Pending);

    // w2 misses its heartbeats: only w1 is left, and it has the catalog.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    store.worker_heartbeat("w1").await.unwrap();
    let marked = store
        .mark_dead_workers(Duration::from_millis(600))
        .await
        .unwrap();
    assert_eq!(marked, ["w2"]);
    let status = store.catalog_status("sales").await.unwrap();
    assert_eq!(status.state, CatalogState::Ready);
    let live: Vec<&str> = status.workers.iter().map(|w| w.worker.as_str()).collect();
    assert_eq!(live, ["w1"]);

    // w2 comes back without the catalog: pending again.
    store.worker_heartbeat("w2").await.unwrap();
    assert_eq!(state(&store).await, CatalogState::Pending);

    // Nobody alive: pending, with no worker detail.
    store.mark_worker_stopped("w1").await.unwrap();
    store.mark_worker_stopped("w2").await.unwrap();
    let status = store.catalog_status("sales").await.unwrap();
    assert_eq!(status.state, CatalogState::Pending);
    assert!(status.workers.is_empty());
    assert_eq!(store.catalog_statuses().await.unwrap(), [status]);
}

async fn deleting_a_catalog_deletes_its_reports(db: &TestDb) {
    let store = with_workers(db, &["w1", "w2"]).await;
    report(&store, "w1", 1, LoadState::Loaded).await;
    report(&store, "w2", 1, LoadState::Loading).await;
    assert_eq!(db.count_rows("catalog_workers").await, 2);
    store.delete_catalog("sales").await.unwrap();
    assert_eq!(db.count_rows("catalog_workers").await, 0);
    assert!(store.catalog_statuses().await.unwrap().is_empty());
}

async fn a_batch_of_reports_is_recorded_skipping_what_a_single_report_refuses(db: &TestDb) {
    let store = with_workers(db, &["w1"]).await;
    let reports = [
        CatalogReport {
            catalog: "sales",
            generation: 1,
            state: LoadState::Loaded,
            error: None,
        },
        // Unknown catalog and a generation from the future: skipped, not an error.
        CatalogReport {
            catalog: "nope",
            generation: 1,
            state: LoadState::Loaded,
            error: None,
        },
        CatalogReport {
            catalog: "sales",
            generation: 9,
            state: LoadState::Failed,
            error: Some("boom"),
        },
    ];
    assert_eq!(
        store.report_catalog_states("w1", &reports).await.unwrap(),
        1
    );
    assert_eq!(state(&store).await, CatalogState::Ready);
    let unknown = store.report_catalog_states("ghost", &reports).await;
    assert!(
        matches!(
            unknown,
            Err(Error::NotFound {
                kind: Entity::Worker,
                ..
            })
        ),
        "{unknown:?}"
    );
}
