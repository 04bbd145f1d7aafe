//! `POST /v1/statement` (run one SQL statement), `GET /v1/scans` (what recent scans asked
//! their connectors for) and `GET /v1/queries` (the recent statements and what their stages
//! moved).
//!
//! The body is `{"sql": "..."}` (or the SQL itself as `text/plain`). The answer is JSON (see
//! `sql/result_json.rs`), or an Arrow IPC stream when the request's `Accept` names
//! `application/vnd.apache.arrow.stream`: then batches go out as they are computed. A client
//! that disconnects cancels the query: the result stream is dropped, which stops every split on
//! the workers.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use datafusion::execution::SendableRecordBatchStream;
use futures::TryStreamExt;
use quarry_runtime::Pushdown;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api_error::{ApiError, ApiResult};
use crate::coordinator::api::catalogs::parse_json;
use crate::coordinator::sql::{result_json, statement};
use crate::coordinator::state::AppState;
use crate::coordinator::users::Principal;

/// The media type of an Arrow IPC stream.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// The body of `POST /v1/statement`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub sql: String,
}

/// `POST /v1/statement`.
pub async fn run(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let sql = statement_text(&headers, body)?;
    let options = state.query_options(&[]);
    let stream = statement::run(&state, &user, &options, &sql, Vec::new()).await?;
    let wants_arrow = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(ARROW_STREAM));
    if wants_arrow {
        return Ok(arrow_response(stream));
    }
    let schema = stream.schema();
    let batches: Vec<_> = stream.try_collect().await.map_err(statement::df_error)?;
    let json = result_json::to_json(&schema, &batches)
        .map_err(|e| ApiError::Internal(format!("cannot render the result: {e}")))?;
    Ok(Json(json).into_response())
}

fn statement_text(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> ApiResult<String> {
    let is_text = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/plain"));
    let sql = if is_text {
        let bytes = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::BadRequest("the statement is not UTF-8".to_owned()))?
    } else {
        parse_json::<Statement>(body)?.sql
    };
    if sql.trim().is_empty() {
        return Err(ApiError::BadRequest("the statement is empty".to_owned()));
    }
    Ok(sql)
}

/// The result as an Arrow IPC stream, batch by batch.
fn arrow_response(stream: SendableRecordBatchStream) -> Response {
    use arrow_ipc::writer::StreamWriter;
    let schema = stream.schema();
    let writer = StreamWriter::try_new(Vec::new(), &schema);
    let body = futures::stream::unfold(Some((writer, stream, true)), |state| async move {
        let (writer, mut stream, first) = state?;
        let mut writer = match writer {
            Ok(writer) => writer,
            Err(e) => return Some((Err(std::io::Error::other(e)), None)),
        };
        if first {
            // The schema message, written when the writer was made.
            let head = std::mem::take(writer.get_mut());
            return Some((Ok(Bytes::from(head)), Some((Ok(writer), stream, false))));
        }
        let step = match stream.try_next().await {
            Ok(Some(batch)) => writer.write(&batch).map(|()| false),
            Ok(None) => writer.finish().map(|()| true),
            Err(e) => {
                tracing::warn!(error = %e, "query failed while streaming Arrow");
                return Some((Err(std::io::Error::other(e)), None));
            }
        };
        match step {
            Ok(done) => {
                let bytes = Bytes::from(std::mem::take(writer.get_mut()));
                let next = (!done).then_some((Ok(writer), stream, false));
                Some((Ok(bytes), next))
            }
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    });
    (
        [(header::CONTENT_TYPE, ARROW_STREAM)],
        Body::from_stream(body),
    )
        .into_response()
}

/// `GET /v1/scans`.
pub async fn recent_scans(State(state): State<AppState>) -> Json<Value> {
    let scans: Vec<Value> = state
        .engine()
        .catalogs()
        .scan_log()
        .records()
        .into_iter()
        .map(|record| {
            let filters: Vec<&str> = record
                .pushdown
                .iter()
                .map(|p| match p {
                    Pushdown::Exact => "exact",
                    Pushdown::Inexact => "inexact",
                    Pushdown::Unsupported => "unsupported",
                })
                .collect();
            json!({
                "catalog": record.catalog,
                "generation": record.generation,
                "schema": record.request.schema,
                "table": record.request.table,
                "projection": record.request.projection,
                "filters": filters,
                "limit": record.request.limit,
                "splits": record.splits,
            })
        })
        .collect();
    Json(json!({ "scans": scans }))
}

/// `GET /v1/queries`.
pub async fn recent_queries(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "queries": state.query_metrics().recent().records() }))
}
