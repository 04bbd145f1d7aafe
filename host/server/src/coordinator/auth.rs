//! Who a request to the coordinator is: the admin token for the control API, the cluster secret
//! for the endpoints workers call (both checked by the shared
//! [`ExpectedToken`](crate::expected_token::ExpectedToken)), and for `POST /v1/statement` and the
//! Flight SQL endpoint a SQL user ([`Principal`], [`sql_principal`]): the admin token as a bearer
//! token, or a configured user's name and password as HTTP Basic credentials (base64 with or
//! without padding).
//!
//! Which routes need which token is a column of the route table (`api/mod.rs`), so the router,
//! the OpenAPI document and docs/api.md cannot disagree. A request without a token gets 401; one
//! with the wrong token gets 403. Tokens are compared in constant time and never logged.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::api_error::ApiError;
use crate::coordinator::state::AppState;
use crate::coordinator::users::{ADMIN_USER, Principal, Role};

/// What a route requires of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, readiness, metrics, the OpenAPI document).
    Public,
    /// The admin token (the control API, reads included).
    Admin,
    /// The cluster secret (worker ↔ coordinator).
    Cluster,
    /// A SQL user: the admin token (bearer), or a user's password (HTTP Basic).
    Sql,
}

impl Access {
    /// The OpenAPI security schemes that open the route, any one of them (none: public).
    pub fn schemes(self) -> &'static [&'static str] {
        match self {
            Access::Public => &[],
            Access::Admin => &["admin_token"],
            Access::Cluster => &["cluster_secret"],
            Access::Sql => &["admin_token", "sql_user"],
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

/// Middleware for [`Access::Sql`] routes: puts the caller's [`Principal`] in the request's
/// extensions.
pub async fn require_sql_user(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let principal = sql_principal(&state, request.headers())?;
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

/// Basic credentials' base64: standard alphabet, padded or not (gRPC clients such as Go's
/// Flight client leave the padding out).
const BASIC_CREDENTIALS: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The SQL user a request's `Authorization` header names: a configured user's Basic
/// credentials, or the admin token as a bearer token. Everyone is an admin in dev mode without
/// users.
pub fn sql_principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    if state.sql_is_open() {
        return Ok(Principal::dev(""));
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(
            "SQL needs `Authorization: Basic <user:password>` (a configured user) or \
             `Authorization: Bearer <admin token>`"
                .to_owned(),
        ));
    };
    let value = value.to_str().unwrap_or_default();
    if let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    {
        let decoded = BASIC_CREDENTIALS
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "the Basic credentials are not base64 of user:password".to_owned(),
                )
            })?;
        let (user, password) = decoded.split_once(':').ok_or_else(|| {
            ApiError::Unauthorized(
                "the Basic credentials have no ':' between user and password".to_owned(),
            )
        })?;
        return state.users().authenticate(user, password).ok_or_else(|| {
            tracing::warn!(user, "HTTP SQL login failed");
            ApiError::Forbidden("wrong user name or password".to_owned())
        });
    }
    state.admin_token().check(headers)?;
    Ok(Principal {
        name: ADMIN_USER.to_owned(),
        role: Role::Admin,
    })
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
