//! Health, readiness, metrics, the OpenAPI document, and the router's answers for unknown
//! routes and methods.

use crate::common::{ADMIN_TOKEN, App, CLUSTER_SECRET, code};
use axum::http::{Method, StatusCode};
use quarry_server::coordinator::api::{ROUTES, openapi::path_parameters};
use quarry_server::coordinator::auth::Access;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_readyz() {
    let app = App::sqlite().await;
    let (status, body) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["database"], "sqlite");

    // A closed store is not ready; the process is still healthy.
    app.store().close().await;
    let (status, body) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(code(&body), "unavailable");
    let (status, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_catalogs_plugins_and_requests_by_route() {
    let app = App::sqlite().await;
    app.upload_plugin("tpch").await;
    app.get("/v1/plugins/nope").await;
    app.get("/v1/plugins/nope").await;
    let (status, text) = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap();
    assert!(text.contains("quarry_plugins 1"), "{text}");
    assert!(
        text.contains("quarry_catalogs{status=\"pending\"} 0"),
        "{text}"
    );
    assert!(text.contains("quarry_store_up 1"), "{text}");
    assert!(
        text.contains(
            "quarry_http_requests_total{route=\"/v1/plugins/{name}\",method=\"GET\",status=\"404\"} 2"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "quarry_http_requests_total{route=\"/v1/plugins\",method=\"POST\",status=\"201\"} 1"
        ),
        "{text}"
    );
}

/// A request to a route with sample parameters: whatever the handler answers, it must not be
/// the router's own "no such route" or "method not allowed".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_in_the_table_is_served_and_documented() {
    let app = App::sqlite().await;
    let (status, doc) = app.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|methods| methods.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "the document has exactly the table's routes"
    );

    for spec in ROUTES {
        let method = spec.method.as_str();
        let operation = &doc["paths"][spec.path][method.to_ascii_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {} is not documented",
            spec.path
        );
        let mut path = spec.path.to_owned();
        for name in path_parameters(spec.path) {
            path = path.replace(&format!("{{{name}}}"), "sample");
        }
        let token = match spec.access {
            Access::Public => None,
            Access::Admin | Access::Sql => Some(ADMIN_TOKEN),
            Access::Cluster => Some(CLUSTER_SECRET),
        };
        let (status, body) = app
            .call(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &path,
                token,
                None,
            )
            .await;
        assert_ne!(code(&body), "route_not_found", "{method} {path}");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(status.as_u16() < 500, "{method} {path}: {status} {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_are_json_errors() {
    let app = App::sqlite().await;
    let (status, body) = app.get("/v1/nothing/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&body), "route_not_found");
    let (status, body) = app
        .call(Method::PATCH, "/v1/catalogs", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(code(&body), "method_not_allowed");
}
