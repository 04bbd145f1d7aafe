//! One statement's options: a session's own settings apply to that statement only, and a
//! query over its memory limit fails with an error instead of taking the host's memory.

use datafusion::arrow::util::display::array_value_to_string;
use quarry_sql::{QuarryCatalogs, QueryEngine, QueryOptions};

const BATCH_SIZE: &str = "SELECT value FROM information_schema.df_settings \
                          WHERE name = 'datafusion.execution.batch_size'";

async fn single_value(engine: &QueryEngine, sql: &str, options: &QueryOptions) -> String {
    let batches = engine
        .dataframe_with(sql, options)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    array_value_to_string(batches[0].column(0), 0).unwrap()
}

#[tokio::test]
async fn session_settings_apply_to_their_statement_only() {
    let engine = QueryEngine::new(QuarryCatalogs::new());
    let session = QueryOptions {
        settings: vec![("datafusion.execution.batch_size".into(), "7".into())],
        memory_limit: None,
    };
    assert_eq!(single_value(&engine, BATCH_SIZE, &session).await, "7");
    // The engine's shared state is untouched: another statement sees the default.
    assert_eq!(
        single_value(&engine, BATCH_SIZE, &QueryOptions::default()).await,
        "8192"
    );

    let shared = QueryOptions {
        settings: vec![("datafusion.execution.target_partitions".into(), "1".into())],
        memory_limit: None,
    };
    let refused = engine
        .dataframe_with("SELECT 1", &shared)
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("cannot be changed per session"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_query_over_its_memory_limit_fails_instead_of_growing() {
    let engine = QueryEngine::new(QuarryCatalogs::new());
    // Two million distinct values: the hash table alone needs tens of MB.
    let sql = "SELECT count(DISTINCT value) FROM generate_series(1, 2000000)";
    let limited = QueryOptions {
        settings: Vec::new(),
        memory_limit: Some(1024 * 1024),
    };
    let error = engine
        .dataframe_with(sql, &limited)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("Resources exhausted"), "{error}");
    let unlimited = single_value(&engine, sql, &QueryOptions::default()).await;
    assert_eq!(unlimited, "2000000");
}
