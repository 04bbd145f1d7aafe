//! The statement timeout: a statement's rows must all be produced by its deadline; past it the
//! stream ends with an error (and is dropped, which stops the query's splits), never short.

use std::time::Duration;

use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;
use tokio::time::Instant;

/// The message a statement past its timeout fails with (PostgreSQL's words).
pub fn timeout_message(limit: Duration) -> String {
    format!(
        "canceling statement due to statement timeout ({limit:?}, the coordinator's statement_timeout)"
    )
}

/// `stream`, failing at `deadline` if it has not ended by then.
pub fn with_deadline(
    stream: SendableRecordBatchStream,
    deadline: Instant,
    limit: Duration,
) -> SendableRecordBatchStream {
    let schema = stream.schema();
    let timer = Box::pin(tokio::time::sleep_until(deadline));
    let rows = futures::stream::unfold(Some((stream, timer)), move |state| async move {
        let (mut stream, mut timer) = state?;
        tokio::select! {
            biased;
            item = stream.next() => item.map(|item| (item, Some((stream, timer)))),
            () = &mut timer => {
                tracing::warn!(timeout = ?limit, "statement timed out");
                Some((Err(DataFusionError::Execution(timeout_message(limit))), None))
            }
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, rows))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_schema::Schema;

    use super::*;

    #[tokio::test]
    async fn a_stream_past_its_deadline_ends_with_an_error() {
        let schema = Arc::new(Schema::empty());
        let never: SendableRecordBatchStream = Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::pending(),
        ));
        let limit = Duration::from_millis(100);
        let mut stream = with_deadline(never, Instant::now() + limit, limit);
        let error = stream.next().await.unwrap().unwrap_err().to_string();
        assert!(error.contains("statement timeout"), "{error}");
        assert!(stream.next().await.is_none());
    }
}
