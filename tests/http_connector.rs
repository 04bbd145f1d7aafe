//! End to end: the `http` connector reads a REST API through a real coordinator and worker.
//!
//! The API is a small JSON server this test starts on 127.0.0.1; it stands for someone's REST
//! API and is not part of Quarry. It requires a bearer token and records every request. Through
//! Quarry: a paginated table is read whole; a filter reaches the server as a query parameter;
//! a redirect to an ungranted origin fails the scan (after a first page was read, so a short
//! answer would have been possible); a second server on an ungranted port is never reached;
//! and the token appears in no log line, error or response.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use quarry_testing::TestDb;
use serde_json::{Value, json};

use crate::common::cluster::Cluster;

const TOKEN: &str = "tok-3f9a1c77d2e84b0b";
const ITEMS: i64 = 25;
const ORDERS: i64 = 12;

/// One recorded request: path with query, and whether it carried the token.
#[derive(Debug, Clone)]
struct Seen {
    path_and_query: String,
    authorized: bool,
}

#[derive(Clone)]
struct Api {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Where `/jump` redirects to.
    elsewhere: Arc<Mutex<String>>,
}

impl Api {
    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Starts the API on 127.0.0.1; returns its address and its handle.
async fn serve_api() -> (SocketAddr, Api) {
    let api = Api {
        seen: Arc::default(),
        elsewhere: Arc::default(),
    };
    let app = Router::new()
        .route("/items", get(items))
        .route("/orders", get(orders))
        .route("/feed", get(feed))
        .route("/jump", get(jump))
        .route("/flaky", get(flaky))
        .layer(axum::middleware::from_fn_with_state(api.clone(), record))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, api)
}

/// Records the request, and refuses it without the token.
async fn record(
    State(api): State<Api>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == format!("Bearer {TOKEN}").as_bytes());
    api.seen.lock().unwrap().push(Seen {
        path_and_query: request
            .uri()
            .path_and_query()
            .map_or_else(String::new, |p| p.to_string()),
        authorized,
    });
    if !authorized {
        return (StatusCode::UNAUTHORIZED, "{\"error\":\"no token\"}").into_response();
    }
    next.run(request).await
}

/// `?page=N&per_page=M` (from 1): items 1..=25.
async fn items(Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
    let page: i64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let size: i64 = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(10);
    let first = (page - 1) * size + 1;
    let rows: Vec<Value> = (first..first + size)
        .filter(|id| *id <= ITEMS)
        .map(|id| json!({ "id": id, "name": format!("item-{id}"), "price": id as f64 * 1.5 }))
        .collect();
    axum::Json(json!({ "data": rows })).into_response()
}

/// Orders 1..=12, five per page, odd ones `open`; `?status=` filters, `?cursor=` pages, and the
/// body's `next` is a relative link.
async fn orders(Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
    let status = q.get("status").cloned();
    let cursor: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let all: Vec<Value> = (1..=ORDERS)
        .map(|id| {
            let s = if id % 2 == 1 { "open" } else { "closed" };
            json!({ "order_id": id, "status": s, "customer": { "id": id * 10 } })
        })
        .filter(|o| status.as_deref().is_none_or(|s| o["status"] == s))
        .collect();
    let page: Vec<Value> = all.iter().skip(cursor).take(5).cloned().collect();
    let next = (cursor + 5 < all.len()).then(|| {
        let mut link = format!("/orders?cursor={}", cursor + 5);
        if let Some(s) = &status {
            link.push_str(&format!("&status={s}"));
        }
        link
    });
    axum::Json(json!({ "orders": page, "next": next })).into_response()
}

/// One page whose next link leads to `/jump`.
async fn feed() -> Response {
    axum::Json(json!({ "rows": [{ "n": 1 }, { "n": 2 }], "next": "/jump" })).into_response()
}

/// Every other request is refused with 503 and `Retry-After: 1`; the ones between answer.
async fn flaky(State(api): State<Api>) -> Response {
    let asked = api
        .requests()
        .iter()
        .filter(|s| s.path_and_query == "/flaky")
        .count();
    if asked % 2 == 1 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "busy",
        )
            .into_response();
    }
    axum::Json(json!([{ "n": 1 }, { "n": 2 }, { "n": 3 }])).into_response()
}

/// Redirects to another origin.
async fn jump(State(api): State<Api>) -> Response {
    let target = api.elsewhere.lock().unwrap().clone();
    Redirect::temporary(&target).into_response()
}

fn tables(origin: &str) -> String {
    json!({
        "items": {
            "url": format!("{origin}/items"),
            "rows": "/data",
            "pagination": { "page_param": "page", "first_page": 1, "size_param": "per_page", "page_size": 10 }
        },
        "orders": {
            "url": format!("{origin}/orders"),
            "rows": "/orders",
            "columns": { "order_id": "int64 not null", "status": "utf8", "customer": "utf8" },
            "pagination": { "next_link": "/next" },
            "filters": { "status": "status" }
        },
        "flaky": { "url": format!("{origin}/flaky") },
        "feed": {
            "url": format!("{origin}/feed"),
            "rows": "/rows",
            "pagination": { "next_link": "/next" }
        }
    })
    .to_string()
}

async fn create(
    cluster: &Cluster,
    name: &str,
    plugin: &str,
    tables: String,
    origin: &str,
) -> (u16, Value) {
    cluster
        .call(
            reqwest::Method::POST,
            "/v1/catalogs",
            Some(json!({
                "name": name,
                "plugin": plugin,
                "properties": {
                    "tables": tables,
                    "schema": "rest",
                    "auth_header": format!("Bearer {TOKEN}"),
                },
                "grants": { "allowed_hosts": [origin] },
            })),
        )
        .await
}

async fn query(cluster: &Cluster, sql: &str) -> (u16, Value) {
    cluster.statement(sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_api_is_queried_through_the_http_connector_within_its_grant() {
    let (addr, api) = serve_api().await;
    let (other_addr, other) = serve_api().await;
    let origin = format!("http://{addr}");
    let other_origin = format!("http://{other_addr}");
    *api.elsewhere.lock().unwrap() = format!("{other_origin}/feed");

    let db = TestDb::sqlite();
    let mut cluster = Cluster::start(db.url());
    cluster.start_worker("w1", &[("RUST_LOG", "info,quarry_runtime=debug")]);
    let http = cluster.upload_plugin("http").await;

    let (status, body) = create(&cluster, "api", &http, tables(&origin), &origin).await;
    assert_eq!(status, 201, "create api: {body}");
    cluster
        .wait_for_catalog("api", 1, "ready", &["w1"], "loaded")
        .await;

    // A table of three pages, its columns inferred from the first, is read whole.
    let (status, body) = query(
        &cluster,
        "SELECT count(*) AS n, sum(id) AS s, max(price) AS p FROM api.rest.items",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["rows"],
        json!([[ITEMS, ITEMS * (ITEMS + 1) / 2, 37.5]])
    );
    let pages: Vec<String> = api
        .requests()
        .into_iter()
        .map(|s| s.path_and_query)
        .filter(|p| p.starts_with("/items"))
        .collect();
    for page in 1..=3 {
        assert!(
            pages.iter().any(|p| p.contains(&format!("page={page}"))),
            "page {page} not requested: {pages:?}"
        );
    }

    // A relative next link, and a filter sent as a query parameter on every page.
    let before = api.requests().len();
    let (status, body) = query(
        &cluster,
        "SELECT order_id FROM api.rest.orders WHERE status = 'open' ORDER BY order_id",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"], json!([[1], [3], [5], [7], [9], [11]]));
    let sent: Vec<String> = api.requests()[before..]
        .iter()
        .map(|s| s.path_and_query.clone())
        .collect();
    let pages: Vec<&String> = sent.iter().filter(|p| p.starts_with("/orders")).collect();
    assert!(pages.len() >= 2, "{sent:?}");
    assert!(
        pages.iter().all(|p| p.contains("status=open")),
        "the filter did not reach the server on every page: {sent:?}"
    );
    let (status, body) = query(&cluster, "SELECT count(*) FROM api.rest.orders").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"], json!([[ORDERS]]));
    // A nested object is read as its JSON text.
    let (status, body) = query(
        &cluster,
        "SELECT customer FROM api.rest.orders WHERE order_id = 4",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"], json!([["{\"id\":40}"]]));

    // A 503 with Retry-After is retried after the second it asks for, and the scan answers.
    let before = api.requests().len();
    let (status, body) = query(&cluster, "SELECT sum(n) FROM api.rest.flaky").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"], json!([[6]]));
    let flaky = api.requests()[before..]
        .iter()
        .filter(|s| s.path_and_query == "/flaky")
        .count();
    assert!(flaky >= 2, "no retry reached the server ({flaky} requests)");

    // A redirect to an ungranted origin, met on the second page, fails the whole scan.
    let (status, body) = query(&cluster, "SELECT count(*) FROM api.rest.feed").await;
    assert!((400..500).contains(&status), "{status} {body}");
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("allowed_hosts"), "{message}");
    assert!(
        message.contains(&other_addr.port().to_string()),
        "{message}"
    );

    // A catalog whose table lives on an ungranted port fails validation, naming the grant.
    let (status, body) = create(&cluster, "elsewhere", &http, tables(&other_origin), &origin).await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.to_string().contains("allowed_hosts"), "{body}");
    let (status, _) = cluster
        .call(reqwest::Method::GET, "/v1/catalogs/elsewhere", None)
        .await;
    assert_eq!(status, 404, "a failed create leaves no catalog behind");
    assert!(
        other.requests().is_empty(),
        "the ungranted server was reached: {:?}",
        other.requests()
    );

    // The token was sent on every request and shown nowhere.
    let requests = api.requests();
    assert!(requests.iter().all(|s| s.authorized), "{requests:?}");
    let catalog = cluster.get("/v1/catalogs/api").await;
    let catalog_text = catalog.to_string();
    for (what, text) in [
        ("the catalog", catalog_text.as_str()),
        ("the redirect error", message.as_str()),
        ("the validation error", &body.to_string()),
    ] {
        assert!(!text.contains(TOKEN), "{what} shows the token: {text}");
    }
    // Let the worker's last lines reach its output before reading it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = cluster.outputs();
    assert!(!logs.contains(TOKEN), "a log line shows the token");
    assert!(
        logs.contains("GET http://127.0.0.1"),
        "the connector's request log lines are missing"
    );
}
