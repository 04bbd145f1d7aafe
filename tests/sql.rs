//! End-to-end SQL: a real coordinator and two real workers (separate `quarry` processes on
//! 127.0.0.1). Queries are planned on the coordinator and cut into stages that run on the
//! workers' execution services, scans beside their connectors; answers are checked against
//! DataFusion run in this process over the same data generated natively (an independent path),
//! through the tpch connector and through the files connector over Parquet; `psql` connects over
//! the PostgreSQL wire protocol; catalog DDL goes through the same validation as the API; a
//! worker killed mid-query costs an error or nothing, never a wrong answer.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::cluster::{ADMIN_TOKEN, Cluster};
use crate::common::psql::{psql, psql_command};
use arrow_array::RecordBatch;
use quarry_testing::TestDb;
use quarry_testing::tpch_reference::{
    TPCH_QUERIES, assert_same_answer, native_answer, native_tpch_context, tpch_query,
    write_tpch_parquet,
};
use serde_json::{Value, json};

/// `tiny` is scale factor 0.01.
const TINY: f64 = 0.01;

/// `POST /v1/statement` with JSON, as the admin; the status and the body.
async fn statement(cluster: &Cluster, sql: &str) -> (u16, Value) {
    cluster.statement(sql).await
}

/// A cluster with two workers and a `tpch` catalog split finely enough that every table scan
/// has several splits to spread.
async fn tpch_cluster(db: &TestDb) -> Cluster {
    let mut cluster = Cluster::start_with_pg(db.url());
    cluster.start_worker("w1", &[]);
    cluster.start_worker("w2", &[]);
    let tpch = cluster.upload_plugin("tpch").await;
    cluster
        .create_catalog("tpch", &tpch, json!({ "split_rows": "5000" }))
        .await;
    wait_until_tpch_answers(&cluster).await;
    cluster
}

/// Waits until catalog `tpch` (generation 1) is loaded on w1 and w2 and answers on the
/// coordinator (queryable once a worker holds it).
async fn wait_until_tpch_answers(cluster: &Cluster) {
    cluster
        .wait_for_catalog("tpch", 1, "ready", &["w1", "w2"], "loaded")
        .await;
    cluster
        .wait_for("tpch queryable", Duration::from_secs(30), || async {
            match statement(cluster, "SELECT count(*) AS n FROM tpch.tiny.region").await {
                (200, body) if body["rows"] == json!([[5]]) => Ok(()),
                (status, body) => Err(format!("{status} {body}")),
            }
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpch_answers_through_coordinator_and_two_workers_match_native_datafusion() {
    let db = TestDb::sqlite();
    let cluster = tpch_cluster(&db).await;
    let native = native_tpch_context(TINY, "tiny");
    for name in TPCH_QUERIES {
        let sql = tpch_query(name);
        let (schema, batches) = cluster.arrow_statement(&sql).await;
        let (want_schema, want) = native_answer(&native, &sql).await;
        assert_same_answer(name, (&schema, &batches), (&want_schema, &want));
    }

    // The splits were spread: both workers read some.
    for id in ["w1", "w2"] {
        let splits = cluster
            .worker_metric(id, "quarry_worker_splits_total")
            .await;
        assert!(
            splits > 0.0,
            "worker {id} read no split\n{}",
            cluster.outputs()
        );
    }

    // Q1's partial aggregation and Q3's joins run in stages on the workers, and every scan
    // does: EXPLAIN shows the stages as they will run.
    for (name, operator) in [
        ("q01", "AggregateExec: mode=Partial"),
        ("q03", "HashJoinExec"),
    ] {
        let plan = physical_plan(&cluster, &tpch_query(name)).await;
        assert!(
            runs_in_a_worker_stage(&plan, operator),
            "{name}: no {operator} under a network boundary:\n{plan}"
        );
        assert!(
            every_line_with_is_under_a_boundary(&plan, "ConnectorScanExec"),
            "{name}: a scan outside a worker stage:\n{plan}"
        );
    }

    stages_show_where_they_ran_and_what_they_moved(&cluster).await;

    // JSON answers: typed columns, numbers as numbers, decimals as exact strings.
    let (status, body) = statement(
        &cluster,
        "SELECT n_nationkey, n_name, CAST(1.50 AS DECIMAL(5,2)) AS d FROM tpch.tiny.nation \
         WHERE n_nationkey < 2 ORDER BY n_nationkey",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["columns"][0]["name"], "n_nationkey");
    assert_eq!(body["columns"][2]["type"], "decimal(5,2)");
    assert_eq!(
        body["rows"],
        json!([[0, "ALGERIA", "1.50"], [1, "ARGENTINA", "1.50"]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projection_and_limit_reach_the_connector() {
    let db = TestDb::sqlite();
    let cluster = tpch_cluster(&db).await;
    let (status, body) = statement(
        &cluster,
        "SELECT l_orderkey, l_quantity FROM tpch.tiny.lineitem LIMIT 7",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["row_count"], 7);

    let scans = cluster.get("/v1/scans").await;
    let scan = scans["scans"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|s| s["table"] == "lineitem")
        .unwrap_or_else(|| panic!("no lineitem scan in {scans}"))
        .clone();
    // l_orderkey is column 0 and l_quantity column 4 of lineitem.
    assert_eq!(scan["projection"], json!([0, 4]), "{scan}");
    assert_eq!(scan["limit"], 7, "{scan}");
    // The connector trims the splits to what the limit needs.
    assert_eq!(scan["splits"], 1, "{scan}");

    // A filter the connector does not take stays in DataFusion: the scan asks only for the
    // column the filter needs, and the answer is right.
    let (status, body) = statement(
        &cluster,
        "SELECT count(*) AS n FROM tpch.tiny.nation WHERE n_regionkey = 1",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"], json!([[5]]));
    let scans = cluster.get("/v1/scans").await;
    let scan = scans["scans"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(scan["table"], "nation", "{scan}");
    // n_regionkey is column 2 of nation.
    assert_eq!(scan["projection"], json!([2]), "{scan}");
    assert_eq!(scan["filters"], json!([]), "{scan}");
    assert_eq!(scan["limit"], Value::Null, "{scan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_runs_queries_and_catalog_ddl() {
    let db = TestDb::sqlite();
    let cluster = tpch_cluster(&db).await;
    let port = cluster.pg_port().unwrap();

    assert_eq!(
        psql(port, "SELECT count(*) FROM tpch.tiny.nation").unwrap(),
        "25\n"
    );
    // TPC-H Q6 through psql gives the native answer.
    let sql = tpch_query("q06");
    let (_, want) = native_answer(&native_tpch_context(TINY, "tiny"), &sql).await;
    let want =
        datafusion::arrow::util::display::array_value_to_string(want[0].column(0), 0).unwrap();
    let got = psql(port, &sql).unwrap();
    let (got, want): (f64, f64) = (got.trim().parse().unwrap(), want.parse().unwrap());
    assert!(
        (got - want).abs() < 0.01,
        "q06 through psql: {got} vs {want}"
    );

    // Catalog DDL: created, validated and loaded before the statement answers.
    let created = psql(
        port,
        "CREATE CATALOG small USING tpch WITH (\"splits\" = '2')",
    )
    .unwrap();
    assert!(created.contains("small|1|ready"), "{created}");
    assert_eq!(
        psql(port, "SELECT count(*) FROM small.tiny.region").unwrap(),
        "5\n"
    );
    assert!(
        psql(port, "SHOW CATALOGS").unwrap().contains("small"),
        "SHOW CATALOGS lists the new catalog"
    );
    // The same validation as the API: an unknown property is refused and nothing is stored.
    let refused = psql(
        port,
        "CREATE CATALOG broken USING tpch WITH (\"no_such_property\" = 'x')",
    )
    .unwrap_err();
    assert!(refused.contains("no_such_property"), "{refused}");
    let (status, _) = cluster
        .call(reqwest::Method::GET, "/v1/catalogs/broken", None)
        .await;
    assert_eq!(status, 404);

    let dropped = psql(port, "DROP CATALOG small").unwrap();
    assert!(dropped.contains("small||dropped"), "{dropped}");
    let gone = psql(port, "SELECT count(*) FROM small.tiny.region").unwrap_err();
    assert!(gone.contains("ERROR"), "{gone}");
    assert!(psql(port, "DROP CATALOG IF EXISTS small").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_statements_get_clear_errors() {
    let db = TestDb::sqlite();
    let cluster = tpch_cluster(&db).await;
    let failed = "quarry_queries_total{outcome=\"failed\"}";
    let failed_before = cluster.coordinator_metric(failed).await;
    let (status, body) = statement(&cluster, "SELEC 1").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("SELEC"),
        "{body}"
    );
    let (status, body) = statement(&cluster, "SELECT * FROM tpch.tiny.no_such_table").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no_such_table"),
        "{body}"
    );
    let (status, body) = statement(&cluster, "  ").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = statement(&cluster, "DROP CATALOG nope").await;
    assert_eq!(status, 404, "{body}");
    // Each statement counted as failed (the blank one is not a statement), none as running.
    assert_eq!(
        cluster.coordinator_metric(failed).await - failed_before,
        3.0
    );
    assert_eq!(
        cluster.coordinator_metric("quarry_queries_running").await,
        0.0
    );
}

/// DataFusion's DDL and DML cannot reach the coordinator's files: refused, nothing read or
/// written, and the refusal says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_cannot_read_or_write_the_coordinators_files() {
    let db = TestDb::sqlite();
    let cluster = tpch_cluster(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.csv");
    std::fs::write(&secret, "a\n42\n").unwrap();
    let written = dir.path().join("out.csv");
    for sql in [
        format!(
            "CREATE EXTERNAL TABLE leak STORED AS CSV LOCATION '{}'",
            secret.display()
        ),
        format!(
            "COPY (SELECT r_name FROM tpch.tiny.region) TO '{}' STORED AS CSV",
            written.display()
        ),
        "SET datafusion.execution.batch_size = 1".to_owned(),
    ] {
        let (status, body) = statement(&cluster, &sql).await;
        assert_eq!(status, 400, "{sql}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("statement refused: "), "{sql}: {body}");
    }
    assert!(!written.exists(), "COPY wrote {}", written.display());
    let (status, body) = statement(&cluster, "SELECT * FROM leak").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = statement(
        &cluster,
        "SELECT value FROM information_schema.df_settings \
         WHERE name = 'datafusion.execution.batch_size'",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"][0][0], "8192", "{body}");
}

/// The 22 TPC-H queries through the files connector, over Parquet files this test writes from
/// the native generator (row groups of 2,000 rows, so every large table has several splits),
/// answer as DataFusion does over the same data in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpch_answers_through_the_files_connector_over_parquet_match_native_datafusion() {
    let db = TestDb::sqlite();
    let data = tempfile::tempdir().unwrap();
    let root = data.path().canonicalize().unwrap();
    write_tpch_parquet(&root, TINY, "tiny", 2_000);
    let mut cluster = Cluster::start(db.url());
    cluster.start_worker("w1", &[]);
    cluster.start_worker("w2", &[]);
    let files = cluster.upload_plugin("files").await;
    cluster
        .create_catalog_from(json!({
            "name": "tpch",
            "plugin": files,
            "properties": { "root": root },
            "grants": { "allowed_paths": [root] },
        }))
        .await;
    wait_until_tpch_answers(&cluster).await;
    // The files catalog is named `tpch` so that the queries, and the column names they make
    // (`sum(tpch.tiny.lineitem.l_quantity)`), are the same text on both sides.
    let native = native_tpch_context(TINY, "tiny");
    for name in TPCH_QUERIES {
        let sql = tpch_query(name);
        let (schema, batches) = cluster.arrow_statement(&sql).await;
        let (want_schema, want) = native_answer(&native, &sql).await;
        assert_same_answer(name, (&schema, &batches), (&want_schema, &want));
    }
}

/// EXPLAIN names the workers each stage may run on; EXPLAIN ANALYZE, `GET /v1/queries`, the
/// log and `/metrics` say what each stage moved and where it ran. Q1 sends the coordinator
/// partial aggregates only: a few kilobytes, not the rows of lineitem.
async fn stages_show_where_they_ran_and_what_they_moved(cluster: &Cluster) {
    let q1 = tpch_query("q01");
    let explained = physical_plan(cluster, &q1).await;
    let (_, placement) = explained
        .split_once("Where the stages run:\n")
        .unwrap_or_else(|| panic!("EXPLAIN says nothing of where stages run:\n{explained}"));
    assert!(
        placement.lines().any(|line| line.starts_with("Stage ")
            && line.contains("on the workers holding tpch at generation 1")
            && line.contains("w1 (http://127.0.0.1:")
            && line.contains("w2 (http://127.0.0.1:")),
        "{placement}"
    );

    let (status, body) = statement(cluster, &format!("EXPLAIN ANALYZE {q1}")).await;
    assert_eq!(status, 200, "{body}");
    let analyzed = body["rows"][0][1].as_str().unwrap_or_default();
    assert!(
        runs_in_a_worker_stage(analyzed, "AggregateExec: mode=Partial")
            && analyzed.contains("output_rows="),
        "{analyzed}"
    );
    let to_coordinator: Vec<&str> = analyzed
        .lines()
        .filter(|line| line.starts_with("Stage moved: ") && line.contains("-> coordinator"))
        .collect();
    assert!(
        !to_coordinator.is_empty()
            && to_coordinator
                .iter()
                .all(|line| line.contains(" on http://127.0.0.1:")),
        "{analyzed}"
    );

    let before = cluster
        .coordinator_metric("quarry_stage_bytes_moved_total{to=\"coordinator\"}")
        .await;
    let (status, body) = statement(cluster, &q1).await;
    assert_eq!(status, 200, "{body}");
    let record = cluster
        .wait_for(
            "Q1's stages in GET /v1/queries",
            Duration::from_secs(20),
            || async {
                let queries = cluster.get("/v1/queries").await;
                let record = queries["queries"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|q| q["statement"] == q1.trim().lines().next().unwrap_or_default())
                    .cloned()
                    .ok_or_else(|| format!("no Q1 in {queries}"))?;
                match record["stages"].as_array() {
                    Some(stages) if !stages.is_empty() => Ok(record),
                    _ => Err(format!("no stages yet: {record}")),
                }
            },
        )
        .await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert_eq!(record["rows"], 4, "{record}");
    let stages = record["stages"].as_array().cloned().unwrap_or_default();
    let last: Vec<&Value> = stages.iter().filter(|s| s["to"] == "coordinator").collect();
    let bytes: u64 = last.iter().filter_map(|s| s["bytes"].as_u64()).sum();
    assert!(
        !last.is_empty() && bytes > 0 && bytes < 1_000_000,
        "Q1 should send the coordinator partial aggregates only: {record}"
    );
    for stage in &stages {
        let workers = stage["workers"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            workers.len() as u64,
            stage["tasks"].as_u64().unwrap_or_default(),
            "a worker per task: {record}"
        );
        assert!(stage["rows"].as_u64().unwrap_or_default() > 0, "{record}");
    }
    let after = cluster
        .coordinator_metric("quarry_stage_bytes_moved_total{to=\"coordinator\"}")
        .await;
    assert!(
        after >= before + bytes as f64,
        "/metrics counted {before} then {after}; Q1 alone moved {bytes}"
    );
    assert!(
        cluster.outputs().contains("stage moved"),
        "the coordinator's log says nothing of stages"
    );
}

/// The `physical_plan` row of `EXPLAIN sql`.
async fn physical_plan(cluster: &Cluster, sql: &str) -> String {
    let (status, body) = statement(cluster, &format!("EXPLAIN {sql}")).await;
    assert_eq!(status, 200, "{body}");
    body["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|row| row[0] == "physical_plan")
        .and_then(|row| row[1].as_str())
        .unwrap_or_else(|| panic!("no physical plan in {body}"))
        .to_owned()
}

/// The lines of the stages of a distributed plan as EXPLAIN shows it, by stage: the first is
/// the coordinator's (`┌───── DistributedExec`), the others the workers' (`┌───── Stage N`).
fn stages(plan: &str) -> Vec<(String, Vec<&str>)> {
    let mut stages: Vec<(String, Vec<&str>)> = Vec::new();
    for line in plan.lines() {
        let text = line.trim_start();
        if let Some(header) = text.strip_prefix("┌───── ") {
            stages.push((header.to_owned(), Vec::new()));
        } else if let Some((_, lines)) = stages.last_mut() {
            lines.push(text);
        }
    }
    stages
}

/// Whether `operator` appears in a stage that runs on the workers.
fn runs_in_a_worker_stage(plan: &str, operator: &str) -> bool {
    stages(plan).iter().any(|(header, lines)| {
        header.starts_with("Stage ") && lines.iter().any(|line| line.contains(operator))
    })
}

/// Whether `operator` appears in worker stages and never in the coordinator's.
fn every_line_with_is_under_a_boundary(plan: &str, operator: &str) -> bool {
    let stages = stages(plan);
    let in_coordinator = stages.iter().any(|(header, lines)| {
        header.starts_with("DistributedExec") && lines.iter().any(|l| l.contains(operator))
    });
    !in_coordinator && runs_in_a_worker_stage(plan, operator)
}

/// `kill -9` of a worker while a query runs: the query answers right or fails with an error,
/// never a wrong answer, and once the coordinator has seen the worker go, queries run on the
/// worker that is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_query_costs_an_error_never_a_wrong_answer() {
    let db = TestDb::sqlite();
    let mut cluster = tpch_cluster(&db).await;
    let tiny = "SELECT count(*) AS n, sum(l_quantity) AS q FROM tpch.tiny.lineitem";
    let (status, before) = statement(&cluster, tiny).await;
    assert_eq!(status, 200, "{before}");

    // sf1's lineitem: 6,001,215 rows, several seconds of scanning on two workers.
    let long = "SELECT count(*) AS n FROM tpch.sf1.lineitem WHERE l_quantity >= 0";
    let running = {
        let url = format!("{}/v1/statement", cluster.url());
        tokio::spawn(async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({ "sql": long }))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        })
    };
    wait_for_scans(&cluster, true).await;
    cluster.kill_worker("w2");
    let (status, body) = running.await.unwrap();
    if status == 200 {
        assert_eq!(body["rows"], json!([[6_001_215]]), "a wrong answer: {body}");
    } else {
        let error = body["error"]["message"].as_str().unwrap_or_default();
        assert!(!error.is_empty(), "{status} without a reason: {body}");
    }

    // Every answer is right or an error; after a while, they are all right.
    cluster
        .wait_for(
            "queries on the surviving worker",
            Duration::from_secs(60),
            || async {
                match statement(&cluster, tiny).await {
                    (200, after) if after["rows"] == before["rows"] => Ok(()),
                    (200, after) => panic!("a wrong answer: {after}, before {before}"),
                    (status, body) => Err(format!("{status} {body}")),
                }
            },
        )
        .await;
    for _ in 0..3 {
        let (status, after) = statement(&cluster, tiny).await;
        assert_eq!(status, 200, "{after}\n{}", cluster.outputs());
        assert_eq!(after["rows"], before["rows"]);
    }
}

/// The Arrow answer of a statement keeps the schema DataFusion planned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrow_answers_carry_the_planned_schema() {
    let db = TestDb::sqlite();
    let cluster = tpch_cluster(&db).await;
    let (schema, batches) = cluster
        .arrow_statement("SELECT r_regionkey, r_name FROM tpch.tiny.region")
        .await;
    assert_eq!(schema.fields().len(), 2);
    assert_eq!(schema.field(1).name(), "r_name");
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 5);
    let _: Arc<_> = schema;
}

/// The plugin-authoring tutorial's connector (`plugins/hello`, built by `cargo xtask
/// build-plugins`) goes the way the tutorial tells a newcomer: uploaded, a catalog created and
/// checked against its properties, queried over HTTP and with `psql`, altered, dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tutorial_connector_uploads_and_answers() {
    let db = TestDb::sqlite();
    let mut cluster = Cluster::start_with_pg(db.url());
    cluster.start_worker("w1", &[]);
    let hello = cluster.upload_plugin("hello").await;
    assert!(hello.starts_with("hello@"), "{hello}");

    // A bad property is refused before anything is stored, naming the property.
    let (status, body) = cluster
        .call(
            reqwest::Method::POST,
            "/v1/catalogs",
            Some(json!({ "name": "numbers", "plugin": hello, "properties": { "rows": "lots" } })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("rows"), "{body}");
    let (status, _) = cluster
        .call(reqwest::Method::GET, "/v1/catalogs/numbers", None)
        .await;
    assert_eq!(status, 404);

    cluster
        .create_catalog("numbers", &hello, json!({ "rows": "5", "split_rows": "2" }))
        .await;
    cluster
        .wait_for_catalog("numbers", 1, "ready", &["w1"], "loaded")
        .await;
    let sql = "SELECT n, square FROM numbers.main.numbers ORDER BY n DESC LIMIT 2";
    let body = cluster
        .wait_for("numbers queryable", Duration::from_secs(30), || async {
            match statement(&cluster, sql).await {
                (200, body) => Ok(body),
                (status, body) => Err(format!("{status} {body}")),
            }
        })
        .await;
    assert_eq!(body["columns"][1]["name"], "square");
    assert_eq!(body["columns"][1]["type"], "bigint");
    assert_eq!(body["rows"], json!([[5, 25], [4, 16]]));

    let port = cluster.pg_port().unwrap();
    assert_eq!(
        psql(port, "SELECT sum(square) FROM numbers.main.numbers").unwrap(),
        "55\n"
    );

    // ALTER rolls out generation 2 with more rows; the answer follows.
    let altered = psql(
        port,
        "ALTER CATALOG numbers SET PROPERTIES \"rows\" = '100'",
    )
    .unwrap();
    assert!(altered.contains("numbers|2|ready"), "{altered}");
    cluster
        .wait_for("100 numbers", Duration::from_secs(30), || async {
            match statement(&cluster, "SELECT count(*) AS c FROM numbers.main.numbers").await {
                (200, body) if body["rows"] == json!([[100]]) => Ok(()),
                (status, body) => Err(format!("{status} {body}")),
            }
        })
        .await;

    let dropped = psql(port, "DROP CATALOG numbers").unwrap();
    assert!(dropped.contains("numbers||dropped"), "{dropped}");
    let (status, body) = statement(&cluster, "SELECT 1 FROM numbers.main.numbers").await;
    assert_eq!(status, 400, "{body}");
    cluster.kill_worker("w1");
}

/// Splits being read on both workers now.
async fn running_scans(cluster: &Cluster) -> f64 {
    cluster
        .worker_metric("w1", "quarry_worker_scans_active")
        .await
        + cluster
            .worker_metric("w2", "quarry_worker_scans_active")
            .await
}

/// Waits until the workers read splits (`true`) or none (`false`).
async fn wait_for_scans(cluster: &Cluster, running: bool) {
    let what = if running {
        "scans running"
    } else {
        "no scan running"
    };
    cluster
        .wait_for(what, Duration::from_secs(60), || async {
            match running_scans(cluster).await {
                n if (n > 0.0) == running => Ok(()),
                n => Err(format!("{n} splits being read")),
            }
        })
        .await;
}

/// A cancelled query stops its scans on the workers: psql's Ctrl-C (a CancelRequest on its own
/// connection), an HTTP client that goes away, and a psql killed mid-query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_queries_stop_their_worker_scans() {
    let db = TestDb::sqlite();
    let cluster = tpch_cluster(&db).await;
    let port = cluster.pg_port().unwrap();
    let cancelled = "quarry_queries_total{outcome=\"cancelled\"}";
    let cancelled_before = cluster.coordinator_metric(cancelled).await;
    // 60 million rows: far longer than the test lets it run.
    let sql = "SELECT sum(l_quantity) FROM tpch.sf10.lineitem";

    let psql = psql_command(port, "admin", Some(ADMIN_TOKEN))
        .args(["-c", sql])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql on PATH");
    wait_for_scans(&cluster, true).await;
    let interrupted = Command::new("kill")
        .args(["-INT", &psql.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = tokio::task::spawn_blocking(move || psql.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("canceling statement due to user request"),
        "psql said: {stderr}\n{}",
        cluster.outputs()
    );
    wait_for_scans(&cluster, false).await;

    // Over HTTP: the client gives up before the answer.
    let query = {
        let url = format!("{}/v1/statement", cluster.url());
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({ "sql": sql }))
                .send()
                .await
        })
    };
    wait_for_scans(&cluster, true).await;
    query.abort();
    wait_for_scans(&cluster, false).await;

    // A psql killed outright (no CancelRequest, the socket just closes) while no row has been
    // produced: the coordinator notices the hang-up and the workers stop too.
    let mut killed = psql_command(port, "admin", Some(ADMIN_TOKEN))
        .args(["-c", sql])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("psql on PATH");
    wait_for_scans(&cluster, true).await;
    killed.kill().unwrap();
    let _ = killed.wait();
    wait_for_scans(&cluster, false).await;
    // The cluster still answers.
    let (status, body) = statement(&cluster, "SELECT count(*) AS n FROM tpch.tiny.region").await;
    assert_eq!(status, 200, "{body}");
    // The coordinator counted the three as cancelled, and the last one as succeeded.
    assert_eq!(
        cluster.coordinator_metric(cancelled).await - cancelled_before,
        3.0
    );
    let succeeded = "quarry_queries_total{outcome=\"succeeded\"}";
    assert!(cluster.coordinator_metric(succeeded).await >= 1.0);
    assert_eq!(
        cluster.coordinator_metric("quarry_queries_running").await,
        0.0
    );
}
