//! End-to-end: a real coordinator and real workers (separate `quarry` processes on 127.0.0.1)
//! keep every catalog on every live worker, without restarts: pushes on create, alter and
//! delete; dead workers leave and come back up to date; a restarted coordinator loses nothing;
//! a worker that hangs stalls nobody else.

use std::time::Duration;

use crate::common::cluster::{CLUSTER_SECRET, Cluster, Timings};
use quarry_server::worker_identity::{WorkerKey, registration_message};
use quarry_testing::TestDb;
use serde_json::{Value, json};

/// Names of the catalogs worker `id` holds in state `loaded`, with their generations.
async fn loaded_on(cluster: &Cluster, id: &str) -> Vec<(String, i64)> {
    let held = cluster.held_by(id).await;
    let mut loaded: Vec<(String, i64)> = held["catalogs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "loaded")
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["version"]["generation"].as_i64().unwrap(),
            )
        })
        .collect();
    loaded.sort();
    loaded
}

async fn worker_state(cluster: &Cluster, id: &str) -> String {
    let workers = cluster.get("/v1/workers").await;
    workers["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id)
        .map(|w| w["state"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_catalog_reaches_every_worker_through_deaths_restarts_alters_and_drops() {
    let db = TestDb::sqlite();
    let mut cluster = Cluster::start(db.url());
    for id in ["w1", "w2", "w3"] {
        cluster.start_worker(id, &[]);
    }
    // The plugin is uploaded after the workers started: a new connector type, no restart.
    let tpch = cluster.upload_plugin("tpch").await;
    cluster.create_catalog("one", &tpch, json!({})).await;
    let catalog = cluster
        .wait_for_catalog("one", 1, "ready", &["w1", "w2", "w3"], "loaded")
        .await;
    assert!(
        catalog["errors"].as_array().unwrap().is_empty(),
        "{catalog}"
    );
    for id in ["w1", "w2", "w3"] {
        assert_eq!(loaded_on(&cluster, id).await, [("one".to_owned(), 1)]);
        // The coordinator compiled tpch on upload; workers took its artifact.
        assert_eq!(
            cluster
                .worker_metric(id, "quarry_plugin_compiles_total")
                .await,
            0.0,
            "worker {id} compiled a plugin the coordinator had compiled\n{}",
            cluster.outputs()
        );
    }

    // kill -9 w3: it is marked dead and leaves the status; the catalog stays ready.
    cluster.kill_worker("w3");
    cluster
        .wait_for("w3 marked dead", Duration::from_secs(30), || async {
            match worker_state(&cluster, "w3").await.as_str() {
                "dead" => Ok(()),
                other => Err(other.to_owned()),
            }
        })
        .await;
    cluster
        .wait_for_catalog("one", 1, "ready", &["w1", "w2"], "loaded")
        .await;

    // Created while w3 is down.
    cluster
        .create_catalog("two", &tpch, json!({ "splits": "2" }))
        .await;
    cluster
        .wait_for_catalog("two", 1, "ready", &["w1", "w2"], "loaded")
        .await;

    // w3 comes back (same id, same cache) and gets everything, including "two".
    cluster.start_worker("w3", &[]);
    for name in ["one", "two"] {
        cluster
            .wait_for_catalog(name, 1, "ready", &["w1", "w2", "w3"], "loaded")
            .await;
    }
    assert_eq!(
        loaded_on(&cluster, "w3").await,
        [("one".to_owned(), 1), ("two".to_owned(), 1)]
    );

    // A fourth worker started later gets everything.
    cluster.start_worker("w4", &[]);
    for name in ["one", "two"] {
        cluster
            .wait_for_catalog(name, 1, "ready", &["w1", "w2", "w3", "w4"], "loaded")
            .await;
    }
    let ready = reqwest::get(format!("{}/readyz", cluster.workers["w4"].url()))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    // Alter: generation 2 everywhere.
    let (status, altered) = cluster
        .call(
            reqwest::Method::PUT,
            "/v1/catalogs/one",
            Some(json!({ "plugin": tpch, "properties": { "splits": "3" } })),
        )
        .await;
    assert_eq!(status, 200, "{altered}");
    assert_eq!(altered["generation"], 2);
    cluster
        .wait_for_catalog("one", 2, "ready", &["w1", "w2", "w3", "w4"], "loaded")
        .await;
    for id in ["w1", "w2", "w3", "w4"] {
        assert!(
            loaded_on(&cluster, id)
                .await
                .contains(&("one".to_owned(), 2))
        );
    }

    // Delete: gone everywhere.
    let (status, _) = cluster
        .call(reqwest::Method::DELETE, "/v1/catalogs/two", None)
        .await;
    assert_eq!(status, 204);
    for id in ["w1", "w2", "w3", "w4"] {
        cluster
            .wait_for(
                &format!("two gone from {id}"),
                Duration::from_secs(30),
                || async {
                    let loaded = loaded_on(&cluster, id).await;
                    if loaded.iter().any(|(name, _)| name == "two") {
                        Err(format!("{loaded:?}"))
                    } else {
                        Ok(())
                    }
                },
            )
            .await;
    }
    assert_eq!(
        cluster
            .call(reqwest::Method::GET, "/v1/catalogs/two", None)
            .await
            .0,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_variable_missing_on_one_worker_fails_the_catalog_there_only() {
    let db = TestDb::sqlite();
    // The coordinator validates with its own environment; each worker resolves in its own.
    let allow = ("QUARRY_ENV_ALLOW", "TPCH_SPLITS");
    let mut cluster =
        Cluster::start_with(db.url(), Timings::default(), &[("TPCH_SPLITS", "4"), allow]);
    cluster.start_worker("w1", &[("TPCH_SPLITS", "4"), allow]);
    cluster.start_worker("w2", &[("TPCH_SPLITS", "4"), allow]);
    cluster.start_worker("w3", &[allow]);
    let tpch = cluster.upload_plugin("tpch").await;
    cluster
        .create_catalog("env", &tpch, json!({ "splits": "${ENV:TPCH_SPLITS}" }))
        .await;
    let catalog = cluster
        .wait_for(
            "w3 to report env failed",
            Duration::from_secs(60),
            || async {
                let catalog = cluster.get("/v1/catalogs/env").await;
                let states: Vec<(String, String)> = catalog["workers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| {
                        (
                            w["worker"].as_str().unwrap().to_owned(),
                            w["state"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                let want = [
                    ("w1".to_owned(), "loaded".to_owned()),
                    ("w2".to_owned(), "loaded".to_owned()),
                    ("w3".to_owned(), "failed".to_owned()),
                ];
                if states == want {
                    Ok(catalog)
                } else {
                    Err(catalog.to_string())
                }
            },
        )
        .await;
    assert_eq!(catalog["status"], "failed", "{catalog}");
    let errors = catalog["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{catalog}");
    assert_eq!(errors[0]["worker"], "w3");
    let message = errors[0]["error"].as_str().unwrap();
    assert!(
        message.contains("TPCH_SPLITS") && message.contains("w3"),
        "the error names the variable and the worker: {message}"
    );
    // The property is returned as given, never resolved.
    assert_eq!(catalog["properties"]["splits"], "${ENV:TPCH_SPLITS}");
}

/// How many workers hold `catalog` (a `GET /v1/catalogs/{name}` answer) in `state`.
fn workers_in(catalog: &Value, state: &str) -> usize {
    catalog["workers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| w["state"] == state)
        .count()
}

/// How long the retry test waits for each step: the files plugin is compiled while other tests
/// run, and retries back off.
const WAIT_UNDER_LOAD: Duration = Duration::from_secs(180);

/// A load that failed for a reason that passes is retried: the directory a files catalog reads
/// is missing on one worker, then created, and that worker loads the catalog with no alter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_load_is_retried_until_it_succeeds() {
    let db = TestDb::sqlite();
    let data = tempfile::tempdir().unwrap();
    let (present, missing) = (data.path().join("present"), data.path().join("later"));
    std::fs::create_dir(&present).unwrap();
    let present = present.to_str().unwrap();
    let allow = ("QUARRY_ENV_ALLOW", "DATA_*");
    let mut cluster = Cluster::start_with(
        db.url(),
        Timings::default(),
        &[("DATA_ROOT", present), allow],
    );
    cluster.start_worker("w1", &[("DATA_ROOT", present), allow]);
    cluster.start_worker("w2", &[("DATA_ROOT", missing.to_str().unwrap()), allow]);
    let files = cluster.upload_plugin("files").await;
    cluster
        .create_catalog_from(json!({
            "name": "lake",
            "plugin": files,
            "properties": { "root": "${ENV:DATA_ROOT}" },
            "grants": { "allowed_paths": [data.path()] },
        }))
        .await;
    let failed = cluster
        .wait_for("lake failed on w2", WAIT_UNDER_LOAD, || async {
            let catalog = cluster.get("/v1/catalogs/lake").await;
            let failed_on: Vec<&Value> = catalog["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| &e["worker"])
                .collect();
            if catalog["status"] == "failed" && failed_on == [&json!("w2")] {
                Ok(catalog)
            } else {
                Err(catalog.to_string())
            }
        })
        .await;
    let message = failed["errors"][0]["error"].as_str().unwrap();
    // The resolved value stays secret, even in errors.
    assert!(
        message.contains("w2") && message.contains("No such file"),
        "says why: {message}"
    );

    std::fs::create_dir(&missing).unwrap();
    // Retried after one sync interval (1 s here), then 2 s, 4 s…: loaded without an alter. The
    // failures went on while the catalog was first loaded, so the next retry may be a minute
    // away on a busy machine.
    let ready = cluster
        .wait_for("lake ready on w1 and w2", WAIT_UNDER_LOAD, || async {
            let catalog = cluster.get("/v1/catalogs/lake").await;
            if catalog["status"] == "ready" && workers_in(&catalog, "loaded") == 2 {
                Ok(catalog)
            } else {
                Err(catalog.to_string())
            }
        })
        .await;
    assert_eq!(ready["generation"], 1, "{ready}");
    assert!(
        cluster.outputs().contains("retrying a failed catalog load"),
        "the coordinator logs the retry"
    );
}

async fn coordinator_restart_loses_nothing(db: TestDb) {
    let mut cluster = Cluster::start(db.url());
    cluster.start_worker("w1", &[]);
    cluster.start_worker("w2", &[]);
    let tpch = cluster.upload_plugin("tpch").await;
    cluster.create_catalog("kept", &tpch, json!({})).await;
    cluster
        .wait_for_catalog("kept", 1, "ready", &["w1", "w2"], "loaded")
        .await;
    let plugins_before = cluster.get("/v1/plugins").await;

    cluster.stop_coordinator();
    cluster.start_coordinator();

    let plugins_after = cluster.get("/v1/plugins").await;
    assert_eq!(plugins_before, plugins_after);
    // Status survives the restart (it is derived from stored reports).
    let catalog = cluster.get("/v1/catalogs/kept").await;
    assert_eq!(catalog["status"], "ready", "{catalog}");
    assert_eq!(catalog["generation"], 1);
    // Workers re-sync with the new coordinator process: a new catalog reaches both.
    cluster.create_catalog("after", &tpch, json!({})).await;
    cluster
        .wait_for_catalog("after", 1, "ready", &["w1", "w2"], "loaded")
        .await;
    cluster
        .wait_for_catalog("kept", 1, "ready", &["w1", "w2"], "loaded")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_coordinator_on_sqlite_loses_nothing() {
    coordinator_restart_loses_nothing(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_coordinator_on_postgres_loses_nothing() {
    coordinator_restart_loses_nothing(TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_worker_does_not_stall_the_others() {
    let db = TestDb::sqlite();
    // Long timeouts: the hung worker stays "alive" and its syncer stays stuck in a call.
    let timings = Timings {
        heartbeat_timeout: "120s",
        worker_request_timeout: "120s",
        ..Timings::default()
    };
    let mut cluster = Cluster::start_with(db.url(), timings, &[]);
    cluster.start_worker("w1", &[]);
    cluster.start_worker("w2", &[]);

    // A "worker" that accepts connections and never answers.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_addr = hung.local_addr().unwrap();
    let _accepting = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in hung.incoming() {
            open.push(stream);
        }
    });
    let key_dir = tempfile::tempdir().unwrap();
    let key = WorkerKey::load_or_create(&key_dir.path().join("worker-key")).unwrap();
    let address = format!("http://{hung_addr}");
    let started_at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let signature = key.sign(&registration_message(
        "hung",
        &address,
        started_at,
        &key.public_key(),
    ));
    let registered = reqwest::Client::new()
        .post(format!("{}/v1/workers", cluster.url()))
        .bearer_auth(CLUSTER_SECRET)
        .json(&json!({
            "id": "hung",
            "address": address,
            "started_at": started_at,
            "public_key": key.public_key(),
            "signature": signature,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status().as_u16(), 200);

    let tpch = cluster.upload_plugin("tpch").await;
    cluster.create_catalog("busy", &tpch, json!({})).await;
    // Both real workers load it long before the hung one's call could time out; the catalog
    // stays pending because a live worker has not loaded it.
    let catalog: Value = cluster
        .wait_for(
            "w1 and w2 loaded despite the hung worker",
            Duration::from_secs(60),
            || async {
                let catalog = cluster.get("/v1/catalogs/busy").await;
                if workers_in(&catalog, "loaded") == 2 {
                    Ok(catalog)
                } else {
                    Err(catalog.to_string())
                }
            },
        )
        .await;
    assert_eq!(catalog["status"], "pending", "{catalog}");
    let hung_entry = catalog["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["worker"] == "hung")
        .cloned()
        .unwrap();
    assert_eq!(hung_entry["state"], "pending", "{catalog}");
}
