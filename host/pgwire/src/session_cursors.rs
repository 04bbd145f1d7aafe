//! A session's open cursors (`DECLARE … CURSOR`): each holds its query's running stream, and
//! `FETCH n` pulls the next n rows through it, so a large result reaches the client a page at a
//! time while the plan runs, without being materialised anywhere.
//!
//! A `FETCH` answers its rows as a stream that takes the cursor only when the client is sent
//! them, so several statements in one simple query string run in order. Rows a batch had beyond
//! the count are kept for the next `FETCH`. A query that fails leaves its cursor failed: every
//! later `FETCH` repeats the error rather than answering a short result. `CLOSE`, the end of
//! the session and, for cursors without `WITH HOLD`, `COMMIT` or `ROLLBACK` drop the stream, which
//! cancels the query. A cursor's query runs within the statement timeout counted from its
//! `DECLARE`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::{Stream, StreamExt, stream};
use pgwire::api::portal::Format;
use pgwire::api::results::QueryResponse;
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;
use tokio::sync::Mutex as AsyncMutex;

use crate::cancel_registry::CancelWatch;
use crate::connection_activity::StatementGuard;
use crate::cursor_statement::{CursorDeclaration, FetchCount};
use crate::row_encoder::{RowEncoder, row_description};
use crate::{StatementError, StatementErrorCode};

/// The most cursors one session may hold open: each is a running query.
pub(crate) const MAX_OPEN_CURSORS: usize = 64;

/// The cursors of one session, by name.
#[derive(Debug, Default)]
pub(crate) struct SessionCursors {
    open: Mutex<HashMap<String, Arc<Cursor>>>,
}

/// One open cursor.
#[derive(Debug)]
pub(crate) struct Cursor {
    pub(crate) schema: SchemaRef,
    hold: bool,
    rows: Arc<AsyncMutex<CursorRows>>,
}

/// Where a cursor's query is.
enum CursorRows {
    Running {
        stream: SendableRecordBatchStream,
        /// Rows of the last batch a `FETCH` did not take.
        pending: Option<RecordBatch>,
    },
    Done,
    Failed(StatementError),
}

impl std::fmt::Debug for CursorRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CursorRows::Running { pending, .. } => f
                .debug_struct("Running")
                .field("pending_rows", &pending.as_ref().map(RecordBatch::num_rows))
                .finish(),
            CursorRows::Done => f.write_str("Done"),
            CursorRows::Failed(error) => f.debug_tuple("Failed").field(error).finish(),
        }
    }
}

impl CursorRows {
    /// Up to `limit` rows: the pending ones first, then the stream's next batch. `None` when
    /// the query has ended; the query's error, for this and every later call, when it failed.
    async fn next_batch(
        &mut self,
        limit: Option<u64>,
        watch: &mut CancelWatch,
    ) -> Result<Option<RecordBatch>, StatementError> {
        let batch = match self {
            CursorRows::Done => return Ok(None),
            CursorRows::Failed(error) => return Err(error.clone()),
            CursorRows::Running { stream, pending } => match pending.take() {
                Some(batch) => batch,
                None => {
                    let next = tokio::select! {
                        biased;
                        () = watch.cancelled() => Some(Err(cancelled())),
                        next = stream.next() => next.map(|batch| {
                            batch.map_err(|error| StatementError::from_datafusion(&error))
                        }),
                    };
                    match next {
                        Some(Ok(batch)) => batch,
                        Some(Err(error)) => {
                            *self = CursorRows::Failed(error.clone());
                            return Err(error);
                        }
                        None => {
                            *self = CursorRows::Done;
                            return Ok(None);
                        }
                    }
                }
            },
        };
        let rows = batch.num_rows() as u64;
        match limit {
            Some(limit) if limit < rows => {
                // `limit < rows`, and rows came from a usize.
                let take = usize::try_from(limit).unwrap_or(batch.num_rows());
                if let CursorRows::Running { pending, .. } = self {
                    *pending = Some(batch.slice(take, batch.num_rows() - take));
                }
                Ok(Some(batch.slice(0, take)))
            }
            _ => Ok(Some(batch)),
        }
    }
}

impl SessionCursors {
    /// Opens cursor `declaration.name` over `stream`, the running query.
    pub(crate) fn declare(
        &self,
        declaration: &CursorDeclaration,
        stream: SendableRecordBatchStream,
    ) -> Result<(), StatementError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.contains_key(&declaration.name) {
            return Err(StatementError::new(
                StatementErrorCode::DuplicateCursor,
                format!("cursor \"{}\" already exists", declaration.name),
            ));
        }
        if open.len() >= MAX_OPEN_CURSORS {
            return Err(StatementError::new(
                StatementErrorCode::LimitExceeded,
                format!(
                    "a session may hold at most {MAX_OPEN_CURSORS} open cursors; CLOSE one first"
                ),
            ));
        }
        tracing::debug!(cursor = %declaration.name, hold = declaration.hold, "cursor declared");
        open.insert(
            declaration.name.clone(),
            Arc::new(Cursor {
                schema: stream.schema(),
                hold: declaration.hold,
                rows: Arc::new(AsyncMutex::new(CursorRows::Running {
                    stream,
                    pending: None,
                })),
            }),
        );
        Ok(())
    }

    /// The open cursor `name`.
    pub(crate) fn get(&self, name: &str) -> Result<Arc<Cursor>, StatementError> {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or_else(|| {
                StatementError::new(
                    StatementErrorCode::UnknownCursor,
                    format!("cursor \"{name}\" does not exist"),
                )
            })
    }

    /// `CLOSE name`, or `CLOSE ALL` for `None`. Dropping a stream cancels its query.
    pub(crate) fn close(&self, name: Option<&str>) -> Result<(), StatementError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        match name {
            None => open.clear(),
            Some(name) => {
                if open.remove(name).is_none() {
                    return Err(StatementError::new(
                        StatementErrorCode::UnknownCursor,
                        format!("cursor \"{name}\" does not exist"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The transaction ended: its cursors without `WITH HOLD` close.
    pub(crate) fn end_transaction(&self) {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, cursor| cursor.hold);
    }
}

impl Cursor {
    /// `FETCH count`: the next rows, streamed as the client is sent them. `busy` is held
    /// until the last row is sent.
    pub(crate) fn fetch(
        &self,
        count: FetchCount,
        format: &Format,
        watch: CancelWatch,
        busy: StatementGuard,
    ) -> QueryResponse {
        let fields = Arc::new(row_description(&self.schema, format));
        let encoder = RowEncoder::new(fields.clone());
        let rows = fetched_rows(self.rows.clone(), count, encoder, watch, busy);
        let mut response = QueryResponse::new(fields, rows);
        response.set_command_tag("FETCH");
        response
    }

    /// `MOVE count`: skips rows without sending them; how many it skipped.
    pub(crate) async fn skip(
        &self,
        count: FetchCount,
        mut watch: CancelWatch,
    ) -> Result<u64, StatementError> {
        let mut rows = self.rows.lock().await;
        let mut skipped = 0;
        while !count.satisfied_by(skipped) {
            let limit = remaining(count, skipped);
            match rows.next_batch(limit, &mut watch).await? {
                Some(batch) => skipped += batch.num_rows() as u64,
                None => break,
            }
        }
        Ok(skipped)
    }
}

/// How many more rows `count` asks for after `taken`.
fn remaining(count: FetchCount, taken: u64) -> Option<u64> {
    match count {
        FetchCount::Rows(rows) => Some(rows.saturating_sub(taken)),
        FetchCount::All => None,
    }
}

/// What a `FETCH` stream carries from one batch to the next.
struct Fetching {
    rows: tokio::sync::OwnedMutexGuard<CursorRows>,
    count: FetchCount,
    taken: u64,
    encoder: RowEncoder,
    watch: CancelWatch,
    _busy: StatementGuard,
}

fn fetched_rows(
    rows: Arc<AsyncMutex<CursorRows>>,
    count: FetchCount,
    encoder: RowEncoder,
    watch: CancelWatch,
    busy: StatementGuard,
) -> impl Stream<Item = PgWireResult<DataRow>> + Send + 'static {
    let start = (rows, encoder, watch, busy);
    stream::once(async move {
        let (rows, encoder, watch, busy) = start;
        Fetching {
            rows: rows.lock_owned().await,
            count,
            taken: 0,
            encoder,
            watch,
            _busy: busy,
        }
    })
    .flat_map(|fetching| {
        stream::unfold(Some(fetching), |state| async move {
            let mut fetching = state?;
            if fetching.count.satisfied_by(fetching.taken) {
                return None;
            }
            let limit = remaining(fetching.count, fetching.taken);
            let encoded = match fetching.rows.next_batch(limit, &mut fetching.watch).await {
                Ok(None) => return None,
                Ok(Some(batch)) => {
                    fetching.taken += batch.num_rows() as u64;
                    fetching.encoder.encode(&batch).map_err(|error| {
                        StatementError::new(StatementErrorCode::Internal, error.to_string())
                    })
                }
                Err(error) => Err(error),
            };
            match encoded {
                Ok(rows) => Some((Ok(rows), Some(fetching))),
                Err(error) => Some((Err(error.into_pgwire()), None)),
            }
        })
    })
    .flat_map(|rows: PgWireResult<Vec<DataRow>>| match rows {
        Ok(rows) => stream::iter(rows.into_iter().map(Ok)).left_stream(),
        Err(error) => stream::iter([Err(error)]).right_stream(),
    })
}

fn cancelled() -> StatementError {
    StatementError::new(
        StatementErrorCode::Cancelled,
        "canceling statement due to user request",
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array};
    use arrow_schema::{DataType, Field, Schema};
    use datafusion::error::DataFusionError;
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

    use super::*;
    use crate::cancel_registry::SessionCancel;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]))
    }

    fn batch(values: std::ops::Range<i64>) -> RecordBatch {
        let column: ArrayRef = Arc::new(Int64Array::from_iter_values(values));
        RecordBatch::try_new(schema(), vec![column]).unwrap()
    }

    fn running(batches: Vec<datafusion::error::Result<RecordBatch>>) -> CursorRows {
        CursorRows::Running {
            stream: Box::pin(RecordBatchStreamAdapter::new(
                schema(),
                stream::iter(batches),
            )),
            pending: None,
        }
    }

    async fn take(rows: &mut CursorRows, limit: Option<u64>) -> Result<Vec<i64>, StatementError> {
        let mut watch = SessionCancel::new().watch();
        Ok(match rows.next_batch(limit, &mut watch).await? {
            Some(batch) => batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec(),
            None => Vec::new(),
        })
    }

    #[tokio::test]
    async fn rows_beyond_a_count_wait_for_the_next_fetch() {
        let mut rows = running(vec![Ok(batch(0..5)), Ok(batch(5..7))]);
        assert_eq!(take(&mut rows, Some(3)).await.unwrap(), vec![0, 1, 2]);
        assert_eq!(take(&mut rows, Some(10)).await.unwrap(), vec![3, 4]);
        assert_eq!(take(&mut rows, None).await.unwrap(), vec![5, 6]);
        assert_eq!(take(&mut rows, None).await.unwrap(), Vec::<i64>::new());
        assert!(matches!(rows, CursorRows::Done));
    }

    #[tokio::test]
    async fn a_failed_query_fails_every_later_fetch() {
        let mut rows = running(vec![
            Ok(batch(0..2)),
            Err(DataFusionError::Execution("worker w1 went away".into())),
        ]);
        assert_eq!(take(&mut rows, None).await.unwrap(), vec![0, 1]);
        for _ in 0..2 {
            let error = take(&mut rows, None).await.unwrap_err();
            assert!(error.message.contains("worker w1 went away"), "{error}");
        }
    }

    #[test]
    fn declare_close_and_transaction_end() {
        let cursors = SessionCursors::default();
        let declaration = |name: &str, hold| CursorDeclaration {
            name: name.into(),
            query: "select 1".into(),
            hold,
        };
        let stream = || -> SendableRecordBatchStream {
            Box::pin(RecordBatchStreamAdapter::new(schema(), stream::empty()))
        };
        cursors.declare(&declaration("a", false), stream()).unwrap();
        cursors.declare(&declaration("b", true), stream()).unwrap();
        let duplicate = cursors
            .declare(&declaration("a", false), stream())
            .unwrap_err();
        assert_eq!(duplicate.code, StatementErrorCode::DuplicateCursor);
        cursors.end_transaction();
        assert_eq!(
            cursors.get("a").unwrap_err().code,
            StatementErrorCode::UnknownCursor
        );
        assert!(
            cursors.get("b").is_ok(),
            "WITH HOLD outlives the transaction"
        );
        cursors.close(Some("b")).unwrap();
        assert_eq!(
            cursors.close(Some("b")).unwrap_err().code,
            StatementErrorCode::UnknownCursor
        );
        cursors.close(None).unwrap();
    }
}
