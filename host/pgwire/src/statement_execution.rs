//! Runs one statement for a session and turns the result into a pgwire [`Response`]: rows for
//! queries (streamed, encoded batch by batch), CopyData for `COPY … TO STDOUT`
//! ([`CopyOut`]), the cursor statements against the session's cursors ([`SessionCursors`]), a
//! command tag for statements without rows.
//!
//! Cancellation: the runner's planning future and the row stream both race the session's
//! cancel signal; on a CancelRequest the stream is dropped (cancelling the query) and the
//! client gets `57014 canceling statement due to user request`. When the client disconnects,
//! the connection task ends and drops the stream with it.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_schema::DataType;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::scalar::ScalarValue;
use futures::{Stream, StreamExt, stream};
use pgwire::api::portal::Format;
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;

use crate::cancel_registry::{CancelWatch, SessionCancel};
use crate::connection_activity::{ConnectionActivity, StatementGuard};
use crate::copy_out::CopyOut;
use crate::cursor_statement::CursorStatement;
use crate::row_encoder::{RowEncoder, row_description};
use crate::session_cursors::SessionCursors;
use crate::session_settings::{ENGINE_PREFIX, SessionSettings};
use crate::session_statement::{SessionOutcome, SessionStatement};
use crate::{StatementError, StatementErrorCode, StatementRunner, StatementSession};

/// What a statement needs from its session.
#[derive(Debug, Clone)]
pub(crate) struct SessionState {
    /// The logged-in user statements run as.
    pub(crate) user: String,
    pub(crate) cancel: Arc<SessionCancel>,
    pub(crate) settings: Arc<SessionSettings>,
    pub(crate) cursors: Arc<SessionCursors>,
    /// Busy while a statement runs, so the idle timeout does not close the connection.
    pub(crate) activity: Arc<ConnectionActivity>,
}

impl SessionState {
    /// What the runner is told about the session, as it is now.
    pub(crate) fn statement_session(&self) -> StatementSession {
        StatementSession {
            user: self.user.clone(),
            engine_settings: self.settings.engine_settings(),
        }
    }
}

/// Runs `sql` and answers how the client should be told about it. `format` is the result
/// format per column (all text for the simple protocol).
pub(crate) async fn execute_statement(
    runner: &dyn StatementRunner,
    session: &SessionState,
    sql: &str,
    params: Vec<ScalarValue>,
    format: &Format,
) -> Result<Response, StatementError> {
    if let Some(statement) = SessionStatement::recognize(sql, &session.settings) {
        if let SessionStatement::Set { name, value } = &statement
            && name.starts_with(ENGINE_PREFIX)
        {
            runner.check_setting(name, value)?;
        }
        return Ok(match statement.answer(&session.settings) {
            SessionOutcome::Rows(batch) => {
                let schema = batch.schema();
                let batches = stream::iter([Ok(batch)]);
                let stream = Box::pin(RecordBatchStreamAdapter::new(schema, batches));
                query_response(stream, format, session.cancel.watch(), None)
            }
            SessionOutcome::Command(tag) => Response::Execution(Tag::new(tag)),
            SessionOutcome::TransactionStart => Response::TransactionStart(Tag::new("BEGIN")),
            SessionOutcome::TransactionEnd(tag) => {
                session.cursors.end_transaction();
                Response::TransactionEnd(Tag::new(tag))
            }
        });
    }
    if let Some(statement) = CursorStatement::recognize(sql) {
        return execute_cursor_statement(runner, session, statement?, params, format).await;
    }

    let copy = CopyOut::recognize(sql).transpose()?;
    let sql = copy.as_ref().map_or(sql, |copy| copy.query.as_str());
    let busy = session.activity.statement();
    let mut watch = session.cancel.watch();
    let statement_session = session.statement_session();
    let stream = tokio::select! {
        biased;
        () = watch.cancelled() => return Err(cancelled()),
        stream = runner.run(&statement_session, sql, params) => stream?,
    };
    if let Some(copy) = copy {
        return Ok(copy.response(stream, watch, busy));
    }
    let schema = stream.schema();
    if schema.fields().is_empty() {
        drain(stream, &mut watch).await?;
        return Ok(Response::Execution(Tag::new(&command_tag(sql))));
    }
    let keyword = first_keyword(sql);
    let is_count = schema.fields().len() == 1
        && schema.field(0).name() == "count"
        && schema.field(0).data_type() == &DataType::UInt64;
    if is_count && matches!(keyword.as_str(), "INSERT" | "UPDATE" | "DELETE") {
        let rows = drain(stream, &mut watch)
            .await?
            .iter()
            .flat_map(|batch| {
                batch
                    .column(0)
                    .as_primitive::<UInt64Type>()
                    .iter()
                    .flatten()
            })
            .sum::<u64>();
        let rows = usize::try_from(rows).unwrap_or(usize::MAX);
        let tag = Tag::new(&keyword).with_rows(rows);
        return Ok(Response::Execution(if keyword == "INSERT" {
            tag.with_oid(0)
        } else {
            tag
        }));
    }
    Ok(query_response(stream, format, watch, Some(busy)))
}

/// `DECLARE` runs its query and keeps the stream as a cursor; `FETCH` streams the cursor's
/// next rows; `MOVE` skips them; `CLOSE` drops the cursor, cancelling its query.
async fn execute_cursor_statement(
    runner: &dyn StatementRunner,
    session: &SessionState,
    statement: CursorStatement,
    params: Vec<ScalarValue>,
    format: &Format,
) -> Result<Response, StatementError> {
    match statement {
        CursorStatement::Declare(declaration) => {
            let _busy = session.activity.statement();
            let mut watch = session.cancel.watch();
            let statement_session = session.statement_session();
            let stream = tokio::select! {
                biased;
                () = watch.cancelled() => return Err(cancelled()),
                stream = runner.run(&statement_session, &declaration.query, params) => stream?,
            };
            session.cursors.declare(&declaration, stream)?;
            Ok(Response::Execution(Tag::new("DECLARE CURSOR")))
        }
        CursorStatement::Fetch {
            cursor,
            count,
            move_only: false,
        } => {
            let cursor = session.cursors.get(&cursor)?;
            let busy = session.activity.statement();
            Ok(Response::Query(cursor.fetch(
                count,
                format,
                session.cancel.watch(),
                busy,
            )))
        }
        CursorStatement::Fetch {
            cursor,
            count,
            move_only: true,
        } => {
            let cursor = session.cursors.get(&cursor)?;
            let _busy = session.activity.statement();
            let skipped = cursor.skip(count, session.cancel.watch()).await?;
            let skipped = usize::try_from(skipped).unwrap_or(usize::MAX);
            Ok(Response::Execution(Tag::new("MOVE").with_rows(skipped)))
        }
        CursorStatement::Close(cursor) => {
            session.cursors.close(cursor.as_deref())?;
            Ok(Response::Execution(Tag::new(if cursor.is_some() {
                "CLOSE CURSOR"
            } else {
                "CLOSE CURSOR ALL"
            })))
        }
    }
}

/// `busy` is held until the last row is sent or the rows are dropped.
fn query_response(
    stream: SendableRecordBatchStream,
    format: &Format,
    watch: CancelWatch,
    busy: Option<StatementGuard>,
) -> Response {
    let fields = Arc::new(row_description(&stream.schema(), format));
    let encoder = RowEncoder::new(fields);
    let row_fields = encoder.fields();
    let rows = data_rows(stream, encoder, watch).inspect(move |_| {
        let _ = &busy;
    });
    Response::Query(QueryResponse::new(row_fields, rows))
}

/// The rows of `stream`, ending early (and dropping the stream) on error or cancel.
pub(crate) fn data_rows(
    stream: SendableRecordBatchStream,
    encoder: RowEncoder,
    watch: CancelWatch,
) -> impl Stream<Item = PgWireResult<DataRow>> + Send + 'static {
    stream::unfold(Some((stream, encoder, watch)), |state| async move {
        let (mut stream, encoder, mut watch) = state?;
        let next = tokio::select! {
            biased;
            () = watch.cancelled() => return Some((Err(cancelled().into_pgwire()), None)),
            next = stream.next() => next?,
        };
        let rows = next
            .map_err(|error| StatementError::from_datafusion(&error).into_pgwire())
            .and_then(|batch| {
                encoder.encode(&batch).map_err(|error| {
                    StatementError::new(StatementErrorCode::Internal, error.to_string())
                        .into_pgwire()
                })
            });
        match rows {
            Ok(rows) => Some((Ok(rows), Some((stream, encoder, watch)))),
            Err(error) => Some((Err(error), None)),
        }
    })
    .flat_map(|rows: Result<Vec<DataRow>, PgWireError>| match rows {
        Ok(rows) => stream::iter(rows.into_iter().map(Ok)).left_stream(),
        Err(error) => stream::iter([Err(error)]).right_stream(),
    })
}

/// Runs a stream to its end (for statements whose rows are not sent).
async fn drain(
    mut stream: SendableRecordBatchStream,
    watch: &mut CancelWatch,
) -> Result<Vec<RecordBatch>, StatementError> {
    let mut batches = Vec::new();
    loop {
        let next = tokio::select! {
            biased;
            () = watch.cancelled() => return Err(cancelled()),
            next = stream.next() => next,
        };
        match next {
            Some(batch) => {
                batches.push(batch.map_err(|error| StatementError::from_datafusion(&error))?)
            }
            None => return Ok(batches),
        }
    }
}

fn cancelled() -> StatementError {
    StatementError::new(
        StatementErrorCode::Cancelled,
        "canceling statement due to user request",
    )
}

fn first_keyword(sql: &str) -> String {
    sql.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// The CommandComplete tag for a statement without rows, like PostgreSQL's: `CREATE TABLE`,
/// `DROP CATALOG`, `SET`, …
fn command_tag(sql: &str) -> String {
    const MODIFIERS: &[&str] = &[
        "OR",
        "REPLACE",
        "EXTERNAL",
        "TEMPORARY",
        "TEMP",
        "UNBOUNDED",
        "IF",
        "NOT",
        "EXISTS",
    ];
    let mut words = sql.split_whitespace().map(str::to_ascii_uppercase);
    let first = words.next().unwrap_or_default();
    if !matches!(first.as_str(), "CREATE" | "DROP" | "ALTER") {
        return first;
    }
    match words.find(|word| !MODIFIERS.contains(&word.as_str())) {
        Some(object) => format!("{first} {object}"),
        None => first,
    }
}

#[cfg(test)]
mod tests {
    use super::command_tag;

    #[test]
    fn command_tags_name_the_object() {
        assert_eq!(
            command_tag("create or replace view v as select 1"),
            "CREATE VIEW"
        );
        assert_eq!(command_tag("DROP CATALOG IF EXISTS sales"), "DROP CATALOG");
        assert_eq!(command_tag("set x = 1"), "SET");
    }
}
