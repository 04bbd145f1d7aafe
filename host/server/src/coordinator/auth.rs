//! Bearer-token checks: the admin token for the control API, the cluster secret for the
//! endpoints workers call.
//!
//! Which routes need which token is a column of the route table (`api/mod.rs`), so the router,
//! the OpenAPI document and docs/api.md cannot disagree. A request without a token gets 401; one
//! with the wrong token gets 403. Tokens are compared in constant time and never logged.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use crate::coordinator::api_error::ApiError;
use crate::coordinator::state::AppState;

/// What a route requires of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, readiness, metrics, the OpenAPI document).
    Public,
    /// The admin token (the control API, reads included).
    Admin,
    /// The cluster secret (worker ↔ coordinator).
    Cluster,
}

impl Access {
    /// The OpenAPI security scheme name, if any.
    pub fn scheme(self) -> Option<&'static str> {
        match self {
            Access::Public => None,
            Access::Admin => Some("admin_token"),
            Access::Cluster => Some("cluster_secret"),
        }
    }
}

/// A token the server expects: `None` means "dev mode without one": every caller passes.
#[derive(Clone)]
pub struct ExpectedToken {
    token: Option<Vec<u8>>,
    what: &'static str,
}

impl std::fmt::Debug for ExpectedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpectedToken")
            .field("what", &self.what)
            .field("set", &self.token.is_some())
            .finish()
    }
}

impl ExpectedToken {
    pub fn new(token: Option<&str>, what: &'static str) -> Self {
        ExpectedToken {
            token: token.map(|t| t.as_bytes().to_vec()),
            what,
        }
    }

    /// Checks the request's `Authorization: Bearer …` header.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(expected) = &self.token else {
            return Ok(());
        };
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthorized(format!(
                "this endpoint needs the {} as `Authorization: Bearer <token>`",
                self.what
            )));
        };
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthorized(format!(
                    "the Authorization header must be `Bearer <{}>`",
                    self.what
                ))
            })?;
        if bool::from(presented.as_bytes().ct_eq(expected)) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("wrong {}", self.what)))
        }
    }
}

/// Middleware for [`Access::Admin`] routes.
pub async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    state.admin_token().check(request.headers())?;
    Ok(next.run(request).await)
}

/// Middleware for [`Access::Cluster`] routes.
pub async fn require_cluster(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    state.cluster_secret().check(request.headers())?;
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn missing_wrong_and_right_tokens() {
        let expected = ExpectedToken::new(Some("t0ken"), "admin token");
        assert!(matches!(
            expected.check(&headers(None)),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            expected.check(&headers(Some("Basic abc"))),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            expected.check(&headers(Some("Bearer t0ke"))),
            Err(ApiError::Forbidden(_))
        ));
        assert!(expected.check(&headers(Some("Bearer t0ken"))).is_ok());
    }

    #[test]
    fn no_expected_token_lets_everyone_in() {
        let open = ExpectedToken::new(None, "admin token");
        assert!(open.check(&headers(None)).is_ok());
    }
}
