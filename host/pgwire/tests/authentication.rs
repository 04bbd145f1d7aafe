//! Logging in: SCRAM-SHA-256 against a user directory (tokio-postgres and psql), what a wrong
//! password or an unknown user gets, and the connection limits (cap, startup and idle
//! timeouts).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quarry_pgwire::{PgAuthentication, PgConfig, PgUserDirectory, ScramVerifier};
use tokio::io::AsyncReadExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

use crate::common::start_server_with;

#[derive(Debug)]
struct Directory(BTreeMap<String, ScramVerifier>);

impl PgUserDirectory for Directory {
    fn scram_verifier(&self, user: &str) -> Option<ScramVerifier> {
        self.0.get(user).cloned()
    }
}

fn scram_config() -> PgConfig {
    let users = [("ada", "correct horse"), ("bob", "battery staple")]
        .into_iter()
        .map(|(user, password)| (user.to_owned(), ScramVerifier::from_password(password)))
        .collect();
    PgConfig {
        authentication: PgAuthentication::Scram(Arc::new(Directory(users))),
        ..PgConfig::default()
    }
}

async fn login(port: u16, user: &str, password: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user={user} password='{password}' dbname=quarry"),
        NoTls,
    )
    .await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn current_user(client: &Client) -> String {
    let messages = client.simple_query("select current_user").await.unwrap();
    messages
        .iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).unwrap().to_owned()),
            _ => None,
        })
        .expect("a row")
}

#[tokio::test]
async fn scram_logs_in_with_the_right_password_and_statements_run_as_that_user() {
    let server = start_server_with(scram_config()).await;
    let ada = login(server.port, "ada", "correct horse").await.unwrap();
    assert_eq!(current_user(&ada).await, "ada");
    let bob = login(server.port, "bob", "battery staple").await.unwrap();
    assert_eq!(current_user(&bob).await, "bob");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_refusal() {
    let server = start_server_with(scram_config()).await;
    for (user, password) in [("ada", "battery staple"), ("nobody", "correct horse")] {
        let error = login(server.port, user, password).await.unwrap_err();
        assert_eq!(
            error.code(),
            Some(&SqlState::INVALID_PASSWORD),
            "{user}: {error}"
        );
    }
}

// psql runs as a blocking child process: the server needs a runtime thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_logs_in_with_scram_and_is_refused_without_a_password() {
    let server = start_server_with(scram_config()).await;
    let psql = |password: Option<&str>| {
        let mut command = std::process::Command::new("psql");
        command
            .args(["-h", "127.0.0.1", "-p", &server.port.to_string()])
            .args(["-U", "ada", "-d", "quarry", "-X", "-A", "-t", "-w"])
            .args(["-c", "select current_user"])
            .env_remove("PGPASSWORD");
        if let Some(password) = password {
            command.env("PGPASSWORD", password);
        }
        command.output().expect("psql on PATH")
    };
    let ok = psql(Some("correct horse"));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "ada");

    let refused = psql(None);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("password"), "{stderr}");
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_with_53300() {
    let server = start_server_with(PgConfig {
        max_connections: 2,
        ..PgConfig::default()
    })
    .await;
    let first = login(server.port, "quarry", "").await.unwrap();
    let _second = login(server.port, "quarry", "").await.unwrap();
    let error = login(server.port, "quarry", "").await.unwrap_err();
    assert_eq!(
        error.code(),
        Some(&SqlState::TOO_MANY_CONNECTIONS),
        "{error}"
    );
    let message = error.as_db_error().unwrap().message();
    assert!(message.contains("limit is 2"), "{message}");

    // A slot frees when a client leaves.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match login(server.port, "quarry", "").await {
            Ok(client) => {
                assert_eq!(current_user(&client).await, "quarry");
                break;
            }
            Err(error) if Instant::now() < deadline => {
                assert_eq!(error.code(), Some(&SqlState::TOO_MANY_CONNECTIONS));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("the freed slot was not reused: {error}"),
        }
    }
}

#[tokio::test]
async fn idle_sessions_are_closed_but_running_statements_are_not() {
    let server = start_server_with(PgConfig {
        idle_timeout: Duration::from_millis(500),
        ..PgConfig::default()
    })
    .await;
    let busy = login(server.port, "quarry", "").await.unwrap();
    let idle = login(server.port, "quarry", "").await.unwrap();
    // A statement that outlives the idle timeout many times over is not cut off.
    let running = tokio::spawn(async move { busy.simple_query("select pg_sleep_forever()").await });
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(
        !running.is_finished(),
        "the running statement's connection was closed: {:?}",
        running.await
    );
    assert!(
        server
            .runner
            .sleep_started
            .load(std::sync::atomic::Ordering::SeqCst)
    );
    // The session without a statement was closed.
    let error = idle.simple_query("select 1").await.unwrap_err();
    assert!(error.is_closed(), "{error}");
}

#[tokio::test]
async fn a_client_that_never_logs_in_is_disconnected_at_the_startup_timeout() {
    let server = start_server_with(PgConfig {
        startup_timeout: Duration::from_millis(300),
        ..PgConfig::default()
    })
    .await;
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer))
        .await
        .expect("the server kept a silent connection open past its startup timeout");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}
