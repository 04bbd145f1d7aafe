//! Why a connector call failed: the cases of the contract's `connector-error`, without their
//! messages (each side pairs a kind with a message in its own error type).

use std::fmt;

/// The kind of a failed connector call, as the connector classified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ConnectorErrorKind {
    /// The catalog properties are wrong (missing, malformed, or rejected by the source).
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

impl ConnectorErrorKind {
    /// The contract's name for this kind (`invalid-config`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorErrorKind::InvalidConfig => "invalid-config",
            ConnectorErrorKind::NotFound => "not-found",
            ConnectorErrorKind::Unsupported => "unsupported",
            ConnectorErrorKind::Io => "io",
            ConnectorErrorKind::Internal => "internal",
        }
    }
}

/// The kind as the host's messages phrase it (`invalid config`, `i/o error`).
impl fmt::Display for ConnectorErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectorErrorKind::InvalidConfig => "invalid config",
            ConnectorErrorKind::NotFound => "not found",
            ConnectorErrorKind::Unsupported => "unsupported",
            ConnectorErrorKind::Io => "i/o error",
            ConnectorErrorKind::Internal => "internal error",
        })
    }
}
