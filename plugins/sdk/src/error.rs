//! The error a connector returns from any call.

use std::fmt;

use quarry_contract::PredicateError;

use crate::ConfigIssue;

/// The kind of a [`ConnectorError`]: the contract's own, one case per case of its
/// `connector-error`.
pub use quarry_contract::ConnectorErrorKind as ErrorKind;

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

/// A predicate that is not a tree is a request the connector cannot serve.
impl From<PredicateError> for ConnectorError {
    fn from(err: PredicateError) -> Self {
        ConnectorError::unsupported(err.to_string())
    }
}

impl From<arrow_schema::ArrowError> for ConnectorError {
    fn from(err: arrow_schema::ArrowError) -> Self {
        ConnectorError::internal(format!("arrow: {err}"))
    }
}
