//! tokio-postgres against the server: the extended query protocol (Parse/Bind/Describe/Execute
//! with binary results), parameters, errors, CancelRequest, and rows streamed while the
//! statement runs.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;

use crate::common::{becomes_set, connect, start_server};
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, SimpleQueryMessage};

#[tokio::test]
async fn typed_rows_with_a_parameter() {
    let server = start_server().await;
    let client = connect(server.port).await;

    let rows = client
        .query(
            "select id, name, score, active from people where id >= $1 order by id",
            &[&2i64],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<_, i64>("id"), 2);
    assert_eq!(rows[0].get::<_, String>("name"), "bob");
    assert_eq!(rows[0].get::<_, Option<f64>>("score"), None);
    assert_eq!(rows[0].get::<_, Option<bool>>("active"), Some(false));
    assert_eq!(rows[1].get::<_, i64>(0), 3);
    assert_eq!(rows[1].get::<_, Option<f64>>(2), Some(-2.25));
    assert_eq!(rows[1].get::<_, Option<bool>>(3), None);
}

#[tokio::test]
async fn prepared_statement_runs_again_with_new_parameters() {
    let server = start_server().await;
    let client = connect(server.port).await;

    let statement = client
        .prepare("select name, photo from people where name = $1")
        .await
        .unwrap();
    assert_eq!(statement.params(), &[tokio_postgres::types::Type::TEXT]);
    assert_eq!(
        statement.columns()[0].type_(),
        &tokio_postgres::types::Type::TEXT
    );
    assert_eq!(
        statement.columns()[1].type_(),
        &tokio_postgres::types::Type::BYTEA
    );

    let alice = client.query_one(&statement, &[&"alice"]).await.unwrap();
    assert_eq!(alice.get::<_, &str>(0), "alice");
    assert_eq!(alice.get::<_, Option<Vec<u8>>>(1), Some(vec![1, 2]));
    let carol = client.query_one(&statement, &[&"carol"]).await.unwrap();
    assert_eq!(carol.get::<_, Option<Vec<u8>>>(1), Some(vec![255]));
    let nobody = client.query_opt(&statement, &[&"zed"]).await.unwrap();
    assert!(nobody.is_none());
}

#[tokio::test]
async fn numbers_of_every_width_in_binary() {
    let server = start_server().await;
    let client = connect(server.port).await;
    let row = client
        .query_one(
            "select cast(1 as smallint) as a, cast(2 as int) as b, cast(3 as bigint) as c, \
             cast(1.5 as real) as d, score * 2 as e from people where score = $1",
            &[&-2.25f64],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i16>("a"), 1);
    assert_eq!(row.get::<_, i32>("b"), 2);
    assert_eq!(row.get::<_, i64>("c"), 3);
    assert_eq!(row.get::<_, f32>("d"), 1.5);
    assert_eq!(row.get::<_, f64>("e"), -4.5);
}

#[tokio::test]
async fn text_results_for_decimals_dates_and_timestamps() {
    let server = start_server().await;
    let client = connect(server.port).await;
    let messages = client
        .simple_query("select balance, born, seen from people where id = 1")
        .await
        .unwrap();
    let row = messages
        .iter()
        .find_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .unwrap();
    assert_eq!(row.get(0), Some("12.50"));
    assert_eq!(row.get(1), Some("2024-01-15"));
    assert_eq!(row.get(2), Some("2024-01-15 10:30:00.5"));
}

#[tokio::test]
async fn errors_carry_sqlstates() {
    let server = start_server().await;
    let client = connect(server.port).await;

    let error = client.query("select * from nope", &[]).await.unwrap_err();
    let db_error = error.as_db_error().unwrap();
    assert_eq!(db_error.code(), &SqlState::UNDEFINED_TABLE);
    assert!(
        db_error.message().contains("nope"),
        "{}",
        db_error.message()
    );

    let error = client.query("selec 1", &[]).await.unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::SYNTAX_ERROR));

    // The session is still usable after errors.
    let row = client.query_one("select 1 + 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
}

#[tokio::test]
async fn session_commands_through_the_extended_protocol() {
    let server = start_server().await;
    let client = connect(server.port).await;
    client
        .execute("SET search_path = 'public'", &[])
        .await
        .unwrap();
    let row = client
        .query_one("SHOW transaction_isolation", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "read committed");
    let row = client.query_one("select version()", &[]).await.unwrap();
    assert!(row.get::<_, &str>(0).starts_with("PostgreSQL"));
}

#[tokio::test]
async fn cancel_request_drops_the_running_stream() {
    let server = start_server().await;
    let client = connect(server.port).await;
    let cancel = client.cancel_token();

    let query = tokio::spawn(async move { client.simple_query("select pg_sleep_forever()").await });
    assert!(
        becomes_set(&server.runner.sleep_started, Duration::from_secs(2)).await,
        "pg_sleep_forever never started"
    );
    assert!(!server.runner.sleep_dropped.load(Ordering::SeqCst));

    cancel.cancel_query(NoTls).await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), query)
        .await
        .expect("the query ends after the cancel")
        .unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED));
    assert!(server.runner.sleep_dropped.load(Ordering::SeqCst));
}

/// A client that hangs up while its statement has produced no rows yet: the statement's stream
/// is dropped (its splits would stop), not left running until it writes a first row.
#[tokio::test]
async fn a_client_that_disconnects_mid_statement_drops_it() {
    let server = start_server().await;
    let (client, connection) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=quarry dbname=quarry",
            server.port
        ),
        NoTls,
    )
    .await
    .unwrap();
    let connection = tokio::spawn(connection);
    let query = tokio::spawn(async move { client.simple_query("select pg_sleep_forever()").await });
    assert!(
        becomes_set(&server.runner.sleep_started, Duration::from_secs(2)).await,
        "pg_sleep_forever never started"
    );

    // The client process goes away: its socket closes.
    query.abort();
    connection.abort();
    assert!(
        becomes_set(&server.runner.sleep_dropped, Duration::from_secs(5)).await,
        "the statement of a client that hung up was still running after 5 s"
    );
}

/// An Execute without a row limit streams: the client has the first row while the statement
/// still runs (pgwire alone would collect every row before sending one).
#[tokio::test]
async fn rows_reach_the_client_while_the_statement_runs() {
    let server = start_server().await;
    let client = connect(server.port).await;
    let rows = client
        .query_raw("select rows_then_wait()", std::iter::empty::<i64>())
        .await
        .unwrap();
    futures::pin_mut!(rows);
    let first = tokio::time::timeout(Duration::from_secs(5), rows.next())
        .await
        .expect("the first row arrives while the statement is still running")
        .unwrap()
        .unwrap();
    assert_eq!(first.get::<_, i64>(0), 1);
}
