//! The error a [`StatementRunner`](crate::StatementRunner) reports, and its SQLSTATE.

use datafusion::error::DataFusionError;
use pgwire::error::{ErrorInfo, PgWireError};

/// What kind of failure a statement hit; decides the SQLSTATE the client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementErrorCode {
    /// The SQL does not parse (`42601`).
    Syntax,
    /// A table, schema or column does not exist (`42P01`).
    NotFound,
    /// A catalog does not exist (`3D000`).
    CatalogNotFound,
    /// The statement is not valid for the objects it names, e.g. a type mismatch (`42000`).
    InvalidInput,
    /// A parameter or option value is invalid (`22023`).
    InvalidParameter,
    /// The object already exists or was changed concurrently (`42710`).
    Conflict,
    /// The statement uses something Quarry does not support (`0A000`).
    NotSupported,
    /// The query was cancelled, or ran past the statement timeout (`57014`).
    Cancelled,
    /// The session's user may not run this statement (`42501`).
    PermissionDenied,
    /// The statement is over a size limit (`54000`).
    LimitExceeded,
    /// No open cursor has the name (`34000`).
    UnknownCursor,
    /// A cursor of that name is already open (`42P03`).
    DuplicateCursor,
    /// Anything else (`XX000`).
    Internal,
}

impl StatementErrorCode {
    /// The PostgreSQL SQLSTATE for this kind of error.
    pub fn sqlstate(self) -> &'static str {
        match self {
            Self::Syntax => "42601",
            Self::NotFound => "42P01",
            Self::CatalogNotFound => "3D000",
            Self::InvalidInput => "42000",
            Self::InvalidParameter => "22023",
            Self::Conflict => "42710",
            Self::NotSupported => "0A000",
            Self::Cancelled => "57014",
            Self::PermissionDenied => "42501",
            Self::LimitExceeded => "54000",
            Self::UnknownCursor => "34000",
            Self::DuplicateCursor => "42P03",
            Self::Internal => "XX000",
        }
    }
}

/// A statement failed. The message is shown to the client as is (`ERROR:  <message>` in psql),
/// so it must not carry internals the client should not see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StatementError {
    pub code: StatementErrorCode,
    pub message: String,
}

impl StatementError {
    pub fn new(code: StatementErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Classifies a DataFusion error: parser errors are syntax errors, planning errors that
    /// name a missing object are not-found, other planning errors are invalid input.
    pub fn from_datafusion(error: &DataFusionError) -> Self {
        let message = error.to_string();
        let code = match error.find_root() {
            DataFusionError::SQL(..) => StatementErrorCode::Syntax,
            DataFusionError::SchemaError(..) => StatementErrorCode::NotFound,
            DataFusionError::Plan(plan) if plan.contains("not found") => {
                StatementErrorCode::NotFound
            }
            DataFusionError::Plan(..) => StatementErrorCode::InvalidInput,
            DataFusionError::NotImplemented(..) => StatementErrorCode::NotSupported,
            DataFusionError::Execution(message)
                if message.starts_with("canceling statement due to statement timeout") =>
            {
                StatementErrorCode::Cancelled
            }
            DataFusionError::Configuration(..) => StatementErrorCode::InvalidParameter,
            _ => StatementErrorCode::Internal,
        };
        Self::new(code, message)
    }

    /// The ErrorResponse fields sent to the client.
    pub(crate) fn to_error_info(&self) -> ErrorInfo {
        ErrorInfo::new(
            "ERROR".to_owned(),
            self.code.sqlstate().to_owned(),
            self.message.clone(),
        )
    }

    pub(crate) fn into_pgwire(self) -> PgWireError {
        PgWireError::UserError(Box::new(self.to_error_info()))
    }
}
