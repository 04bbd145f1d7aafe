//! [`ExpectedToken`]: the bearer-token check of both processes. The coordinator checks the admin
//! token and the cluster secret with it; a worker checks the cluster secret on the endpoint the
//! coordinator calls. A request without the token gets 401, one with the wrong token 403; the
//! comparison takes constant time and the token is never logged or printed.

use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

use crate::api_error::ApiError;

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
