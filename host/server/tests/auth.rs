//! Who may call what: the admin token for the control API (reads included), the cluster secret
//! for worker endpoints, nothing for health, readiness, metrics and the OpenAPI document; and
//! an explicit dev mode that runs without tokens.

use crate::common;

use crate::common::{ADMIN_TOKEN, App, CLUSTER_SECRET, TestDb, code};
use axum::http::{Method, StatusCode, header};
use serde_json::json;

const ADMIN_ROUTES: [(Method, &str); 9] = [
    (Method::GET, "/v1/plugins"),
    (Method::GET, "/v1/plugins/tpch"),
    (Method::GET, "/v1/plugins/tpch/0.1.0"),
    (Method::DELETE, "/v1/plugins/tpch/0.1.0"),
    (Method::POST, "/v1/catalogs"),
    (Method::GET, "/v1/catalogs"),
    (Method::PUT, "/v1/catalogs/kit"),
    (Method::DELETE, "/v1/catalogs/kit"),
    (Method::GET, "/v1/workers"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_need_the_admin_token() {
    let app = App::sqlite().await;
    for (method, path) in ADMIN_ROUTES {
        let (status, body) = app.call(method.clone(), path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        assert_eq!(code(&body), "unauthorized");
        for wrong in ["not-the-token", CLUSTER_SECRET] {
            let (status, body) = app.call(method.clone(), path, Some(wrong), None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
            assert_eq!(code(&body), "forbidden");
        }
    }
    let (status, _) = app
        .call(Method::GET, "/v1/plugins", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_says_how_to_authenticate_and_never_echoes_a_token() {
    let app = App::sqlite().await;
    let request = axum::http::Request::get("/v1/catalogs")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    let (_, body) = app
        .call(Method::GET, "/v1/catalogs", Some("guess-1234"), None)
        .await;
    let text = body.to_string();
    assert!(
        !text.contains("guess-1234") && !text.contains(ADMIN_TOKEN),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_openapi_are_public() {
    let app = App::sqlite().await;
    for path in ["/healthz", "/readyz", "/metrics", "/v1/openapi.json"] {
        let (status, body) = app.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_without_tokens_lets_everyone_in() {
    let app = App::with(TestDb::sqlite(), |config| {
        config.dev_mode = true;
        config.admin_token = None;
        config.cluster_secret = None;
    })
    .await;
    let (status, _) = app.call(Method::GET, "/v1/catalogs", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/catalogs",
            None,
            Some(json!({"name": "kit", "plugin": "nope@1.0.0"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "unknown_plugin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_dev_mode_a_missing_token_is_a_configuration_error() {
    let db = TestDb::sqlite();
    let mut config = common::test_config(&db);
    config.admin_token = None;
    let store = quarry_store::Store::open(db.url()).await.unwrap();
    let error =
        quarry_server::coordinator::AppState::new(&config, store, common::runtime()).unwrap_err();
    assert!(error.to_string().contains("QUARRY_ADMIN_TOKEN"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_still_checks_a_token_that_is_configured() {
    let app = App::with(TestDb::sqlite(), |config| config.dev_mode = true).await;
    let (status, _) = app.call(Method::GET, "/v1/catalogs", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(Method::GET, "/v1/catalogs", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_to_start_without_tokens() {
    let error =
        quarry_server::coordinator::serve(quarry_server::coordinator::Coordinator::default())
            .await
            .unwrap_err();
    assert!(error.to_string().contains("QUARRY_ADMIN_TOKEN"), "{error}");
}
