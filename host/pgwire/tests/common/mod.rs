//! The test fixture: a [`StatementRunner`] over a DataFusion `SessionContext` with an in-memory
//! `people` table, and a server on `127.0.0.1:0` running it.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow_array::{
    BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use futures::StreamExt;
use quarry_pgwire::{
    PgConfig, StatementError, StatementErrorCode, StatementRunner, StatementSession,
};
use tokio::sync::oneshot;

/// Runs statements on a DataFusion session; `select pg_sleep_forever()` returns a stream that
/// never yields, and records when it is started and dropped; `select rows_then_wait()` yields
/// 100,000 rows and then nothing, forever.
pub struct SessionRunner {
    ctx: SessionContext,
    pub sleep_started: Arc<AtomicBool>,
    pub sleep_dropped: Arc<AtomicBool>,
}

impl std::fmt::Debug for SessionRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRunner").finish_non_exhaustive()
    }
}

impl SessionRunner {
    pub fn new() -> Self {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("score", DataType::Float64, true),
            Field::new("balance", DataType::Decimal128(10, 2), true),
            Field::new("born", DataType::Date32, true),
            Field::new(
                "seen",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                true,
            ),
            Field::new("active", DataType::Boolean, true),
            Field::new("photo", DataType::Binary, true),
        ]));
        // 2024-01-15 is day 19737 after 1970-01-01.
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec!["alice", "bob", "carol"])),
                Arc::new(Float64Array::from(vec![Some(1.5), None, Some(-2.25)])),
                Arc::new(
                    Decimal128Array::from(vec![Some(1250), Some(-5), None])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
                Arc::new(Date32Array::from(vec![Some(19737), None, Some(0)])),
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(1_705_314_600_500_000),
                    None,
                    Some(0),
                ])),
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
                Arc::new(BinaryArray::from(vec![
                    Some(&[1u8, 2][..]),
                    None,
                    Some(&[255u8][..]),
                ])),
            ],
        )
        .unwrap();
        let ctx = SessionContext::new();
        ctx.register_table(
            "people",
            Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
        )
        .unwrap();
        Self {
            ctx,
            sleep_started: Arc::new(AtomicBool::new(false)),
            sleep_dropped: Arc::new(AtomicBool::new(false)),
        }
    }

    /// One row, one text column: what the front end told the runner about the session.
    fn one_text(&self, column: &str, value: &str) -> SendableRecordBatchStream {
        let schema = Arc::new(Schema::new(vec![Field::new(column, DataType::Utf8, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec![value]))],
        )
        .unwrap();
        Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter([Ok(batch)]),
        ))
    }

    fn sleep_forever(&self) -> SendableRecordBatchStream {
        struct SetOnDrop(Arc<AtomicBool>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        self.sleep_started.store(true, Ordering::SeqCst);
        let guard = SetOnDrop(self.sleep_dropped.clone());
        let schema = Arc::new(Schema::new(vec![Field::new(
            "slept",
            DataType::Int64,
            true,
        )]));
        let never = futures::stream::pending().map(move |batch| {
            let _ = &guard;
            batch
        });
        Box::pin(RecordBatchStreamAdapter::new(schema, never))
    }
}

/// 100,000 rows (1, 2, …; more than a connection buffers before it writes), then a stream that
/// never ends: what a long query looks like to a client that should see its first rows while it
/// runs.
fn rows_then_wait() -> SendableRecordBatchStream {
    let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int64Array::from_iter_values(1..=100_000))],
    )
    .unwrap();
    let rows = futures::stream::iter([Ok(batch)]).chain(futures::stream::pending());
    Box::pin(RecordBatchStreamAdapter::new(schema, rows))
}

fn df_error(error: datafusion::error::DataFusionError) -> StatementError {
    StatementError::from_datafusion(&error)
}

#[async_trait::async_trait]
impl StatementRunner for SessionRunner {
    async fn run(
        &self,
        session: &StatementSession,
        sql: &str,
        params: Vec<ScalarValue>,
    ) -> Result<SendableRecordBatchStream, StatementError> {
        if sql.eq_ignore_ascii_case("select current_user") {
            return Ok(self.one_text("current_user", &session.user));
        }
        if sql.eq_ignore_ascii_case("select engine_settings()") {
            let settings: Vec<String> = session
                .engine_settings
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            return Ok(self.one_text("engine_settings", &settings.join(",")));
        }
        if sql.eq_ignore_ascii_case("select pg_sleep_forever()") {
            return Ok(self.sleep_forever());
        }
        if sql.eq_ignore_ascii_case("select rows_then_wait()") {
            return Ok(rows_then_wait());
        }
        let mut plan = self
            .ctx
            .state()
            .create_logical_plan(sql)
            .await
            .map_err(df_error)?;
        if !params.is_empty() {
            plan = plan.with_param_values(params).map_err(df_error)?;
        }
        let frame = self
            .ctx
            .execute_logical_plan(plan)
            .await
            .map_err(df_error)?;
        frame.execute_stream().await.map_err(df_error)
    }

    async fn describe(
        &self,
        _session: &StatementSession,
        sql: &str,
    ) -> Result<(SchemaRef, Vec<Option<DataType>>), StatementError> {
        if sql.eq_ignore_ascii_case("select rows_then_wait()") {
            return Ok((rows_then_wait().schema(), Vec::new()));
        }
        let plan = self
            .ctx
            .state()
            .create_logical_plan(sql)
            .await
            .map_err(df_error)?;
        let named = plan.get_parameter_types().map_err(df_error)?;
        let mut types = Vec::new();
        for (name, data_type) in named {
            let index: usize = name.trim_start_matches('$').parse().unwrap();
            if types.len() < index {
                types.resize(index, None);
            }
            types[index - 1] = data_type;
        }
        Ok((Arc::new(plan.schema().as_arrow().clone()), types))
    }

    /// A session may change the batch size, and nothing else.
    fn check_setting(&self, name: &str, _value: &str) -> Result<(), StatementError> {
        if name == "datafusion.execution.batch_size" {
            Ok(())
        } else {
            Err(StatementError::new(
                StatementErrorCode::InvalidParameter,
                format!("setting \"{name}\" cannot be changed per session"),
            ))
        }
    }
}

/// A running server; dropping it shuts the server down.
pub struct TestServer {
    pub port: u16,
    pub runner: Arc<SessionRunner>,
    _shutdown: oneshot::Sender<()>,
}

pub async fn start_server() -> TestServer {
    start_server_with(PgConfig::default()).await
}

/// A server with these settings (authentication, limits).
pub async fn start_server_with(config: PgConfig) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let runner = Arc::new(SessionRunner::new());
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(quarry_pgwire::serve(
        listener,
        runner.clone(),
        config,
        async move {
            let _ = stopped.await;
        },
    ));
    TestServer {
        port,
        runner,
        _shutdown: shutdown,
    }
}

/// A tokio-postgres client of the server on `port` (trust authentication), its connection
/// driven in the background.
pub async fn connect(port: u16) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=quarry dbname=quarry"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client
}

/// Whether `flag` is set within `limit` (looked at every 20 ms).
pub async fn becomes_set(flag: &AtomicBool, limit: std::time::Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while !flag.load(Ordering::SeqCst) {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    true
}
