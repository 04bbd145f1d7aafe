//! [`PgRunner`]: the coordinator's statements for the PostgreSQL wire protocol front end
//! (`quarry-pgwire`), the same path `POST /v1/statement` takes, catalog DDL included.

use arrow_schema::{DataType, SchemaRef};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::scalar::ScalarValue;
use quarry_pgwire::{StatementError, StatementErrorCode, StatementRunner};

use crate::coordinator::api_error::ApiError;
use crate::coordinator::sql::statement;
use crate::coordinator::state::AppState;

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
        sql: &str,
        params: Vec<ScalarValue>,
    ) -> Result<SendableRecordBatchStream, StatementError> {
        statement::run(&self.state, sql, params)
            .await
            .map_err(to_statement_error)
    }

    async fn describe(
        &self,
        sql: &str,
    ) -> Result<(SchemaRef, Vec<Option<DataType>>), StatementError> {
        statement::describe(&self.state, sql)
            .await
            .map_err(to_statement_error)
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
