//! The real `psql` binary against the server: the simple query protocol.

use std::process::Output;

use crate::common::start_server;

/// Runs `psql -X -q -A -t -c <sql>` (unaligned, tuples only, `|` between columns).
async fn psql(port: u16, sql: &str) -> Output {
    tokio::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "quarry",
            "-d",
            "quarry",
        ])
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGPASSWORD")
        .output()
        .await
        .expect("psql runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn rows_with_nulls_decimals_dates_and_timestamps() {
    let server = start_server().await;
    let output = psql(
        server.port,
        "select id, name, score, balance, born, seen, active, photo from people order by id",
    )
    .await;
    assert_eq!(
        stdout(&output),
        "1|alice|1.5|12.50|2024-01-15|2024-01-15 10:30:00.5|t|\\x0102\n\
         2|bob||-0.05|||f|\n\
         3|carol|-2.25||1970-01-01|1970-01-01 00:00:00||\\xff\n"
    );
}

#[tokio::test]
async fn expressions_and_aggregates() {
    let server = start_server().await;
    let output = psql(
        server.port,
        "select count(*), sum(balance), max(name), cast(null as int) is null, 7 / 2, \
         cast(1 as smallint) + 1 from people",
    )
    .await;
    assert_eq!(stdout(&output), "3|12.45|carol|t|3|2\n");
}

#[tokio::test]
async fn several_statements_in_one_query_string() {
    let server = start_server().await;
    // psql 15 prints the result of every statement of a -c string.
    let output = psql(
        server.port,
        "select 1 as a; select name from people where id = 2;; select 'x;y' as c",
    )
    .await;
    assert_eq!(stdout(&output), "1\nbob\nx;y\n");

    let output = psql(server.port, " ; ").await;
    assert_eq!(stdout(&output), "");
}

#[tokio::test]
async fn errors_show_the_message_and_stop_the_query_string() {
    let server = start_server().await;
    let output = psql(
        server.port,
        "select 1 as a; select * from missing_table; select 2",
    )
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("ERROR:  "), "{stderr}");
    assert!(stderr.contains("missing_table"), "{stderr}");
    assert!(stderr.contains("not found"), "{stderr}");
    // The statement before the error ran; the one after did not.
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "1\n");

    let output = psql(server.port, "selec 1").await;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("ERROR:  "), "{stderr}");
}

#[tokio::test]
async fn session_commands_drivers_send() {
    let server = start_server().await;
    let output = psql(
        server.port,
        "SET extra_float_digits = 3; SET application_name TO 'quarry test'; \
         SHOW extra_float_digits; SHOW application_name; SHOW transaction_isolation; \
         SHOW server_version; select version(); BEGIN; select 5; COMMIT",
    )
    .await;
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "3");
    assert_eq!(lines[1], "quarry test");
    assert_eq!(lines[2], "read committed");
    assert_eq!(lines[3], "16.6");
    assert!(lines[4].starts_with("PostgreSQL 16.6"), "{text}");
    assert_eq!(lines[5], "5");
}

#[tokio::test]
async fn ddl_goes_to_the_runner() {
    let server = start_server().await;
    let output = psql(
        server.port,
        "create table t as select 41 + 1 as answer; select answer from t",
    )
    .await;
    assert_eq!(stdout(&output), "42\n");
}
