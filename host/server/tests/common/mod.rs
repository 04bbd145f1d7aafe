//! Shared helpers for the server's tests: a coordinator router over a fresh database, requests
//! sent in-process (`tower::ServiceExt::oneshot`), and the plugin components built by
//! `cargo xtask build-plugins`.

// Not every test file uses every helper; a failed expect here is a failed test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use quarry_runtime::{Runtime, RuntimeConfig};
use quarry_server::coordinator::{AppState, Coordinator, router};
use quarry_server::env_allow_list::EnvAllowList;
use quarry_store::Store;
use serde_json::Value;
use tower::ServiceExt;

pub use quarry_testing::TestDb;
pub use quarry_testing::plugin_component::plugin_bytes;
pub use quarry_testing::wasm_custom_section::with_custom_section;

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const CLUSTER_SECRET: &str = "test-cluster-secret";

/// One runtime per test binary: a plugin is compiled once, not once per test.
pub fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Runtime::new(RuntimeConfig::default()).expect("build the runtime"))
        .clone()
}

/// A secret the test environment holds for `${ENV:TESTKIT_SECRET}`, with a leading newline:
/// the trick that once got an exact-match mask to miss it.
pub const TESTKIT_SECRET: &str = "\nsw0rdfish-Secret";

/// The configuration tests run with: both tokens set, a fixed environment for `${ENV:…}` with
/// an allow-list that lets `TESTKIT_*`, `TPCH_*` and `TEST_UNSET_*` through.
pub fn test_config(db: &TestDb) -> Coordinator {
    Coordinator {
        database_url: db.url().to_owned(),
        admin_token: Some(ADMIN_TOKEN.to_owned()),
        cluster_secret: Some(CLUSTER_SECRET.to_owned()),
        environment: Some(BTreeMap::from([
            ("TESTKIT_BEHAVIOUR".to_owned(), "normal".to_owned()),
            ("TPCH_SPLITS".to_owned(), "4".to_owned()),
            ("TESTKIT_SECRET".to_owned(), TESTKIT_SECRET.to_owned()),
            ("QUARRY_ADMIN_TOKEN".to_owned(), ADMIN_TOKEN.to_owned()),
            ("HOME".to_owned(), "/home/quarry".to_owned()),
        ])),
        env_allow: EnvAllowList::new(&["TESTKIT_*", "TPCH_*", "TEST_UNSET_*", "QUARRY_*"]).unwrap(),
        ..Coordinator::default()
    }
}

/// A coordinator router over its own database.
pub struct App {
    pub router: Router,
    pub state: AppState,
    pub db: TestDb,
}

impl App {
    pub async fn sqlite() -> App {
        App::with(TestDb::sqlite(), |_| {}).await
    }

    pub async fn postgres() -> App {
        App::with(TestDb::postgres().await, |_| {}).await
    }

    /// An app whose config `adjust` changes from [`test_config`].
    pub async fn with(db: TestDb, adjust: impl FnOnce(&mut Coordinator)) -> App {
        let mut config = test_config(&db);
        adjust(&mut config);
        let store = Store::open(db.url()).await.expect("open the store");
        let state = AppState::new(&config, store, runtime()).expect("valid config");
        App {
            router: router(state.clone()),
            state,
            db,
        }
    }

    pub fn store(&self) -> &Store {
        self.state.store()
    }

    /// Sends a request in-process.
    pub async fn send(&self, request: Request<Body>) -> axum::response::Response {
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible")
    }

    /// Sends `method path` with `token` (if any) and a JSON body (if any); returns the status
    /// and the body as JSON (`Null` when empty, a string when not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let response = self.send(request.body(body).unwrap()).await;
        read(response).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(ADMIN_TOKEN), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(ADMIN_TOKEN), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(ADMIN_TOKEN), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(ADMIN_TOKEN), None)
            .await
    }

    /// `POST /v1/plugins` with raw bytes as `application/wasm`, with the admin token.
    pub async fn upload(&self, bytes: Vec<u8>) -> (StatusCode, Value) {
        let request = Request::post("/v1/plugins")
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
            .header(header::CONTENT_TYPE, "application/wasm")
            .header(header::CONTENT_LENGTH, bytes.len())
            .body(Body::from(bytes))
            .unwrap();
        read(self.send(request).await).await
    }

    /// Uploads the built plugin `name` and returns its JSON; asserts a 201.
    pub async fn upload_plugin(&self, name: &str) -> Value {
        let (status, body) = self.upload(plugin_bytes(name)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

/// The status and the body of a response (JSON when it parses, else a string).
pub async fn read(response: axum::response::Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("read the body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, body)
}

/// The `error.code` of an error body.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}
