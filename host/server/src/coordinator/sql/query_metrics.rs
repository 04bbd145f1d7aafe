//! [`QueryMetrics`]: how many statements are running and how the finished ones ended, for
//! `/metrics` and the coordinator's log, whatever the front end (HTTP or PostgreSQL).
//!
//! [`statement::run`](super::statement::run) wraps every result stream in a [`TrackedStream`].
//! The stream counts its rows and records one outcome: `succeeded` when it ends, `failed` at
//! its first error, `cancelled` when it is dropped before either (a client that went away,
//! psql's Ctrl-C). A statement that fails before it has a stream (a parse or planning error)
//! is `failed` too.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use futures::Stream;

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

/// The coordinator's statement counters; clones share them.
#[derive(Clone, Debug, Default)]
pub struct QueryMetrics {
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    running: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    rows: AtomicU64,
}

/// A reading of [`QueryMetrics`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryCounts {
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Rows returned to clients.
    pub rows: u64,
}

impl QueryMetrics {
    /// Counts `stream` as running until it ends or is dropped.
    pub fn track(&self, sql: &str, stream: SendableRecordBatchStream) -> SendableRecordBatchStream {
        self.counts.running.fetch_add(1, Ordering::Relaxed);
        Box::pin(TrackedStream {
            inner: stream,
            counts: Arc::clone(&self.counts),
            statement: summary(sql),
            started: Instant::now(),
            rows: 0,
            outcome: None,
        })
    }

    /// A statement that failed before it produced a stream.
    pub fn failed_to_start(&self, sql: &str, error: &dyn std::fmt::Display) {
        self.counts.failed.fetch_add(1, Ordering::Relaxed);
        tracing::info!(statement = %summary(sql), %error, "statement rejected");
    }

    pub fn counts(&self) -> QueryCounts {
        let c = &self.counts;
        QueryCounts {
            running: c.running.load(Ordering::Relaxed),
            succeeded: c.succeeded.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            cancelled: c.cancelled.load(Ordering::Relaxed),
            rows: c.rows.load(Ordering::Relaxed),
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
    statement: String,
    started: Instant,
    rows: u64,
    outcome: Option<Outcome>,
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
        match error {
            Some(error) => tracing::warn!(
                statement = %self.statement, rows = self.rows, ?took, %error,
                "statement failed"
            ),
            None => tracing::info!(
                statement = %self.statement, rows = self.rows, ?took,
                outcome = outcome.as_str(), "statement finished"
            ),
        }
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

        let mut ok = metrics.track("SELECT 1", stream(vec![Ok(batch(3)), Ok(batch(2))]));
        assert_eq!(metrics.counts().running, 1);
        while ok.next().await.is_some() {}
        drop(ok);

        let mut failing = metrics.track(
            "SELECT 2",
            stream(vec![
                Ok(batch(1)),
                Err(DataFusionError::Execution("boom".into())),
            ]),
        );
        while failing.next().await.is_some() {}
        drop(failing);

        let mut abandoned = metrics.track("SELECT 3", stream(vec![Ok(batch(4)), Ok(batch(4))]));
        assert!(abandoned.next().await.is_some());
        drop(abandoned);

        metrics.failed_to_start("SELEC 1", &"syntax error");

        assert_eq!(
            metrics.counts(),
            QueryCounts {
                running: 0,
                succeeded: 1,
                failed: 2,
                cancelled: 1,
                rows: 10,
            }
        );
    }

    #[test]
    fn the_log_gets_the_first_line_cut_short() {
        assert_eq!(summary("  SELECT 1\nFROM t  "), "SELECT 1");
        let long = "x".repeat(300);
        assert_eq!(summary(&long).chars().count(), 121);
    }
}
