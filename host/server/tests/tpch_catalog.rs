//! The real tpch component through the API on both store backends: upload it, create a catalog
//! on it (validated by the plugin in the sandbox), read both back, alter and delete.

use crate::common::App;
use axum::http::StatusCode;
use serde_json::json;

async fn tpch_catalog_round_trip(app: App) {
    let plugin = app.upload_plugin("tpch").await;
    let version = plugin["version"].as_str().unwrap().to_owned();
    let reference = format!("tpch@{version}");

    let (status, body) = app
        .post(
            "/v1/catalogs",
            json!({"name": "tpch", "plugin": reference,
                   "properties": {"splits": "${ENV:TPCH_SPLITS}"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["generation"], 1);
    assert_eq!(body["status"], "pending");
    assert_eq!(body["properties"], json!({"splits": "${ENV:TPCH_SPLITS}"}));

    let (status, read) = app.get("/v1/catalogs/tpch").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["plugin"], json!(reference));
    assert_eq!(read["properties"], body["properties"]);
    let (_, plugin_read) = app.get(&format!("/v1/plugins/tpch/{version}")).await;
    assert_eq!(plugin_read["sha256"], plugin["sha256"]);

    // tpch's own validation refuses zero splits, and nothing changes.
    let (status, error) = app
        .put(
            "/v1/catalogs/tpch",
            json!({"plugin": reference, "properties": {"splits": "0"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert!(error.to_string().contains("splits"), "{error}");
    assert_eq!(app.store().get_catalog("tpch").await.unwrap().generation, 1);

    let (status, altered) = app
        .put(
            "/v1/catalogs/tpch",
            json!({"plugin": reference, "properties": {"split_rows": "1000"},
                   "expected_generation": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{altered}");
    assert_eq!(altered["generation"], 2);

    let (status, _) = app.delete("/v1/catalogs/tpch").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.delete(&format!("/v1/plugins/tpch/{version}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(app.store().list_plugins().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpch_on_sqlite() {
    tpch_catalog_round_trip(App::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpch_on_postgres() {
    tpch_catalog_round_trip(App::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_on_postgres_give_one_201_and_one_409() {
    let app = App::postgres().await;
    let plugin = app.upload_plugin("tpch").await;
    let body =
        json!({"name": "race", "plugin": format!("tpch@{}", plugin["version"].as_str().unwrap())});
    let (a, b) = tokio::join!(
        app.post("/v1/catalogs", body.clone()),
        app.post("/v1/catalogs", body.clone())
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
}
