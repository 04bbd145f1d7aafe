//! End-to-end: hostile plugin output on real processes never becomes a wrong answer. A batch
//! whose metadata reaches past its body and a compressed bomb each fail the query with the
//! reason (HTTP 422), and a well-behaved catalog on the same worker keeps answering; oversized
//! metadata is refused at its bound; a catalog the coordinator cannot open reads `failed`, not
//! `ready`; a query on a worker stopped mid-split fails instead of hanging; a plugin waiting in a
//! WASI call (a clock sleep, a FIFO read in its grant) fails its query at the call deadline, on
//! the coordinator and on a worker, and gives its thread back.

use std::time::{Duration, Instant};

use quarry_testing::TestDb;
use quarry_testing::quarry_process::Signal;
use serde_json::json;

use crate::common::cluster::Cluster;

/// A coordinator and worker `w1` with one testkit catalog per `(name, behaviour)`, each of
/// `rows` rows, plus `good` (behaviour `normal`), queryable.
async fn testkit_cluster(db: &TestDb, catalogs: &[(&str, &str)], rows: u64) -> Cluster {
    let mut cluster = Cluster::start(db.url());
    cluster.start_worker("w1", &[]);
    let testkit = cluster.upload_plugin("testkit").await;
    for (name, behaviour) in catalogs.iter().chain(&[("good", "normal")]) {
        cluster
            .create_catalog(
                name,
                &testkit,
                json!({ "behaviour": behaviour, "rows": rows.to_string() }),
            )
            .await;
        cluster
            .wait_for_catalog(name, 1, "ready", &["w1"], "loaded")
            .await;
    }
    // Queryable on the coordinator once the worker holds it.
    assert_good_answers(&cluster, rows).await;
    cluster
}

/// The well-behaved catalog answers its row count.
async fn assert_good_answers(cluster: &Cluster, rows: u64) {
    cluster
        .wait_for("good answers", Duration::from_secs(30), || async {
            match cluster
                .statement("SELECT count(*) AS n FROM good.main.numbers")
                .await
            {
                (200, body) if body["rows"] == json!([[rows]]) => Ok(()),
                (status, body) => Err(format!("{status} {body}")),
            }
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crafted_and_compressed_batches_fail_the_query_and_never_answer_short() {
    let db = TestDb::sqlite();
    let cluster = testkit_cluster(
        &db,
        &[("crafted", "crafted-offsets"), ("bomb", "compressed-bomb")],
        100,
    )
    .await;
    for (catalog, reason) in [
        ("crafted", "invalid Arrow IPC"),
        ("bomb", "compressed Arrow IPC is not accepted"),
    ] {
        let sql = format!("SELECT count(*) AS n FROM {catalog}.main.numbers");
        let (status, body) = cluster.statement(&sql).await;
        assert_eq!(status, 422, "{catalog}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{catalog}: {message}");
    }
    assert_good_answers(&cluster, 100).await;
}

/// A connector that lists a million schemas, a 100 MiB schema name, or a table of 200,000
/// columns gets an error naming the bound, and other catalogs keep answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_metadata_is_refused_at_its_bound() {
    let db = TestDb::sqlite();
    let cluster = testkit_cluster(
        &db,
        &[
            ("many", "many-schemas"),
            ("long", "long-name"),
            ("wide", "wide-table"),
        ],
        10,
    )
    .await;
    for (sql, bound) in [
        (
            "SHOW SCHEMAS FROM many",
            "1000000 schema names, over the limit of 100000",
        ),
        ("SHOW SCHEMAS FROM long", "over the limit of 1024"),
        (
            "SELECT count(*) FROM wide.main.numbers",
            "200000 columns, over the limit of 10000",
        ),
    ] {
        let (status, body) = cluster.statement(sql).await;
        assert!(status >= 400, "{sql}: {status} {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(bound), "{sql}: {body}");
        assert!(
            message.len() < 2000,
            "{sql}: the answer repeats the metadata: {} bytes",
            message.len()
        );
    }
    assert_good_answers(&cluster, 10).await;
}

/// A catalog every worker loaded but the coordinator cannot open is not `ready`: its status is
/// `failed` with the coordinator's reason, and it is ready again once the coordinator can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_the_coordinator_cannot_open_is_not_ready() {
    let db = TestDb::sqlite();
    let allowed = [("QUARRY_ENV_ALLOW", "TPCH_SPLITS"), ("TPCH_SPLITS", "2")];
    let mut cluster = Cluster::start_with(db.url(), Default::default(), &allowed);
    cluster.start_worker("w1", &allowed);
    let tpch = cluster.upload_plugin("tpch").await;
    cluster
        .create_catalog("env", &tpch, json!({ "splits": "${ENV:TPCH_SPLITS}" }))
        .await;
    cluster
        .wait_for_catalog("env", 1, "ready", &["w1"], "loaded")
        .await;

    // The operator restarts the coordinator without the allow-list: it can no longer resolve
    // the reference, though the worker still holds the catalog loaded.
    cluster.stop_coordinator();
    cluster.set_coordinator_env(&[("TPCH_SPLITS", "2")]);
    cluster.start_coordinator();
    let failed = cluster
        .wait_for(
            "env failed on the coordinator",
            Duration::from_secs(60),
            || async {
                let catalog = cluster.get("/v1/catalogs/env").await;
                if catalog["status"] == "failed" {
                    Ok(catalog)
                } else {
                    Err(catalog.to_string())
                }
            },
        )
        .await;
    let error = failed["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["worker"] == "coordinator")
        .unwrap_or_else(|| panic!("no coordinator error: {failed}"));
    assert!(
        error["error"].as_str().unwrap().contains("may not be read"),
        "{failed}"
    );

    cluster.stop_coordinator();
    cluster.set_coordinator_env(&allowed);
    cluster.start_coordinator();
    cluster
        .wait_for_catalog("env", 1, "ready", &["w1"], "loaded")
        .await;
}

/// A worker stopped (SIGSTOP) in the middle of a query: it answers nothing more, not even the
/// coordinator's keep-alive pings, and the query fails naming it instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_on_a_stopped_worker_fails_instead_of_hanging() {
    let db = TestDb::sqlite();
    let mut cluster = Cluster::start(db.url());
    cluster.start_worker("w1", &[]);
    let tpch = cluster.upload_plugin("tpch").await;
    // One split: the query's only split is the one in flight when the worker stops.
    cluster
        .create_catalog("tpch", &tpch, json!({ "splits": "1" }))
        .await;
    cluster
        .wait_for_catalog("tpch", 1, "ready", &["w1"], "loaded")
        .await;
    let url = cluster.url();
    // 60 million rows: far longer than the test lets it run.
    let query = tokio::spawn(post_statement(
        url,
        "SELECT sum(l_quantity) FROM tpch.sf10.lineitem",
    ));
    cluster
        .wait_for(
            "the split streaming rows",
            Duration::from_secs(60),
            || async {
                match cluster
                    .worker_metric("w1", "quarry_worker_scan_rows_total")
                    .await
                {
                    n if n > 0.0 => Ok(()),
                    n => Err(format!("{n} rows sent")),
                }
            },
        )
        .await;
    cluster.workers["w1"].signal(Signal::STOP).unwrap();
    let (status, body) = tokio::time::timeout(Duration::from_secs(120), query)
        .await
        .expect("the query on a stopped worker hung")
        .unwrap();
    cluster.workers["w1"].signal(Signal::CONT).unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("worker at http://127.0.0.1:"), "{body}");
}

/// Catalogs whose plugin waits in a WASI call, on the coordinator (`plan-scan`) and on the worker
/// (`next`), under a 3 s call deadline: every query fails within deadline + 2 s naming the
/// deadline, the plugin call threads are released on both processes, and a good catalog answers
/// all the while.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_waiting_in_a_host_call_fails_its_query_at_the_deadline() {
    const DEADLINE: Duration = Duration::from_secs(3);
    let db = TestDb::sqlite();
    let grant = tempfile::tempdir().unwrap();
    let fifo = grant.path().join("never-written");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let env = [("QUARRY_SANDBOX_CALL_TIMEOUT", "3s")];
    let mut cluster = Cluster::start_with(db.url(), Default::default(), &env);
    cluster.start_worker("w1", &env);
    let testkit = cluster.upload_plugin("testkit").await;
    let grant_dir = grant.path().canonicalize().unwrap();
    let fifo = grant_dir.join("never-written");
    let stalling = [
        ("sleep_plan", "clock-sleep", "plan-scan"),
        ("sleep_next", "clock-sleep", "next"),
        ("read_plan", "blocking-read", "plan-scan"),
        ("read_next", "blocking-read", "next"),
    ];
    for (name, behaviour, stall_in) in stalling.iter().copied().chain([("good", "normal", "next")])
    {
        cluster
            .create_catalog_from(json!({
                "name": name,
                "plugin": testkit,
                "properties": {
                    "behaviour": behaviour,
                    "stall_in": stall_in,
                    "read_paths": fifo.display().to_string(),
                    "rows": "100",
                },
                "grants": { "allowed_paths": [grant_dir.display().to_string()] },
            }))
            .await;
        cluster
            .wait_for_catalog(name, 1, "ready", &["w1"], "loaded")
            .await;
    }
    assert_good_answers(&cluster, 100).await;

    let url = cluster.url();
    let queries: Vec<_> = stalling
        .iter()
        .map(|(name, _, stall_in)| {
            let (url, name, stall_in) = (url.clone(), *name, *stall_in);
            tokio::spawn(async move {
                let started = Instant::now();
                let sql = format!("SELECT count(*) FROM {name}.main.numbers");
                let (status, body) = post_statement(url, &sql).await;
                (name, stall_in, status, body, started.elapsed())
            })
        })
        .collect();
    // The good catalog answers while four queries wait in their plugins.
    assert_good_answers(&cluster, 100).await;
    for query in queries {
        let (name, stall_in, status, body, took) = query.await.unwrap();
        assert_eq!(status, 422, "{name}: {body}");
        let call = if stall_in == "next" {
            "split-reader.next"
        } else {
            "catalog.plan-scan"
        };
        assert!(
            body.contains(&format!("deadline of 3s exceeded in `{call}`")),
            "{name}: {body}"
        );
        assert!(
            took < DEADLINE + Duration::from_secs(2),
            "{name} took {took:?}"
        );
    }
    assert_good_answers(&cluster, 100).await;

    // No thread is left inside a plugin call on either process. The coordinator gave up two
    // `plan-scan` calls; the worker at least one `next` call per catalog (a query's second split
    // may have been dropped while waiting for its turn to warm up a new instance).
    for (process, gave_up) in [("coordinator", 2.0), ("w1", 2.0)] {
        let cluster = &cluster;
        cluster
            .wait_for(
                &format!("{process}'s plugin call threads released"),
                Duration::from_secs(10),
                || async move {
                    let running =
                        process_metric(cluster, process, "quarry_plugin_calls_running").await;
                    let abandoned =
                        process_metric(cluster, process, "quarry_plugin_calls_abandoned_total")
                            .await;
                    if running == 0.0 && abandoned >= gave_up {
                        Ok(())
                    } else {
                        Err(format!("{running} running, {abandoned} abandoned"))
                    }
                },
            )
            .await;
    }
    // Release the kernel threads still opening the FIFO (they are the plugin I/O pool's, not
    // any call's), so the processes stop cleanly.
    tokio::task::spawn_blocking(move || drop(std::fs::OpenOptions::new().write(true).open(fifo)))
        .await
        .unwrap();
}

/// A `/metrics` value of the coordinator or of a worker.
async fn process_metric(cluster: &Cluster, process: &str, name: &str) -> f64 {
    if process == "coordinator" {
        cluster.coordinator_metric(name).await
    } else {
        cluster.worker_metric(process, name).await
    }
}

/// `POST /v1/statement` as admin on the coordinator at `url`, owning what it needs so it can
/// run in a task of its own while the test stops workers: the status and the body text.
async fn post_statement(url: String, sql: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/statement"))
        .bearer_auth(crate::common::cluster::ADMIN_TOKEN)
        .json(&json!({ "sql": sql }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}
