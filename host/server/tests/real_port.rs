//! The coordinator over a real TCP port (127.0.0.1:0) with an HTTP client: upload a plugin,
//! create a catalog, read it back, shut down gracefully.

use crate::common::{ADMIN_TOKEN, TestDb, plugin_bytes, runtime, test_config};
use quarry_server::coordinator::{AppState, serve_on};
use quarry_store::Store;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_create_and_read_over_http() {
    let db = TestDb::sqlite();
    let config = test_config(&db);
    let store = Store::open(db.url()).await.unwrap();
    let state = AppState::new(&config, store, runtime()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_on(listener, state, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let uploaded = client
        .post(format!("{base}/v1/plugins"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/wasm")
        .body(plugin_bytes("tpch"))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let plugin: Value = uploaded.json().await.unwrap();

    let created = client
        .post(format!("{base}/v1/catalogs"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "tpch", "plugin": format!("tpch@{}", plugin["version"].as_str().unwrap())}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let read: Value = client
        .get(format!("{base}/v1/catalogs/tpch"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["name"], "tpch");
    assert_eq!(read["generation"], 1);

    let unauthorized = client
        .get(format!("{base}/v1/catalogs"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
