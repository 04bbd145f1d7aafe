//! SQL reads Quarry catalogs and nothing else: DataFusion's DDL, DML and statements are refused
//! when planned, with a clear error, and none of them takes effect: no file is read or written,
//! no table or view appears, no setting changes.

use crate::common;

use quarry_sql::{Error, QueryEngine};

/// Runs `sql` and describes it, expecting both to be refused as a statement that does more than
/// read, naming `what`.
async fn assert_refused(engine: &QueryEngine, sql: &str, what: &str) {
    let err = engine.sql(sql).await.unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "{sql}: {err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("statement refused: "),
        "{sql}: {message}"
    );
    assert!(message.contains(what), "{sql}: {message}");
    assert!(message.contains("CREATE CATALOG"), "{sql}: {message}");

    let err = engine.logical_plan(sql).await.unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "describe {sql}: {err:?}");
}

#[tokio::test]
async fn host_files_cannot_be_read_or_written_through_sql() {
    let (engine, _rt, _plugin) = common::engine_with_tpch().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.csv");
    std::fs::write(&secret, "a\n42\n").unwrap();
    let written = dir.path().join("out.csv");

    assert_refused(
        &engine,
        &format!(
            "CREATE EXTERNAL TABLE leak STORED AS CSV LOCATION '{}'",
            secret.display()
        ),
        "CreateExternalTable",
    )
    .await;
    assert_refused(
        &engine,
        &format!(
            "COPY (SELECT n_name FROM tpch.tiny.nation) TO '{}' STORED AS CSV",
            written.display()
        ),
        "COPY",
    )
    .await;

    assert!(!written.exists(), "COPY wrote {}", written.display());
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "a\n42\n");
    let err = engine.sql("SELECT * FROM leak").await.unwrap_err();
    assert!(err.to_string().contains("leak"), "{err}");
}

#[tokio::test]
async fn ddl_dml_and_settings_are_refused_and_change_nothing() {
    let (engine, _rt, _plugin) = common::engine_with_tpch().await;
    for (sql, what) in [
        ("CREATE TABLE t AS SELECT 1 AS x", "CreateMemoryTable"),
        ("CREATE VIEW v AS SELECT 1 AS x", "CreateView"),
        ("CREATE SCHEMA tpch.mine", "CreateCatalogSchema"),
        ("CREATE DATABASE mine", "CreateCatalog"),
        (
            "INSERT INTO tpch.tiny.region VALUES (9, 'X', 'y')",
            "DML not supported",
        ),
        ("SET datafusion.execution.batch_size = 1", "SetVariable"),
    ] {
        assert_refused(&engine, sql, what).await;
    }

    for missing in ["SELECT * FROM t", "SELECT * FROM v"] {
        assert!(
            engine.sql(missing).await.is_err(),
            "{missing} found a table"
        );
    }
    let (_, batches) = engine
        .sql(
            "SELECT value FROM information_schema.df_settings \
             WHERE name = 'datafusion.execution.batch_size'",
        )
        .await
        .unwrap();
    assert_eq!(common::strings(&batches), ["8192"]);
    // Reads still work: a query, EXPLAIN, DESCRIBE.
    let (_, batches) = engine
        .sql("SELECT count(*) FROM tpch.tiny.region")
        .await
        .unwrap();
    assert_eq!(common::strings(&batches), ["5"]);
    engine
        .sql("EXPLAIN SELECT * FROM tpch.tiny.region")
        .await
        .unwrap();
    engine.sql("DESCRIBE tpch.tiny.region").await.unwrap();
}
