//! End-to-end: the front doors of a real coordinator. psql and HTTP SQL need a user; a reader
//! queries but changes no catalog; an admin does both; over-long statements and connections
//! beyond the cap are refused; one session's SET is invisible to another; a live worker's id
//! cannot be taken over with the cluster secret alone; TLS covers psql, the HTTP API, Flight SQL
//! (ADBC) and the calls between coordinator and worker; slow request headers are cut off; the workers'
//! execution service answers only holders of the cluster secret.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use datafusion_distributed::grpc::DefaultChannelResolver;
use datafusion_distributed::{ChannelResolver, GetWorkerInfoRequest};
use quarry_server::execution_channels::ExecutionChannels;
use quarry_server::worker_identity::{WorkerKey, goodbye_message, registration_message};
use quarry_testing::TestDb;
use serde_json::{Value, json};

use crate::common::cluster::{ADMIN_TOKEN, CLUSTER_SECRET, Cluster};
use crate::common::psql::{psql, psql_as, psql_command};
use crate::common::python::python;
use crate::common::test_certificates;

const READER: &str = "ana";
const READER_PASSWORD: &str = "e2e reader password";

/// A coordinator with a reader from its config file (password by `${ENV:…}` reference), one
/// worker and a ready `tpch` catalog.
async fn cluster_with_a_reader(db: &TestDb, env: &[(&str, &str)]) -> Cluster {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "[[coordinator.users]]\nname = \"{READER}\"\nrole = \"reader\"\n\
             password = \"${{ENV:E2E_READER_PASSWORD}}\"\n"
        ),
    )
    .unwrap();
    let config_path = config.path().display().to_string();
    let mut all_env = vec![
        ("QUARRY_CONFIG", config_path.as_str()),
        ("E2E_READER_PASSWORD", READER_PASSWORD),
    ];
    all_env.extend_from_slice(env);
    let mut cluster = Cluster::start_with_pg_and(db.url(), &all_env);
    cluster.with_ready_tpch_on("w1").await;
    let port = cluster.pg_port().unwrap();
    cluster
        .wait_for("tpch queryable", Duration::from_secs(30), || async {
            psql(port, "SELECT count(*) FROM tpch.tiny.region").map(|_| ())
        })
        .await;
    cluster
}

/// `POST /v1/statement` with an optional `Authorization` header value.
async fn http_sql(cluster: &Cluster, authorization: Option<&str>, sql: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/statement", cluster.url()))
        .json(&json!({ "sql": sql }));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_clients_are_refused_readers_query_and_only_admins_change_catalogs() {
    let db = TestDb::sqlite();
    let cluster = cluster_with_a_reader(&db, &[]).await;
    let port = cluster.pg_port().unwrap();
    let count = "SELECT count(*) FROM tpch.tiny.nation";

    // Anonymous, or with a wrong password: refused at login.
    for (user, password) in [
        ("admin", None),
        (READER, None),
        (READER, Some("wrong")),
        ("nobody", Some(READER_PASSWORD)),
    ] {
        let refused = psql_as(port, user, password, count).unwrap_err();
        assert!(
            refused.to_lowercase().contains("password"),
            "{user}/{password:?}: {refused}"
        );
    }
    let (status, body) = http_sql(&cluster, None, count).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = http_sql(&cluster, Some(&basic(READER, "wrong")), count).await;
    assert_eq!(status, 403, "{body}");

    // A reader queries, shows and explains, over psql and HTTP.
    assert_eq!(
        psql_as(port, READER, Some(READER_PASSWORD), count).unwrap(),
        "25\n"
    );
    let reader = basic(READER, READER_PASSWORD);
    let (status, body) = http_sql(&cluster, Some(&reader), count).await;
    assert_eq!((status, &body["rows"]), (200, &json!([[25]])), "{body}");
    for sql in ["SHOW CATALOGS", &format!("EXPLAIN {count}")] {
        psql_as(port, READER, Some(READER_PASSWORD), sql).unwrap();
    }

    // ... but changes no catalog: refused by role, and nothing is stored.
    let create = "CREATE CATALOG small USING tpch WITH (\"splits\" = '2')";
    let refused = psql_as(port, READER, Some(READER_PASSWORD), create).unwrap_err();
    assert!(
        refused.contains("permission denied") && refused.contains("admin role"),
        "{refused}"
    );
    let (status, body) = http_sql(&cluster, Some(&reader), create).await;
    assert_eq!(status, 403, "{body}");
    let refused = psql_as(port, READER, Some(READER_PASSWORD), "DROP CATALOG tpch").unwrap_err();
    assert!(refused.contains("permission denied"), "{refused}");
    let (status, _) = cluster
        .call(reqwest::Method::GET, "/v1/catalogs/small", None)
        .await;
    assert_eq!(status, 404);

    // An admin does both: psql with the admin token as password, HTTP with it as bearer.
    let created = psql(port, create).unwrap();
    assert!(created.contains("small|1|ready"), "{created}");
    let (status, body) = http_sql(
        &cluster,
        Some(&format!("Bearer {ADMIN_TOKEN}")),
        "DROP CATALOG small",
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_long_statements_and_connections_over_the_cap_are_refused() {
    let db = TestDb::sqlite();
    let cluster = cluster_with_a_reader(
        &db,
        &[
            ("QUARRY_MAX_STATEMENT_SIZE", "1KiB"),
            ("QUARRY_PG_MAX_CONNECTIONS", "1"),
        ],
    )
    .await;
    let port = cluster.pg_port().unwrap();

    let long = format!("SELECT 1 -- {}", "x".repeat(2000));
    let refused = psql(port, &long).unwrap_err();
    assert!(refused.contains("the limit is 1024"), "{refused}");
    let (status, body) = http_sql(&cluster, Some(&format!("Bearer {ADMIN_TOKEN}")), &long).await;
    assert_eq!(status, 413, "{body}");

    // One session holds the only connection...
    let mut holder = psql_command(port, READER, Some(READER_PASSWORD))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = holder.stdin.take().unwrap();
    let mut stdout = BufReader::new(holder.stdout.take().unwrap());
    writeln!(stdin, "SELECT 41 + 1;").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "42\n");
    // ... so the next is turned away with PostgreSQL's words.
    let refused = psql(port, "SELECT 1").unwrap_err();
    assert!(refused.contains("too many clients"), "{refused}");

    // One session's SET is its own (the holder's settings are not seen by the next session),
    // a PostgreSQL one and an engine one alike.
    let mut answer = |sql: &str| {
        writeln!(stdin, "{sql}").unwrap();
        loop {
            line.clear();
            stdout.read_line(&mut line).unwrap();
            if line != "SET\n" {
                return line.clone();
            }
        }
    };
    assert_eq!(
        answer("SET application_name = 'holder'; SHOW application_name;"),
        "holder\n"
    );
    let batch_size = "SELECT value FROM information_schema.df_settings \
                      WHERE name = 'datafusion.execution.batch_size';";
    assert_eq!(
        answer(&format!(
            "SET datafusion.execution.batch_size = 7; {batch_size}"
        )),
        "7\n"
    );
    drop(stdin);
    holder.wait().unwrap();
    let shown = cluster
        .wait_for("the slot to free", Duration::from_secs(10), || async {
            psql(port, "SHOW application_name")
        })
        .await;
    assert_ne!(shown.trim(), "holder");
    assert_eq!(psql(port, batch_size).unwrap(), "8192\n");
    // A setting off the allow-list is refused.
    let refused = psql(port, "SET datafusion.execution.target_partitions = 64").unwrap_err();
    assert!(
        refused.contains("cannot be changed per session"),
        "{refused}"
    );
}

/// A worker's id is bound to its key: the cluster secret alone does not let anyone register a
/// live worker's id at another address, nor say goodbye for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_workers_id_cannot_be_taken_over_with_the_cluster_secret() {
    let db = TestDb::sqlite();
    let mut cluster = Cluster::start(db.url());
    cluster.start_worker("w1", &[]);
    let original = cluster
        .wait_for("w1 registered", Duration::from_secs(30), || async {
            let workers = cluster.get("/v1/workers").await;
            match workers["workers"].as_array().and_then(|w| w.first()) {
                Some(worker) if worker["state"] == "alive" => Ok(worker.clone()),
                _ => Err(workers.to_string()),
            }
        })
        .await;
    let bound_key = original["public_key"].as_str().unwrap().to_owned();
    assert_eq!(bound_key.len(), 64, "{original}");

    let attacker_dir = tempfile::tempdir().unwrap();
    let attacker = WorkerKey::load_or_create(&attacker_dir.path().join("key")).unwrap();
    let now = chrono::Utc::now();
    let address = "http://127.0.0.1:9";
    let register = |body: Value| {
        reqwest::Client::new()
            .post(format!("{}/v1/workers", cluster.url()))
            .bearer_auth(CLUSTER_SECRET)
            .json(&body)
            .send()
    };
    // Signed with its own key: refused while w1 is alive.
    let signature = attacker.sign(&registration_message(
        "w1",
        address,
        now,
        &attacker.public_key(),
    ));
    let response = register(json!({"id": "w1", "address": address, "started_at": now,
                                   "public_key": attacker.public_key(), "signature": signature}))
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 409);
    // Naming w1's key without holding it: the signature does not verify.
    let response = register(json!({"id": "w1", "address": address, "started_at": now,
                                   "public_key": bound_key, "signature": signature}))
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    // A goodbye for w1 signed by another key: refused, w1 stays alive.
    let goodbye = reqwest::Client::new()
        .post(format!("{}/v1/workers/w1/goodbye", cluster.url()))
        .bearer_auth(CLUSTER_SECRET)
        .json(&json!({"signed_at": now,
                      "signature": attacker.sign(&goodbye_message("w1", now))}))
        .send()
        .await
        .unwrap();
    assert_eq!(goodbye.status().as_u16(), 403);

    let after = cluster.get("/v1/workers").await;
    let worker = &after["workers"][0];
    assert_eq!(worker["address"], original["address"], "{after}");
    assert_eq!(worker["public_key"], bound_key.as_str(), "{after}");
    assert_eq!(worker["state"], "alive", "{after}");
}

/// With TLS configured, every connection is encrypted: psql verifies the coordinator's
/// certificate (`sslmode=verify-full`), the admin API is served over HTTPS, and the coordinator
/// and its worker call each other over HTTPS (registration, sync, scans), trusting the CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_covers_psql_flight_sql_the_http_api_and_worker_calls() {
    let db = TestDb::sqlite();
    let certificates = test_certificates::generate();
    let ca = certificates.ca.display().to_string();
    let mut cluster = Cluster::start_with_tls(db.url(), certificates);
    assert!(cluster.url().starts_with("https://"), "{}", cluster.url());
    cluster.with_ready_tpch_on("w1").await;
    let workers = cluster.get("/v1/workers").await;
    assert!(
        workers["workers"][0]["address"]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "{workers}"
    );

    let port = cluster.pg_port().unwrap();
    let count = "SELECT count(*) FROM tpch.tiny.nation";
    let answer = cluster
        .wait_for("a TLS psql answer", Duration::from_secs(30), || async {
            let output = psql_command(port, "admin", Some(ADMIN_TOKEN))
                .env("PGSSLMODE", "verify-full")
                .env("PGSSLROOTCERT", &ca)
                .args(["-c", count])
                .output()
                .unwrap();
            if output.status.success() {
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            } else {
                Err(String::from_utf8_lossy(&output.stderr).into_owned())
            }
        })
        .await;
    assert_eq!(answer, "25\n");

    // ADBC over Flight SQL with TLS, trusting only the test CA; plain gRPC gets nowhere.
    let flight_port = cluster.flight_sql_port().unwrap().to_string();
    let flight = python("adbc_tls.py", &[&flight_port, &ca, "admin", ADMIN_TOKEN]);
    assert_eq!(flight["nations"], 25, "{flight}");
    assert!(
        flight["plain"].is_string(),
        "plain gRPC was answered on the TLS port: {flight}"
    );

    // The HTTPS port does not speak plain HTTP.
    let plain = cluster.url().replace("https://", "http://");
    let refused = reqwest::get(format!("{plain}/healthz")).await;
    assert!(
        refused.is_err() || !refused.unwrap().status().is_success(),
        "plain HTTP was answered on the TLS port"
    );
}

/// A client that does not finish sending its request headers is disconnected at the header
/// timeout instead of holding the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::sqlite();
    let cluster = Cluster::start_with(
        db.url(),
        Default::default(),
        &[("QUARRY_HTTP_HEADER_TIMEOUT", "1s")],
    );
    let address = cluster.url().replace("http://", "");
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // Closed (EOF, or a reset) by the coordinator; either way the read ends.
    let _closed = tokio::time::timeout(Duration::from_secs(15), socket.read_to_end(&mut answer))
        .await
        .expect("the coordinator kept a connection with unfinished headers open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.contains("200 OK"), "{answer}");
}

/// `${ENV:…}` reads only what the operator allowed: Quarry's own tokens never, and a refused
/// name answers the same whether it is set or not. A plugin that repeats a secret in its
/// error and its log, trimmed, escaped or hex-encoded, has every form masked in the response
/// and in the coordinator's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_references_and_plugin_echoes_leak_no_secret() {
    const SECRET: &str = "\ns3cret-Swordfish";
    let db = TestDb::sqlite();
    let cluster = Cluster::start_with(
        db.url(),
        Default::default(),
        &[
            ("QUARRY_ENV_ALLOW", "E2E_*,QUARRY_ADMIN_TOKEN"),
            ("E2E_SECRET", SECRET),
            ("HOME_SECRET", "not-allowed-value"),
        ],
    );
    let testkit = cluster.upload_plugin("testkit").await;
    let create = |properties: Value| {
        cluster.call(
            reqwest::Method::POST,
            "/v1/catalogs",
            Some(json!({"name": "kit", "plugin": testkit, "properties": properties})),
        )
    };

    let mut refusals = Vec::new();
    for variable in ["QUARRY_ADMIN_TOKEN", "HOME_SECRET", "NOT_SET_ANYWHERE"] {
        let (status, body) = create(json!({
            "behaviour": "normal", "rows": format!("\n${{ENV:{variable}}}"),
        }))
        .await;
        assert_eq!(status, 400, "{body}");
        let text = body.to_string();
        assert!(
            !text.contains(ADMIN_TOKEN) && !text.contains("not-allowed-value"),
            "{text}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("may not be read"), "{message}");
        refusals.push(message.replace(variable, "NAME"));
    }
    assert!(
        refusals.windows(2).all(|pair| pair[0] == pair[1]),
        "{refusals:?}"
    );

    let (status, body) =
        create(json!({"behaviour": "echo-secret", "echo": "${ENV:E2E_SECRET}"})).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("cannot log in with <***>"), "{message}");
    let log = cluster.outputs();
    let secret = SECRET.trim();
    for leak in [secret.to_owned(), hex::encode(secret)] {
        assert!(!body.to_string().contains(&leak), "{leak} in {body}");
        assert!(
            !log.contains(&leak),
            "{leak} in the coordinator's log:\n{log}"
        );
    }
    assert!(
        log.contains("cannot log in with <***>"),
        "the plugin's log line, masked, is in the coordinator's log:\n{log}"
    );
}

/// The workers' execution service (query stages over gRPC) answers only calls that present the
/// cluster secret: none, or a wrong one, is refused before anything runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_execution_service_refuses_calls_without_the_cluster_secret() {
    let db = TestDb::sqlite();
    let mut cluster = Cluster::start(db.url());
    cluster.start_worker("w1", &[]);
    let held = cluster.held_by("w1").await;
    let address = held["execution_address"]
        .as_str()
        .unwrap_or_else(|| panic!("no execution address in {held}"));
    let url = url::Url::parse(address).unwrap();

    async fn worker_info(channels: &dyn ChannelResolver, url: &url::Url) -> Result<String, String> {
        let mut client = channels
            .get_worker_client_for_url(url)
            .await
            .map_err(|e| e.to_string())?;
        client
            .get_worker_info(GetWorkerInfoRequest {})
            .await
            .map(|info| info.version)
            .map_err(|e| e.to_string())
    }

    let refused = worker_info(&DefaultChannelResolver::default(), &url)
        .await
        .expect_err("a call without the secret was answered");
    assert!(refused.contains("needs the cluster secret"), "{refused}");
    let refused = worker_info(&ExecutionChannels::new(Some("not the secret")), &url)
        .await
        .expect_err("a call with a wrong secret was answered");
    assert!(refused.contains("wrong cluster secret"), "{refused}");
    worker_info(&ExecutionChannels::new(Some(CLUSTER_SECRET)), &url)
        .await
        .unwrap_or_else(|e| panic!("the secret's holder was refused: {e}"));
}
