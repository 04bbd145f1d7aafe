//! The trait the front end runs statements through.

use arrow_schema::{DataType, SchemaRef};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::scalar::ScalarValue;

use crate::{StatementError, StatementErrorCode};

/// Runs statements for a PostgreSQL session. Implemented by the coordinator, which routes
/// `CREATE/ALTER/DROP CATALOG` itself and sends the rest to DataFusion.
///
/// The front end calls it once per statement: a simple-protocol query string holding several
/// statements is split here first, and session commands (`SET`, `SHOW` of PostgreSQL settings,
/// `BEGIN`/`COMMIT`, `select version()`) are answered without it. The trait is async and returns
/// a stream so rows flow to the client as they are produced; the front end drops the stream when
/// the client disconnects or sends a CancelRequest, so dropping it must cancel the query.
#[async_trait::async_trait]
pub trait StatementRunner: Send + Sync + std::fmt::Debug + 'static {
    /// Plans and runs one SQL statement in `session`: as its logged-in user (what the user may
    /// run is the runner's decision), with its engine settings. `params` are the values of `$1`, `$2`, … for the
    /// extended protocol (already decoded to the parameter types [`describe`] reported, or
    /// `Utf8` when it reported none) and empty for the simple protocol.
    ///
    /// A statement that returns no rows (DDL, `SET`) answers a stream with an empty schema; the
    /// client then sees a command tag made from the statement's leading keywords.
    ///
    /// [`describe`]: StatementRunner::describe
    async fn run(
        &self,
        session: &StatementSession,
        sql: &str,
        params: Vec<ScalarValue>,
    ) -> Result<SendableRecordBatchStream, StatementError>;

    /// The result schema of a statement without running it (extended protocol Parse/Describe),
    /// and the types of its `$n` parameters where known (`None` means the client sends text).
    /// Statements that return no rows answer an empty schema. An error here is reported to the
    /// client at Parse time, as PostgreSQL does.
    async fn describe(
        &self,
        session: &StatementSession,
        sql: &str,
    ) -> Result<(SchemaRef, Vec<Option<DataType>>), StatementError>;

    /// Whether a session may `SET name = value` for an engine setting (`datafusion.…`); the
    /// setting then applies to that session's statements only. By default none may.
    fn check_setting(&self, name: &str, _value: &str) -> Result<(), StatementError> {
        Err(StatementError::new(
            StatementErrorCode::NotSupported,
            format!("setting \"{name}\" cannot be changed"),
        ))
    }
}

/// The session a statement runs in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementSession {
    /// The logged-in user.
    pub user: String,
    /// The session's engine settings (`SET datafusion.… = …`), each accepted by
    /// [`StatementRunner::check_setting`] when it was set.
    pub engine_settings: Vec<(String, String)>,
}
