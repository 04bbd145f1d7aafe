//! Server-side cursors through tokio-postgres: `DECLARE`, `FETCH` across batch boundaries in
//! both protocols, `MOVE`, `CLOSE` cancelling the query, cursors ending with their transaction
//! unless declared `WITH HOLD`, and the extended protocol's portal row limits.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::common::{becomes_set, connect, start_server};

/// The values of the first column of a simple query's rows, and its command tag's row count.
async fn simple_rows(client: &Client, sql: &str) -> (Vec<String>, u64) {
    let mut values = Vec::new();
    let mut count = None;
    for message in client.simple_query(sql).await.unwrap() {
        match message {
            SimpleQueryMessage::Row(row) => values.push(row.get(0).unwrap().to_owned()),
            SimpleQueryMessage::CommandComplete(rows) => count = Some(rows),
            _ => {}
        }
    }
    (values, count.expect("a command tag"))
}

#[tokio::test]
async fn fetch_pages_through_a_running_query_in_the_simple_protocol() {
    let server = start_server().await;
    let client = connect(server.port).await;

    client
        .batch_execute(
            "BEGIN; DECLARE big CURSOR FOR select value from generate_series(1, 20000) \
             order by value",
        )
        .await
        .unwrap();
    // 7,000-row pages cross the engine's 8,192-row batches.
    let mut seen = Vec::new();
    loop {
        let (page, count) = simple_rows(&client, "FETCH FORWARD 7000 FROM big").await;
        assert_eq!(page.len() as u64, count, "the FETCH tag counts the page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7000);
        seen.extend(page.into_iter().map(|value| value.parse::<i64>().unwrap()));
    }
    assert_eq!(seen, (1..=20000).collect::<Vec<_>>());

    client.batch_execute("CLOSE big; COMMIT").await.unwrap();
    let error = client.simple_query("FETCH 1 FROM big").await.unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::INVALID_CURSOR_NAME));
    assert_eq!(
        error.as_db_error().unwrap().message(),
        "cursor \"big\" does not exist"
    );
}

#[tokio::test]
async fn fetch_and_move_in_the_extended_protocol_with_a_parameter() {
    let server = start_server().await;
    let client = connect(server.port).await;

    client.batch_execute("BEGIN").await.unwrap();
    client
        .execute(
            "DECLARE c NO SCROLL CURSOR WITHOUT HOLD FOR \
             select id, name from people where id >= $1 order by id",
            &[&1i64],
        )
        .await
        .unwrap();
    // Binary results, typed from the cursor's columns at Parse.
    let rows = client.query("FETCH 1 FROM c", &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i64>("id"), 1);
    assert_eq!(rows[0].get::<_, &str>("name"), "alice");

    let moved = client.execute("MOVE FORWARD 1 IN c", &[]).await.unwrap();
    assert_eq!(moved, 1);
    let rows = client.query("FETCH ALL FROM c", &[]).await.unwrap();
    let names: Vec<&str> = rows.iter().map(|row| row.get("name")).collect();
    assert_eq!(names, ["carol"]);
    assert!(
        client
            .query("FETCH NEXT FROM c", &[])
            .await
            .unwrap()
            .is_empty()
    );

    let error = client
        .batch_execute("DECLARE c CURSOR FOR select 1")
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::DUPLICATE_CURSOR));
    let error = client
        .query("FETCH BACKWARD 1 FROM c", &[])
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::FEATURE_NOT_SUPPORTED));
}

#[tokio::test]
async fn close_cancels_the_query_and_commit_closes_cursors_without_hold() {
    let server = start_server().await;
    let client = connect(server.port).await;

    client
        .batch_execute("BEGIN; DECLARE sleepy CURSOR FOR select pg_sleep_forever()")
        .await
        .unwrap();
    assert!(
        becomes_set(&server.runner.sleep_started, Duration::from_secs(2)).await,
        "the cursor's query never started"
    );
    assert!(!server.runner.sleep_dropped.load(Ordering::SeqCst));
    client.batch_execute("CLOSE sleepy").await.unwrap();
    assert!(
        becomes_set(&server.runner.sleep_dropped, Duration::from_secs(5)).await,
        "CLOSE left the cursor's query running"
    );

    client
        .batch_execute(
            "DECLARE gone CURSOR FOR select id from people; \
             DECLARE kept CURSOR WITH HOLD FOR select id from people order by id; \
             COMMIT",
        )
        .await
        .unwrap();
    let error = client.simple_query("FETCH gone").await.unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::INVALID_CURSOR_NAME));
    let (rows, _) = simple_rows(&client, "FETCH 2 FROM kept").await;
    assert_eq!(rows, ["1", "2"]);
    client.batch_execute("CLOSE ALL").await.unwrap();
    let error = client.simple_query("FETCH kept").await.unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::INVALID_CURSOR_NAME));
}

/// The extended protocol's own paging: Execute with a row limit suspends the portal, and the
/// next Execute goes on from where it stopped (JDBC's fetch size works this way).
#[tokio::test]
async fn portal_row_limits_page_through_the_result() {
    let server = start_server().await;
    let mut client = connect(server.port).await;
    let transaction = client.transaction().await.unwrap();
    let portal = transaction
        .bind(
            "select value from generate_series(1, 20000) order by value",
            &[],
        )
        .await
        .unwrap();
    let mut pages = Vec::new();
    let mut seen = Vec::new();
    loop {
        let page = transaction.query_portal(&portal, 7000).await.unwrap();
        if page.is_empty() {
            break;
        }
        pages.push(page.len());
        seen.extend(page.iter().map(|row| row.get::<_, i64>(0)));
    }
    assert_eq!(pages, [7000, 7000, 6000]);
    assert_eq!(seen, (1..=20000).collect::<Vec<_>>());
    transaction.commit().await.unwrap();
}
