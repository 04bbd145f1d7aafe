//! [`PgRunner`]: the coordinator's statements for the PostgreSQL wire protocol front end
//! (`quarry-pgwire`), the same path `POST /v1/statement` takes, catalog DDL included. Clients'
//! queries of PostgreSQL's own catalog are rewritten first (`quarry_sql::client_sql_rewrite`).

use arrow_schema::{DataType, SchemaRef};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::scalar::ScalarValue;
use quarry_pgwire::{StatementError, StatementErrorCode, StatementRunner, StatementSession};
use quarry_sql::{check_session_setting, rewrite_client_sql};

use crate::api_error::ApiError;
use crate::coordinator::sql::statement;
use crate::coordinator::state::AppState;
use crate::coordinator::users::Principal;

/// Runs psql's and JDBC's statements on the coordinator.
#[derive(Debug, Clone)]
pub struct PgRunner {
    state: AppState,
}

impl PgRunner {
    pub fn new(state: AppState) -> Self {
        PgRunner { state }
    }
}

#[async_trait::async_trait]
impl StatementRunner for PgRunner {
    async fn run(
        &self,
        session: &StatementSession,
        sql: &str,
        params: Vec<ScalarValue>,
    ) -> Result<SendableRecordBatchStream, StatementError> {
        let user = self.principal(&session.user)?;
        let options = self.state.query_options(&session.engine_settings);
        let sql = rewrite_client_sql(sql);
        statement::run(&self.state, &user, &options, &sql, params)
            .await
            .map_err(to_statement_error)
    }

    async fn describe(
        &self,
        session: &StatementSession,
        sql: &str,
    ) -> Result<(SchemaRef, Vec<Option<DataType>>), StatementError> {
        let user = self.principal(&session.user)?;
        statement::describe(&self.state, &user, &rewrite_client_sql(sql))
            .await
            .map_err(to_statement_error)
    }

    /// The settings of `quarry_sql::query_options::SESSION_SETTINGS`, with sensible values.
    fn check_setting(&self, name: &str, value: &str) -> Result<(), StatementError> {
        check_session_setting(name, value)
            .map_err(|reason| StatementError::new(StatementErrorCode::InvalidParameter, reason))
    }
}

impl PgRunner {
    /// The session's user with its role. SCRAM proved the name; without users (dev mode on
    /// loopback) everyone is an admin.
    fn principal(&self, user: &str) -> Result<Principal, StatementError> {
        if self.state.sql_is_open() {
            return Ok(Principal::dev(user));
        }
        let role = self.state.users().role(user).ok_or_else(|| {
            StatementError::new(
                StatementErrorCode::PermissionDenied,
                format!("user \"{user}\" is not configured"),
            )
        })?;
        Ok(Principal {
            name: user.to_owned(),
            role,
        })
    }
}

/// An API error as the SQLSTATE class a PostgreSQL client expects.
fn to_statement_error(error: ApiError) -> StatementError {
    let code = match &error {
        ApiError::BadRequest(_) | ApiError::InvalidCatalog { .. } | ApiError::UnknownPlugin(_) => {
            StatementErrorCode::InvalidInput
        }
        ApiError::NotFound(_) => StatementErrorCode::NotFound,
        ApiError::Conflict(_) | ApiError::InUse { .. } => StatementErrorCode::Conflict,
        ApiError::Forbidden(_) | ApiError::Unauthorized(_) => StatementErrorCode::PermissionDenied,
        ApiError::PayloadTooLarge(_) => StatementErrorCode::LimitExceeded,
        ApiError::QueryFailed(message) if message.contains("statement timeout") => {
            StatementErrorCode::Cancelled
        }
        _ => StatementErrorCode::Internal,
    };
    let message = match &error {
        // Internal detail stays in the coordinator's log, as over HTTP.
        ApiError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error in a pg statement");
            "internal error; see the coordinator's log".to_owned()
        }
        other => other.to_string(),
    };
    StatementError::new(code, message)
}
