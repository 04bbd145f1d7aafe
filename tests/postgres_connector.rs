//! The postgres connector end to end, against the real PostgreSQL on 127.0.0.1:5432: TPC-H tiny
//! loaded into a fresh database from the native generator, read by a coordinator and two
//! workers through `plugins/postgres` (several ctid splits per large table), answers equal to
//! DataFusion over the same generated rows; filters and limits reach the server, as the SQL the
//! connector sent shows; a catalog without the socket grant is refused and says which grant to
//! add.

use std::time::Duration;

use crate::common::cluster::Cluster;
use quarry_testing::TestDb;
use quarry_testing::tpch_postgres::load_tpch_postgres;
use quarry_testing::tpch_reference::{
    TPCH_QUERIES, assert_same_answer, native_answer, native_tpch_context, tpch_query,
};
use serde_json::{Value, json};

/// `tiny` is scale factor 0.01.
const TINY: f64 = 0.01;

/// The PostgreSQL endpoint the tests load data into and the connector reads from.
const ENDPOINT: &str = "127.0.0.1:5432";

/// A fresh PostgreSQL database holding TPC-H tiny in schema `tiny`, and its name.
async fn tpch_database() -> (TestDb, String) {
    let data = TestDb::postgres().await;
    let loaded = load_tpch_postgres(data.url(), TINY, "tiny", None).await;
    assert_eq!(loaded.len(), 8, "{loaded:?}");
    let name = data.url().rsplit('/').next().unwrap().to_owned();
    (data, name)
}

/// The properties of a `postgres` catalog over `database` on the test server.
fn properties(database: &str) -> Value {
    json!({
        "host": "127.0.0.1",
        "port": "5432",
        "database": database,
        "user": "postgres",
        "schemas": "tiny",
        // Small splits, so that orders and lineitem (about 30 and 130 pages) each have several,
        // spread over both workers.
        "split_pages": "8",
    })
}

/// A coordinator and two workers that log the SQL the connector sends, with catalog `tpch`
/// over `database` through the postgres plugin, ready on both workers.
async fn postgres_cluster(store: &TestDb, database: &str) -> Cluster {
    let mut cluster = Cluster::start(store.url());
    let log = [("RUST_LOG", "info,quarry_runtime::plugin_log=debug")];
    cluster.start_worker("w1", &log);
    cluster.start_worker("w2", &log);
    let plugin = cluster.upload_plugin("postgres").await;
    cluster
        .create_catalog_from(json!({
            "name": "tpch",
            "plugin": plugin,
            "properties": properties(database),
            "grants": { "allowed_sockets": [ENDPOINT] },
        }))
        .await;
    cluster
        .wait_for_catalog("tpch", 1, "ready", &["w1", "w2"], "loaded")
        .await;
    cluster
        .wait_for("tpch queryable", Duration::from_secs(30), || async {
            match cluster
                .statement("SELECT count(*) AS n FROM tpch.tiny.region")
                .await
            {
                (200, body) if body["rows"] == json!([[5]]) => Ok(()),
                (status, body) => Err(format!("{status} {body}")),
            }
        })
        .await;
    cluster
}

/// The 22 TPC-H queries through the postgres connector answer as DataFusion does over the same
/// generated rows in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpch_answers_through_the_postgres_connector_match_native_datafusion() {
    let (_data, database) = tpch_database().await;
    let store = TestDb::sqlite();
    let cluster = postgres_cluster(&store, &database).await;
    // The catalog is named `tpch` so that the queries, and the column names they make, are the
    // same text on both sides.
    let native = native_tpch_context(TINY, "tiny");
    for name in TPCH_QUERIES {
        let sql = tpch_query(name);
        let (schema, batches) = cluster.arrow_statement(&sql).await;
        let (want_schema, want) = native_answer(&native, &sql).await;
        assert_same_answer(name, (&schema, &batches), (&want_schema, &want));
    }
}

/// A filter and a limit are in the SQL the connector sent to PostgreSQL (the connector logs
/// each scan's SQL at debug), and the answer is right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_limit_reach_postgresql() {
    let (_data, database) = tpch_database().await;
    let store = TestDb::sqlite();
    let cluster = postgres_cluster(&store, &database).await;

    let sql = "SELECT o_orderkey FROM tpch.tiny.orders \
               WHERE o_custkey = 370 AND o_orderdate >= DATE '1995-01-01' \
               ORDER BY o_orderkey";
    let (status, body) = cluster.statement(sql).await;
    assert_eq!(status, 200, "{body}");
    let native = native_tpch_context(TINY, "tiny");
    let (_, want) = native_answer(&native, sql).await;
    let want_rows: usize = want.iter().map(|b| b.num_rows()).sum();
    assert!(want_rows > 0, "customer 370 has orders from 1995 on");
    assert_eq!(body["rows"].as_array().unwrap().len(), want_rows, "{body}");

    let (status, body) = cluster
        .statement("SELECT l_orderkey FROM tpch.tiny.lineitem LIMIT 3")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"].as_array().unwrap().len(), 3, "{body}");

    let scans: Vec<String> = cluster
        .workers
        .values()
        .flat_map(|worker| {
            worker
                .output()
                .lines()
                .filter(|line| line.contains("postgres: scan "))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let orders = scans
        .iter()
        .filter(|line| line.contains("scan tiny.orders:"))
        .collect::<Vec<_>>();
    assert!(!orders.is_empty(), "no orders scan logged:\n{scans:#?}");
    for line in &orders {
        assert!(
            line.contains("\"o_custkey\" = 370") && line.contains("\"o_orderdate\" >="),
            "the filter did not reach PostgreSQL: {line}"
        );
        assert!(
            !line.contains("\"o_comment\""),
            "the projection did not reach PostgreSQL: {line}"
        );
    }
    assert!(
        scans
            .iter()
            .any(|line| line.contains("scan tiny.lineitem:") && line.contains("LIMIT 3")),
        "the limit did not reach PostgreSQL:\n{scans:#?}"
    );
}

/// Without `allowed_sockets`, the connector cannot reach the server: validation refuses the
/// catalog, names the endpoint and the grant to add, and nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_without_the_socket_grant_fails_validation_naming_the_grant() {
    let store = TestDb::sqlite();
    let mut cluster = Cluster::start(store.url());
    cluster.start_worker("w1", &[]);
    let plugin = cluster.upload_plugin("postgres").await;
    let (status, body) = cluster
        .call(
            reqwest::Method::POST,
            "/v1/catalogs",
            Some(json!({
                "name": "nogrant",
                "plugin": plugin,
                "properties": properties("test"),
            })),
        )
        .await;
    assert!((400..500).contains(&status), "{status} {body}");
    let text = body.to_string();
    assert!(
        text.contains("allowed_sockets") && text.contains("--grant-socket"),
        "the error does not say which grant to add: {text}"
    );
    assert!(
        text.contains(ENDPOINT),
        "the error does not name {ENDPOINT}: {text}"
    );
    let (status, body) = cluster
        .call(reqwest::Method::GET, "/v1/catalogs/nogrant", None)
        .await;
    assert_eq!(status, 404, "a refused catalog was stored: {body}");
}
