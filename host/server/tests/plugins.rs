//! `/v1/plugins`: upload (validated in the sandbox, idempotent, immutable, size-capped), read,
//! delete, and the component bytes for workers.

use crate::common::{
    ADMIN_TOKEN, App, CLUSTER_SECRET, TestDb, code, plugin_bytes, read, with_custom_section,
};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploading_tpch_reads_name_and_version_from_its_spec() {
    let app = App::sqlite().await;
    let body = app.upload_plugin("tpch").await;
    assert_eq!(body["name"], "tpch");
    assert_eq!(body["contract_version"], "0.1.0");
    assert_eq!(body["size"], plugin_bytes("tpch").len());
    assert_eq!(body["sha256"].as_str().unwrap().len(), 64);
    let config: Vec<&str> = body["config"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(config, ["splits", "split_rows"]);
    assert!(body["description"].as_str().unwrap().contains("TPC-H"));

    let version = body["version"].as_str().unwrap();
    let (status, one) = app.get(&format!("/v1/plugins/tpch/{version}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["sha256"], body["sha256"]);
    let (status, versions) = app.get("/v1/plugins/tpch").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(versions["plugins"].as_array().unwrap().len(), 1);
    let (status, all) = app.get("/v1/plugins").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["plugins"][0]["name"], "tpch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_upload_twice_is_idempotent_and_other_bytes_conflict() {
    let app = App::sqlite().await;
    app.upload_plugin("testkit").await;
    let (status, again) = app.upload(plugin_bytes("testkit")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["name"], "testkit");

    let other = with_custom_section(&plugin_bytes("testkit"), "quarry-test", b"other bytes");
    let (status, body) = app.upload(other).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "conflict");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("testkit@") && message.contains("other bytes"),
        "{message}"
    );
    assert_eq!(app.store().list_plugins().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_a_connector_component_is_refused_saying_why() {
    let app = App::sqlite().await;
    let cases: Vec<(Vec<u8>, &str, &str)> =
        vec![
        (b"definitely not wasm".to_vec(), "invalid_component", "not a WebAssembly binary"),
        (wat::parse_str("(module)").unwrap(), "invalid_component", "core WebAssembly module"),
        (
            wat::parse_str(
                r#"(component (instance $i) (export "example:other/thing@1.0.0" (instance $i)))"#,
            )
            .unwrap(),
            "invalid_component",
            "does not export quarry:connector/source",
        ),
        (
            wat::parse_str(
                r#"(component (instance $i)
                     (export "quarry:connector/source@9.0.0" (instance $i)))"#,
            )
            .unwrap(),
            "unsupported_contract",
            "accepts quarry:connector/source@0.1.0",
        ),
        (Vec::new(), "invalid_component", "empty"),
    ];
    for (bytes, expected_code, expected_message) in cases {
        let (status, body) = app.upload(bytes).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(&body), expected_code, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected_message), "{message}");
    }
    assert!(app.store().list_plugins().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_must_say_application_wasm() {
    let app = App::sqlite().await;
    let request = Request::post("/v1/plugins")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(plugin_bytes("tpch")))
        .unwrap();
    let (status, body) = read(app.send(request).await).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_the_limit_is_413_by_content_length_and_by_streamed_size() {
    let app = App::with(TestDb::sqlite(), |c| c.max_plugin_size = 4096).await;
    // Declared too large: refused before the body is read.
    let (status, body) = app.upload(plugin_bytes("tpch")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(code(&body), "payload_too_large");

    // No Content-Length: a chunked body is cut off at the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..64).map(|_| Ok(vec![0u8; 1024])).collect();
    let request = Request::post("/v1/plugins")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
        .header(header::CONTENT_TYPE, "application/wasm")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    let (status, body) = read(app.send(request).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(app.store().list_plugins().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_plugins_are_404() {
    let app = App::sqlite().await;
    for path in ["/v1/plugins/nope", "/v1/plugins/nope/1.0.0"] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(code(&body), "not_found");
    }
    let (status, _) = app.delete("/v1/plugins/nope/1.0.0").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_in_use_cannot_be_deleted_and_the_error_names_the_catalogs() {
    let app = App::sqlite().await;
    let plugin = app.upload_plugin("testkit").await;
    let reference = format!("testkit@{}", plugin["version"].as_str().unwrap());
    for name in ["b_cat", "a_cat"] {
        let (status, body) = app
            .post(
                "/v1/catalogs",
                json!({"name": name, "plugin": reference, "properties": {"behaviour": "normal"}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let path = format!(
        "/v1/plugins/testkit/{}",
        plugin["version"].as_str().unwrap()
    );
    let (status, body) = app.delete(&path).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "in_use");
    assert_eq!(body["error"]["catalogs"], json!(["a_cat", "b_cat"]));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"a_cat\", \"b_cat\"")
    );

    for name in ["a_cat", "b_cat"] {
        let (status, _) = app.delete(&format!("/v1/catalogs/{name}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, body) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = app.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_fetch_component_bytes_with_the_cluster_secret() {
    let app = App::sqlite().await;
    let plugin = app.upload_plugin("tpch").await;
    let path = format!(
        "/v1/plugins/by-sha256/{}/component",
        plugin["sha256"].as_str().unwrap()
    );
    let request = Request::get(&path)
        .header(header::AUTHORIZATION, format!("Bearer {CLUSTER_SECRET}"))
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/wasm");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), plugin_bytes("tpch").as_slice());

    // The admin token is not the cluster secret.
    let (status, _) = app.call(Method::GET, &path, Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.call(Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let missing = format!("/v1/plugins/by-sha256/{}/component", "0".repeat(64));
    let (status, _) = app
        .call(Method::GET, &missing, Some(CLUSTER_SECRET), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_larger_than_axums_default_body_limit_is_accepted() {
    let app = App::sqlite().await;
    // 3 MiB of custom section: over axum's 2 MB default, under the 64 MiB plugin maximum.
    let padded = with_custom_section(&plugin_bytes("tpch"), "padding", &vec![7u8; 3 << 20]);
    let size = padded.len();
    let (status, body) = app.upload(padded).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["size"], size);
}
