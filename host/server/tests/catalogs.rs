//! `/v1/catalogs`: validated creates and alters (config fields, grants, `${ENV:…}`, the plugin's
//! own validate), conflicts under concurrency, reads with status and redaction, deletes.

use std::collections::BTreeMap;

use crate::common::{ADMIN_TOKEN, App, TESTKIT_SECRET, code};
use axum::http::StatusCode;
use quarry_store::{CatalogSpec, ConfigField, NewPlugin};
use serde_json::{Value, json};

/// An app with the testkit plugin uploaded; returns it and `testkit@<version>`.
async fn with_testkit() -> (App, String) {
    let app = App::sqlite().await;
    let plugin = app.upload_plugin("testkit").await;
    let reference = format!("testkit@{}", plugin["version"].as_str().unwrap());
    (app, reference)
}

fn issue_fields(body: &Value) -> Vec<String> {
    body["error"]["issues"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|i| i["field"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Asserts the catalog `name` is nowhere: not through the API, not in the store.
async fn assert_not_stored(app: &App, name: &str) {
    let (status, _) = app.get(&format!("/v1/catalogs/{name}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/v1/catalogs").await;
    assert_eq!(list["catalogs"], json!([]));
    assert!(app.store().list_catalogs().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_catalog_is_created_pending_at_generation_one() {
    let (app, reference) = with_testkit().await;
    let (status, body) = app
        .post(
            "/v1/catalogs",
            json!({
                "name": "kit",
                "plugin": reference,
                "properties": {"behaviour": "normal", "rows": "5"},
                "grants": {"allowed_paths": [], "allowed_hosts": ["https://api.example.com"]},
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["name"], "kit");
    assert_eq!(body["plugin"], json!(reference));
    assert_eq!(body["generation"], 1);
    assert_eq!(body["status"], "pending");
    assert_eq!(body["workers"], json!([]));
    assert_eq!(
        body["properties"],
        json!({"behaviour": "normal", "rows": "5"})
    );
    assert_eq!(
        body["grants"]["allowed_hosts"],
        json!(["https://api.example.com"])
    );
    assert!(body["created_at"].is_string() && body["updated_at"].is_string());

    let (status, read) = app.get("/v1/catalogs/kit").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["generation"], 1);
    assert_eq!(read["status"], "pending");
    let (_, list) = app.get("/v1/catalogs").await;
    assert_eq!(list["catalogs"][0]["name"], "kit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_name_is_409() {
    let (app, reference) = with_testkit().await;
    let body = json!({"name": "kit", "plugin": reference, "properties": {"behaviour": "normal"}});
    let (status, _) = app.post("/v1/catalogs", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, error) = app.post("/v1/catalogs", body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(code(&error), "conflict");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_creates_give_one_201_and_one_409() {
    let (app, reference) = with_testkit().await;
    let body = json!({"name": "race", "plugin": reference, "properties": {"behaviour": "normal"}});
    for _ in 0..3 {
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
        let (status, _) = app.delete("/v1/catalogs/race").await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_property_problem_is_listed_and_nothing_is_stored() {
    let (app, reference) = with_testkit().await;
    let (status, body) = app
        .post(
            "/v1/catalogs",
            json!({"name": "kit", "plugin": reference, "properties": {"colour": "red", "size": "9"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "invalid_catalog");
    assert_eq!(issue_fields(&body), ["colour", "size", "behaviour"]);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("missing required property"), "{message}");
    assert_not_stored(&app, "kit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugins_own_validate_runs_before_anything_is_stored() {
    let (app, reference) = with_testkit().await;
    let (status, body) = app
        .post(
            "/v1/catalogs",
            json!({"name": "kit", "plugin": reference, "properties": {"behaviour": "bogus"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "invalid_catalog");
    assert_eq!(issue_fields(&body), ["behaviour"]);
    assert!(
        body["error"]["issues"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown behaviour \"bogus\""),
        "{body}"
    );
    assert_not_stored(&app, "kit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_plugins_bodies_and_grants_are_400() {
    let (app, reference) = with_testkit().await;
    let cases = [
        (
            json!({"name": "Bad-Name", "plugin": reference, "properties": {"behaviour": "normal"}}),
            "bad_request",
        ),
        (
            json!({"name": "kit", "plugin": "testkit", "properties": {"behaviour": "normal"}}),
            "bad_request",
        ),
        (
            json!({"name": "quarry", "plugin": reference, "properties": {"behaviour": "normal"}}),
            "bad_request",
        ),
        (
            json!({"name": "kit", "plugin": "nope@1.0.0", "properties": {"behaviour": "normal"}}),
            "unknown_plugin",
        ),
        (
            json!({"name": "kit", "plugin": reference, "properties": {"behaviour": 1}}),
            "bad_request",
        ),
        (
            json!({"name": "kit", "plugin": reference, "extra": true}),
            "bad_request",
        ),
        (
            json!({"name": "kit", "plugin": reference, "properties": {"behaviour": "normal"},
                   "grants": {"allowed_hosts": ["ftp://x"], "allowed_paths": ["relative"]}}),
            "invalid_catalog",
        ),
        (
            json!({"name": "kit", "plugin": reference, "properties": {"behaviour": "normal"},
                   "grants": {"allowed_paths": ["/no/such/dir/for/quarry"]}}),
            "invalid_catalog",
        ),
    ];
    for (request, expected) in cases {
        let (status, body) = app.post("/v1/catalogs", request.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{request}: {body}");
        assert_eq!(code(&body), expected, "{request}: {body}");
    }
    assert_not_stored(&app, "kit").await;
    assert_not_stored(&app, "quarry").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_references_are_resolved_for_validation_only() {
    let (app, reference) = with_testkit().await;
    let (status, body) = app
        .post(
            "/v1/catalogs",
            json!({"name": "kit", "plugin": reference,
                   "properties": {"behaviour": "${ENV:TESTKIT_BEHAVIOUR}"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Stored and shown as the reference, never the value.
    assert_eq!(body["properties"]["behaviour"], "${ENV:TESTKIT_BEHAVIOUR}");
    let stored = app.store().get_catalog("kit").await.unwrap();
    assert_eq!(stored.properties["behaviour"], "${ENV:TESTKIT_BEHAVIOUR}");

    let (status, body) = app
        .post(
            "/v1/catalogs",
            json!({"name": "kit2", "plugin": reference,
                   "properties": {"behaviour": "${ENV:TEST_UNSET_VARIABLE}"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "invalid_catalog");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("environment variable \"TEST_UNSET_VARIABLE\" is not set"),
        "{message}"
    );
    let (status, _) = app.get("/v1/catalogs/kit2").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Quarry's own variables never resolve, even when the allow-list names them, and a name off
/// the list gets the same answer whether it is set (`HOME`) or not: nothing leaks, not even
/// through the newline trick that once defeated an exact-match mask.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_env_references_leak_nothing() {
    let (app, reference) = with_testkit().await;
    let mut answers = Vec::new();
    for variable in ["QUARRY_ADMIN_TOKEN", "HOME", "NOT_SET_ANYWHERE"] {
        let (status, body) = app
            .post(
                "/v1/catalogs",
                json!({"name": "kit", "plugin": reference,
                       "properties": {"behaviour": "normal",
                                      "rows": format!("\n${{ENV:{variable}}}")}}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let text = body.to_string();
        assert!(!text.contains(ADMIN_TOKEN), "{text}");
        assert!(!text.contains("/home/quarry"), "{text}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!(
                "\"{variable}\" may not be read on the coordinator"
            )),
            "{message}"
        );
        answers.push(message.replace(variable, "NAME"));
    }
    assert_eq!(answers[0], answers[1], "a set name answers like another");
    assert_eq!(
        answers[1], answers[2],
        "a set name answers like an unset one"
    );
    let (status, _) = app.get("/v1/catalogs/kit").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A plugin that repeats a secret in its validation message, trimmed, escaped and
/// hex-encoded, has every form masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_echoing_a_secret_in_any_encoding_has_it_masked() {
    let (app, reference) = with_testkit().await;
    let (status, body) = app
        .post(
            "/v1/catalogs",
            json!({"name": "echo", "plugin": reference,
                   "properties": {"behaviour": "echo-secret",
                                  "echo": "${ENV:TESTKIT_SECRET}"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let text = body.to_string();
    let secret = TESTKIT_SECRET.trim();
    for leak in [
        secret.to_owned(),
        hex::encode(secret),
        "sw0rdfish".to_owned(),
    ] {
        assert!(!text.contains(&leak), "{leak} leaked: {text}");
    }
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(r#"cannot log in with <***>, trimmed <***>, escaped <"***">, hex <***>"#),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alter_validates_and_bumps_the_generation() {
    let (app, reference) = with_testkit().await;
    let (status, _) = app
        .post(
            "/v1/catalogs",
            json!({"name": "kit", "plugin": reference, "properties": {"behaviour": "normal"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, body) = app
        .put(
            "/v1/catalogs/kit",
            json!({"plugin": reference, "properties": {"behaviour": "panic"},
                   "expected_generation": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["generation"], 2);
    assert_eq!(body["properties"]["behaviour"], "panic");
    assert_eq!(body["status"], "pending");

    // A stale generation, an invalid definition, an unknown catalog.
    let (status, body) = app
        .put(
            "/v1/catalogs/kit",
            json!({"plugin": reference, "properties": {"behaviour": "normal"},
                   "expected_generation": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .put(
            "/v1/catalogs/kit",
            json!({"plugin": reference, "properties": {"behaviour": "bogus"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = app
        .put(
            "/v1/catalogs/nope",
            json!({"plugin": reference, "properties": {"behaviour": "normal"}}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let stored = app.store().get_catalog("kit").await.unwrap();
    assert_eq!(stored.generation, 2);
    assert_eq!(stored.properties["behaviour"], "panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_catalog_is_gone() {
    let (app, reference) = with_testkit().await;
    let (status, _) = app
        .post(
            "/v1/catalogs",
            json!({"name": "kit", "plugin": reference, "properties": {"behaviour": "normal"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app.delete("/v1/catalogs/kit").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);
    assert_not_stored(&app, "kit").await;
    let (status, _) = app.delete("/v1/catalogs/kit").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_properties_read_back_redacted_with_per_worker_status() {
    // Neither shipped plugin declares a secret field, so the plugin is declared through the
    // store directly (the API never loads it for a read).
    let app = App::sqlite().await;
    let store = app.store();
    let plugin = NewPlugin {
        name: "pg".into(),
        version: "1.0.0".into(),
        contract_version: "0.1.0".into(),
        config_fields: vec![
            ConfigField {
                name: "user".into(),
                required: true,
                ..ConfigField::default()
            },
            ConfigField {
                name: "password".into(),
                secret: true,
                ..ConfigField::default()
            },
        ],
        description: "stand-in".into(),
    };
    store
        .create_plugin(&plugin, b"\0asm stand-in")
        .await
        .unwrap();
    let spec = CatalogSpec {
        plugin_name: "pg".into(),
        plugin_version: "1.0.0".into(),
        properties: BTreeMap::from([
            ("user".to_owned(), "alice".to_owned()),
            ("password".to_owned(), "hunter2".to_owned()),
        ]),
        grants: Default::default(),
    };
    store.create_catalog("sales", &spec).await.unwrap();
    store
        .register_worker("w1", "127.0.0.1:9001", chrono::Utc::now())
        .await
        .unwrap();
    store
        .report_catalog_state(
            "w1",
            "sales",
            1,
            quarry_store::LoadState::Failed,
            Some("boom"),
        )
        .await
        .unwrap();

    let (status, body) = app.get("/v1/catalogs/sales").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["properties"],
        json!({"user": "alice", "password": "***"})
    );
    assert_eq!(body["status"], "failed");
    assert_eq!(
        body["workers"],
        json!([{"worker": "w1", "generation": 1, "state": "failed", "error": "boom"}])
    );
    let (_, list) = app.get("/v1/catalogs").await;
    assert!(!list.to_string().contains("hunter2"), "{list}");
    assert_eq!(list["catalogs"][0]["properties"]["password"], "***");

    let (status, workers) = app.get("/v1/workers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(workers["workers"][0]["id"], "w1");
    assert_eq!(workers["workers"][0]["state"], "alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_json_body_is_a_json_413() {
    let app = App::sqlite().await;
    let big = "x".repeat(3 << 20);
    let (status, body) = app
        .post(
            "/v1/catalogs",
            json!({"name": "kit", "plugin": "a@1", "properties": {"k": big}}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&body), "payload_too_large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_socket_grant_is_400_naming_the_entry() {
    let (app, reference) = with_testkit().await;
    let (status, body) = app
        .post(
            "/v1/catalogs",
            json!({"name": "kit", "plugin": reference, "properties": {"behaviour": "normal"},
                   "grants": {"allowed_sockets": ["[::1]:5432", "db.example.com"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "invalid_catalog");
    assert_eq!(issue_fields(&body), ["grants.allowed_sockets"]);
    let message = body["error"]["issues"][0]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "\"db.example.com\" is not a socket like host:port (the port is missing)"
    );
    assert_not_stored(&app, "kit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_grant_is_enforced_in_validate_and_read_back() {
    use std::io::{BufRead, BufReader};

    let (app, reference) = with_testkit().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let endpoint = format!("127.0.0.1:{port}");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut line = String::new();
            let _ = BufReader::new(stream.unwrap()).read_line(&mut line);
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let properties = json!({"behaviour": "socket", "connect_to": endpoint});

    // Another port granted: the plugin's validate fails, and the issue says what to grant.
    let (status, body) = app
        .post(
            "/v1/catalogs",
            json!({"name": "kit", "plugin": reference, "properties": properties,
                   "grants": {"allowed_sockets": ["127.0.0.1:1"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(issue_fields(&body)[0], "grants.allowed_sockets", "{body}");
    let message = body["error"]["issues"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "connect to {endpoint} denied: not in allowed_sockets; add it with --grant-socket \
             {endpoint} (API: grants.allowed_sockets)"
        )),
        "{message}"
    );
    assert!(
        rx.try_recv().is_err(),
        "the denied connect reached the listener"
    );
    assert_not_stored(&app, "kit").await;

    // Granted: validate connects, and the grant reads back as given.
    let (status, body) = app
        .post(
            "/v1/catalogs",
            json!({"name": "kit", "plugin": reference, "properties": properties,
                   "grants": {"allowed_sockets": [endpoint]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let line = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(line, "hello from testkit\n");
    let (_, read) = app.get("/v1/catalogs/kit").await;
    assert_eq!(
        read["grants"],
        json!({"allowed_paths": [], "allowed_hosts": [], "allowed_sockets": [endpoint]})
    );
    let stored = app.store().get_catalog("kit").await.unwrap();
    assert_eq!(stored.grants.allowed_sockets, vec![endpoint.clone()]);

    // An alter that adds a name keeps both.
    let (status, body) = app
        .put(
            "/v1/catalogs/kit",
            json!({"plugin": reference, "properties": properties,
                   "grants": {"allowed_sockets": [endpoint, "localhost:5432"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["grants"]["allowed_sockets"],
        json!([endpoint, "localhost:5432"])
    );
}
