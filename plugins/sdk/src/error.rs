//! The error a connector returns from any call.

use std::fmt;

use crate::ConfigIssue;

/// The kind of a [`ConnectorError`]; one case per case of the contract's `connector-error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The catalog properties are wrong.
    InvalidConfig,
    /// A schema, table or column does not exist.
    NotFound,
    /// The request asks for something the connector does not do.
    Unsupported,
    /// The data source failed.
    Io,
    /// Anything else: a bug in the connector.
    Internal,
}

impl ErrorKind {
    /// The contract's name for this kind (`invalid-config`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidConfig => "invalid-config",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }
}

/// A failed connector call: a kind and a lowercase message that names the thing and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorError {
    pub kind: ErrorKind,
    pub message: String,
}

/// The result of every connector call.
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;

impl ConnectorError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidConfig, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl ConnectorError {
    /// One `invalid-config` error holding every problem `validate` would list, joined by `; `
    /// (for `open`, which returns one error).
    pub fn from_issues(issues: Vec<ConfigIssue>) -> Self {
        ConnectorError::invalid_config(
            issues
                .into_iter()
                .map(|i| i.message)
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for ConnectorError {}

impl From<arrow_schema::ArrowError> for ConnectorError {
    fn from(err: arrow_schema::ArrowError) -> Self {
        ConnectorError::internal(format!("arrow: {err}"))
    }
}
