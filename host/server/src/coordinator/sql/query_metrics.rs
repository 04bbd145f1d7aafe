//! [`QueryMetrics`]: how many statements are running and how the finished ones ended, for
//! `/metrics` and the coordinator's log, whatever the front end (HTTP or PostgreSQL).
//!
//! [`statement::run`](super::statement::run) wraps every result stream in a [`TrackedStream`].
//! The stream counts its rows and records one outcome: `succeeded` when it ends, `failed` at
//! its first error, `cancelled` when it is dropped before either (a client that went away,
//! psql's Ctrl-C). A statement that fails before it has a stream (a parse or planning error)
//! is `failed` too.
//!
//! Each statement is also an entry of [`RecentQueries`]. When a distributed one ends, a task
//! waits for the workers' task metrics and adds what each stage moved between processes
//! ([`StageTraffic`]) to the entry, to the `quarry_stage_*_moved_total` counters and to the log.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use datafusion::physical_plan::ExecutionPlan;
use futures::Stream;

use crate::coordinator::sql::recent_queries::RecentQueries;
use crate::coordinator::sql::stage_traffic::{
    METRICS_WAIT, StagePlacements, StageTraffic, measure,
};

/// How a statement ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// The coordinator's statement counters and its recent statements; clones share them.
#[derive(Clone, Debug, Default)]
pub struct QueryMetrics {
    counts: Arc<Counts>,
    recent: RecentQueries,
}

/// A statement's physical plan as it was executed, and where its stages were routed: what
/// [`QueryMetrics`] reads the stage figures from once the statement ends.
#[derive(Debug)]
pub struct ExecutedPlan {
    pub plan: Arc<dyn ExecutionPlan>,
    pub placements: Arc<StagePlacements>,
}

#[derive(Debug, Default)]
struct Counts {
    running: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    rows: AtomicU64,
    moved: [Moved; 2],
}

/// Rows and bytes the stages sent to one kind of consumer ([`TO_COORDINATOR`] or
/// [`TO_WORKER`]).
#[derive(Debug, Default)]
struct Moved {
    rows: AtomicU64,
    bytes: AtomicU64,
}

const TO_COORDINATOR: usize = 0;
const TO_WORKER: usize = 1;

/// A reading of [`QueryMetrics`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryCounts {
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Rows returned to clients.
    pub rows: u64,
    /// Rows and bytes the last stages of distributed queries sent the coordinator.
    pub rows_to_coordinator: u64,
    pub bytes_to_coordinator: u64,
    /// Rows and bytes stages sent the stages after them, from worker to worker.
    pub rows_between_workers: u64,
    pub bytes_between_workers: u64,
}

impl QueryMetrics {
    /// Counts `stream`, `user`'s statement `sql`, as running until it ends or is dropped;
    /// then reads what the stages of `executed` moved, if it ran distributed.
    pub fn track(
        &self,
        user: &str,
        sql: &str,
        stream: SendableRecordBatchStream,
        executed: Option<ExecutedPlan>,
    ) -> SendableRecordBatchStream {
        self.counts.running.fetch_add(1, Ordering::Relaxed);
        let statement = summary(sql);
        let id = self.recent.started(user, &statement);
        Box::pin(TrackedStream {
            inner: stream,
            counts: Arc::clone(&self.counts),
            recent: self.recent.clone(),
            id,
            statement,
            started: Instant::now(),
            rows: 0,
            outcome: None,
            executed,
        })
    }

    /// `user`'s statement `sql` failed before it produced a stream.
    pub fn failed_to_start(&self, user: &str, sql: &str, error: &dyn std::fmt::Display) {
        self.counts.failed.fetch_add(1, Ordering::Relaxed);
        let statement = summary(sql);
        let id = self.recent.started(user, &statement);
        self.recent.finished(
            id,
            Outcome::Failed,
            Duration::ZERO,
            0,
            Some(error.to_string()),
        );
        tracing::info!(query = id, statement = %statement, %error, "statement rejected");
    }

    /// The statements running now and the last ones to finish, newest first.
    pub fn recent(&self) -> &RecentQueries {
        &self.recent
    }

    pub fn counts(&self) -> QueryCounts {
        let c = &self.counts;
        QueryCounts {
            running: c.running.load(Ordering::Relaxed),
            succeeded: c.succeeded.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            cancelled: c.cancelled.load(Ordering::Relaxed),
            rows: c.rows.load(Ordering::Relaxed),
            rows_to_coordinator: c.moved[TO_COORDINATOR].rows.load(Ordering::Relaxed),
            bytes_to_coordinator: c.moved[TO_COORDINATOR].bytes.load(Ordering::Relaxed),
            rows_between_workers: c.moved[TO_WORKER].rows.load(Ordering::Relaxed),
            bytes_between_workers: c.moved[TO_WORKER].bytes.load(Ordering::Relaxed),
        }
    }
}

impl Counts {
    fn add_moved(&self, stages: &[StageTraffic]) {
        for stage in stages {
            let moved = &self.moved[if stage.to.is_none() {
                TO_COORDINATOR
            } else {
                TO_WORKER
            }];
            moved.rows.fetch_add(stage.rows, Ordering::Relaxed);
            moved.bytes.fetch_add(stage.bytes, Ordering::Relaxed);
        }
    }
}

/// The statement's first line, cut to 120 characters, for the log; catalog DDL with its
/// property values redacted (they may be literal passwords).
fn summary(sql: &str) -> String {
    let redacted = quarry_sql::catalog_ddl::redacted(sql);
    let line = redacted.trim().lines().next().unwrap_or_default();
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// A result stream that records its outcome in [`QueryMetrics`].
struct TrackedStream {
    inner: SendableRecordBatchStream,
    counts: Arc<Counts>,
    recent: RecentQueries,
    id: u64,
    statement: String,
    started: Instant,
    rows: u64,
    outcome: Option<Outcome>,
    executed: Option<ExecutedPlan>,
}

impl TrackedStream {
    fn finish(&mut self, outcome: Outcome, error: Option<&DataFusionError>) {
        if self.outcome.is_some() {
            return;
        }
        self.outcome = Some(outcome);
        let counter = match outcome {
            Outcome::Succeeded => &self.counts.succeeded,
            Outcome::Failed => &self.counts.failed,
            Outcome::Cancelled => &self.counts.cancelled,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let took = self.started.elapsed();
        let id = self.id;
        match error {
            Some(error) => tracing::warn!(
                query = id, statement = %self.statement, rows = self.rows, ?took, %error,
                "statement failed"
            ),
            None => tracing::info!(
                query = id, statement = %self.statement, rows = self.rows, ?took,
                outcome = outcome.as_str(), "statement finished"
            ),
        }
        self.recent
            .finished(id, outcome, took, self.rows, error.map(ToString::to_string));
        if let Some(executed) = self.executed.take() {
            self.measure_stages(executed);
        }
    }

    /// Waits, in a task of its own, for the workers' task metrics of the executed plan, and
    /// records what its stages moved.
    fn measure_stages(&self, executed: ExecutedPlan) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let counts = Arc::clone(&self.counts);
        let recent = self.recent.clone();
        let id = self.id;
        runtime.spawn(async move {
            let measured =
                tokio::time::timeout(METRICS_WAIT, measure(&executed.plan, &executed.placements))
                    .await;
            let stages = match measured {
                Ok(Ok(stages)) => stages,
                Ok(Err(error)) => {
                    let reason = format!("the stage metrics could not be read: {error}");
                    tracing::warn!(query = id, %reason, "statement stages unknown");
                    recent.measured(id, Err(reason));
                    return;
                }
                Err(_) => {
                    let reason = format!(
                        "the workers' task metrics did not arrive within {}s",
                        METRICS_WAIT.as_secs()
                    );
                    tracing::info!(query = id, %reason, "statement stages unknown");
                    recent.measured(id, Err(reason));
                    return;
                }
            };
            if stages.is_empty() {
                return;
            }
            counts.add_moved(&stages);
            for stage in &stages {
                tracing::info!(
                    query = id,
                    stage = stage.stage,
                    tasks = stage.tasks,
                    to = %stage.consumer(),
                    workers = %stage.workers.join(","),
                    rows = stage.rows,
                    bytes = stage.bytes,
                    "stage moved"
                );
            }
            recent.measured(id, Ok(stages));
        });
    }
}

impl Stream for TrackedStream {
    type Item = Result<RecordBatch, DataFusionError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(batch))) => {
                let rows = u64::try_from(batch.num_rows()).unwrap_or(u64::MAX);
                self.rows += rows;
                self.counts.rows.fetch_add(rows, Ordering::Relaxed);
            }
            Poll::Ready(Some(Err(error))) => self.finish(Outcome::Failed, Some(error)),
            Poll::Ready(None) => self.finish(Outcome::Succeeded, None),
            Poll::Pending => {}
        }
        polled
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl RecordBatchStream for TrackedStream {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        self.finish(Outcome::Cancelled, None);
        self.counts.running.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use futures::StreamExt;

    use super::*;

    fn stream(items: Vec<Result<RecordBatch, DataFusionError>>) -> SendableRecordBatchStream {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter(items),
        ))
    }

    fn batch(n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..n))])
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn each_statement_ends_one_way() {
        let metrics = QueryMetrics::default();

        let mut ok = metrics.track(
            "u",
            "SELECT 1",
            stream(vec![Ok(batch(3)), Ok(batch(2))]),
            None,
        );
        assert_eq!(metrics.counts().running, 1);
        while ok.next().await.is_some() {}
        drop(ok);

        let mut failing = metrics.track(
            "u",
            "SELECT 2",
            stream(vec![
                Ok(batch(1)),
                Err(DataFusionError::Execution("boom".into())),
            ]),
            None,
        );
        while failing.next().await.is_some() {}
        drop(failing);

        let mut abandoned = metrics.track(
            "u",
            "SELECT 3",
            stream(vec![Ok(batch(4)), Ok(batch(4))]),
            None,
        );
        assert!(abandoned.next().await.is_some());
        drop(abandoned);

        metrics.failed_to_start("u", "SELEC 1", &"syntax error");

        assert_eq!(
            metrics.counts(),
            QueryCounts {
                running: 0,
                succeeded: 1,
                failed: 2,
                cancelled: 1,
                rows: 10,
                ..QueryCounts::default()
            }
        );
        let states: Vec<&str> = metrics.recent().records().iter().map(|r| r.state).collect();
        assert_eq!(states, ["failed", "cancelled", "failed", "succeeded"]);
    }

    #[test]
    fn the_log_gets_the_first_line_cut_short() {
        assert_eq!(summary("  SELECT 1\nFROM t  "), "SELECT 1");
        let long = "x".repeat(300);
        assert_eq!(summary(&long).chars().count(), 121);
    }
}
