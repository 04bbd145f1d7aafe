//! [`ApiError`]: every way a call to the coordinator's control API or to a worker's endpoint
//! fails, mapped to one status code and a JSON body `{"error": {"code": "...", "message": "..."}}`,
//! and [`Issue`], one problem with a catalog definition, which such a body lists.
//!
//! Both processes answer HTTP with it, so it lives beside them, not in either. Store and runtime
//! errors convert into it with `?`. Each error kind maps to exactly one status; errors that are
//! the server's own fault (a database that fails, an engine that breaks) become a 500 with a
//! generic message, and their detail goes to the log, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quarry_runtime::ConnectorErrorKind;
use serde::Serialize;

/// One problem with a catalog definition, tied to a property where it is about one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// The property (or `grants.allowed_hosts`, …) the problem is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl Issue {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Issue {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

/// An error the API returns; see the module documentation.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed: bad JSON, a bad name, a bad plugin reference.
    #[error("{0}")]
    BadRequest(String),

    /// The catalog definition has problems; every one is listed.
    #[error("{message}")]
    InvalidCatalog { message: String, issues: Vec<Issue> },

    /// An uploaded component was refused (not a component, a core module, garbage).
    #[error("{0}")]
    InvalidComponent(String),

    /// An uploaded component speaks a contract version this coordinator cannot serve.
    #[error("{0}")]
    UnsupportedContract(String),

    /// The plugin a catalog names does not exist.
    #[error("{0}")]
    UnknownPlugin(String),

    /// The plugin misbehaved while validating (trap, limit, invalid output, an error other
    /// than invalid config).
    #[error("{0}")]
    PluginFailed(String),

    /// The request needs a bearer token and has none.
    #[error("{0}")]
    Unauthorized(String),

    /// The request's bearer token is not the right one.
    #[error("{0}")]
    Forbidden(String),

    /// The addressed thing does not exist.
    #[error("{0}")]
    NotFound(String),

    /// The change collides with the current state (a taken name, a stale generation).
    #[error("{0}")]
    Conflict(String),

    /// A query was valid but failed while running (a connector error, a lost worker).
    #[error("{0}")]
    QueryFailed(String),

    /// A plugin cannot be deleted while catalogs use it.
    #[error("{message}")]
    InUse {
        message: String,
        catalogs: Vec<String>,
    },

    /// The request body is larger than allowed.
    #[error("{0}")]
    PayloadTooLarge(String),

    /// The request body has a content type this endpoint does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),

    /// No route matches the path.
    #[error("no route for {0}")]
    RouteNotFound(String),

    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,

    /// The database cannot be reached (readiness).
    #[error("{0}")]
    Unavailable(String),

    /// The server's own fault; the detail is logged, the client sees a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The `error` object of a response body.
#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    issues: Option<&'a [Issue]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    catalogs: Option<&'a [String]>,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    error: ErrorBody<'a>,
}

impl ApiError {
    /// The status code and the stable machine-readable code of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::InvalidCatalog { .. } => (StatusCode::BAD_REQUEST, "invalid_catalog"),
            ApiError::InvalidComponent(_) => (StatusCode::BAD_REQUEST, "invalid_component"),
            ApiError::UnsupportedContract(_) => (StatusCode::BAD_REQUEST, "unsupported_contract"),
            ApiError::UnknownPlugin(_) => (StatusCode::BAD_REQUEST, "unknown_plugin"),
            ApiError::PluginFailed(_) => (StatusCode::UNPROCESSABLE_ENTITY, "plugin_failed"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::InUse { .. } => (StatusCode::CONFLICT, "in_use"),
            ApiError::QueryFailed(_) => (StatusCode::UNPROCESSABLE_ENTITY, "query_failed"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::RouteNotFound(_) => (StatusCode::NOT_FOUND, "route_not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error; see the coordinator's log".to_owned()
            }
            ApiError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "not ready");
                "the catalog database is not reachable".to_owned()
            }
            other => other.to_string(),
        };
        let (issues, catalogs) = match &self {
            ApiError::InvalidCatalog { issues, .. } => (Some(issues.as_slice()), None),
            ApiError::InUse { catalogs, .. } => (None, Some(catalogs.as_slice())),
            _ => (None, None),
        };
        let body = ErrorEnvelope {
            error: ErrorBody {
                code,
                message,
                issues,
                catalogs,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"quarry\""),
            );
        }
        response
    }
}

impl From<quarry_store::Error> for ApiError {
    fn from(error: quarry_store::Error) -> Self {
        use quarry_store::Error as E;
        match error {
            E::NotFound { .. } => ApiError::NotFound(error.to_string()),
            E::Conflict(message) => ApiError::Conflict(message),
            E::InUse { ref catalogs, .. } => ApiError::InUse {
                catalogs: catalogs.clone(),
                message: error.to_string(),
            },
            E::InvalidName { .. } => ApiError::BadRequest(error.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<quarry_runtime::Error> for ApiError {
    fn from(error: quarry_runtime::Error) -> Self {
        use quarry_runtime::Error as E;
        match error {
            E::InvalidComponent { .. } => ApiError::InvalidComponent(error.to_string()),
            E::UnsupportedContract { .. } => ApiError::UnsupportedContract(error.to_string()),
            E::InvalidCatalog { .. } => ApiError::InvalidCatalog {
                message: error.to_string(),
                issues: Vec::new(),
            },
            E::Connector {
                kind: ConnectorErrorKind::InvalidConfig,
                ..
            } => ApiError::InvalidCatalog {
                message: error.to_string(),
                issues: Vec::new(),
            },
            E::Connector { .. }
            | E::DeadlineExceeded { .. }
            | E::MemoryLimit { .. }
            | E::StackOverflow { .. }
            | E::Trap { .. }
            | E::InvalidOutput { .. }
            | E::Instantiate { .. }
            | E::InvalidRequest { .. } => ApiError::PluginFailed(error.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// `Result` with [`ApiError`].
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_are_hidden() {
        let error: ApiError = quarry_store::Error::Database(sqlx::Error::PoolClosed).into();
        let (status, code) = error.status_and_code();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(code, "internal");
    }
}
