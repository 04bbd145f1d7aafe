//! Engine settings per session: `SET datafusion.…` is checked by the runner, applies to the
//! session's own statements, and is invisible to other sessions.

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::common::{connect, start_server};

async fn engine_settings(client: &Client) -> String {
    let messages = client
        .simple_query("select engine_settings()")
        .await
        .unwrap();
    messages
        .iter()
        .find_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row.get(0).unwrap().to_owned()),
            _ => None,
        })
        .expect("a row")
}

#[tokio::test]
async fn a_session_setting_reaches_that_sessions_statements_only() {
    let server = start_server().await;
    let first = connect(server.port).await;
    let second = connect(server.port).await;

    first
        .simple_query("SET datafusion.execution.batch_size = 7")
        .await
        .unwrap();
    assert_eq!(
        engine_settings(&first).await,
        "datafusion.execution.batch_size=7"
    );
    assert_eq!(engine_settings(&second).await, "");

    // A setting the runner does not allow is refused and not recorded.
    let error = first
        .simple_query("SET datafusion.execution.target_partitions = 1")
        .await
        .unwrap_err();
    assert_eq!(
        error.code(),
        Some(&SqlState::INVALID_PARAMETER_VALUE),
        "{error:?}"
    );
    assert_eq!(
        engine_settings(&first).await,
        "datafusion.execution.batch_size=7"
    );

    first
        .simple_query("RESET datafusion.execution.batch_size")
        .await
        .unwrap();
    assert_eq!(engine_settings(&first).await, "");
}
