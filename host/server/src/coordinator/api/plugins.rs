//! `/v1/plugins`: uploading connector components, reading them back, deleting them, and serving
//! their bytes to workers.
//!
//! An upload is the raw component (`Content-Type: application/wasm`). Its name and version come
//! from the component's own spec, read by loading it in the sandbox before anything is stored, so
//! what is stored is always a component this coordinator can run. Plugins are immutable: the same
//! `name@version` with the same bytes again is a no-op (200), with other bytes a conflict (409).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use quarry_store::{ConfigField, NewPlugin, Plugin};
use serde::Serialize;

use crate::api_error::{ApiError, ApiResult};
use crate::coordinator::state::AppState;

/// A plugin as the API shows it.
#[derive(Debug, Serialize)]
pub struct PluginResponse {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub size: u64,
    pub contract_version: String,
    pub description: String,
    pub config: Vec<ConfigField>,
    pub uploaded_at: chrono::DateTime<chrono::Utc>,
}

impl From<Plugin> for PluginResponse {
    fn from(plugin: Plugin) -> Self {
        PluginResponse {
            name: plugin.name,
            version: plugin.version,
            sha256: plugin.sha256,
            size: plugin.size,
            contract_version: plugin.contract_version,
            description: plugin.description,
            config: plugin.config_fields,
            uploaded_at: plugin.uploaded_at,
        }
    }
}

/// A list of plugins.
#[derive(Debug, Serialize)]
pub struct PluginList {
    pub plugins: Vec<PluginResponse>,
}

/// `POST /v1/plugins`.
pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/wasm") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "upload the component as raw bytes with Content-Type: application/wasm (got \"{content_type}\")"
        )));
    }
    let bytes = read_limited(&headers, body, state.max_plugin_size()).await?;
    if bytes.is_empty() {
        return Err(ApiError::InvalidComponent(
            "invalid component: the request body is empty".to_owned(),
        ));
    }

    let loaded = state.runtime().load_plugin(bytes.clone()).await?;
    let info = loaded.info();
    let new = NewPlugin {
        name: info.spec.name.clone(),
        version: info.spec.version.clone(),
        contract_version: info.contract.to_string(),
        config_fields: info
            .spec
            .config
            .iter()
            .map(|field| ConfigField {
                name: field.name.clone(),
                doc: field.doc.clone(),
                required: field.required,
                secret: field.secret,
                default_value: field.default_value.clone(),
            })
            .collect(),
        description: info.spec.description.clone(),
    };
    let sha256 = info.sha256.clone();

    let store = state.store();
    let created = match store.get_plugin(&new.name, &new.version).await {
        Ok(existing) => return same_or_conflict(existing, &sha256),
        Err(quarry_store::Error::NotFound { .. }) => store.create_plugin(&new, &bytes).await,
        Err(other) => return Err(other.into()),
    };
    match created {
        Ok(plugin) => {
            state.remember_loaded(&loaded);
            tracing::info!(plugin = %plugin.reference(), sha256 = %plugin.sha256, size = plugin.size, pre_initialized = info.pre_initialized, "plugin uploaded");
            Ok((StatusCode::CREATED, Json(PluginResponse::from(plugin))).into_response())
        }
        // Uploaded concurrently by someone else.
        Err(quarry_store::Error::Conflict(_)) => {
            let existing = store.get_plugin(&new.name, &new.version).await?;
            same_or_conflict(existing, &sha256)
        }
        Err(other) => Err(other.into()),
    }
}

/// An upload of a `name@version` that exists: fine if the bytes are the same.
fn same_or_conflict(existing: Plugin, sha256: &str) -> ApiResult<Response> {
    if existing.sha256 == sha256 {
        return Ok((StatusCode::OK, Json(PluginResponse::from(existing))).into_response());
    }
    Err(ApiError::Conflict(format!(
        "plugin \"{}\" already exists with other bytes (sha256 {}, this upload {sha256}); \
         plugins are immutable: give the new build a new version",
        existing.reference(),
        existing.sha256
    )))
}

/// Reads at most `max` bytes of `body`: refuses at once when `Content-Length` says it is larger,
/// and stops reading (without buffering the rest) when a body without one runs over.
async fn read_limited(headers: &HeaderMap, body: Body, max: u64) -> ApiResult<Vec<u8>> {
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the component is larger than the maximum of {max} bytes"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(too_large());
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(error) => Err(ApiError::BadRequest(format!(
            "could not read the request body: {error}"
        ))),
    }
}

/// `GET /v1/plugins`.
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<PluginList>> {
    let plugins = state.store().list_plugins().await?;
    Ok(Json(PluginList {
        plugins: plugins.into_iter().map(PluginResponse::from).collect(),
    }))
}

/// `GET /v1/plugins/{name}`.
pub async fn list_versions(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<PluginList>> {
    let plugins = state.store().list_plugin_versions(&name).await?;
    if plugins.is_empty() {
        return Err(ApiError::NotFound(format!("plugin \"{name}\" not found")));
    }
    Ok(Json(PluginList {
        plugins: plugins.into_iter().map(PluginResponse::from).collect(),
    }))
}

/// `GET /v1/plugins/{name}/{version}`.
pub async fn get(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Json<PluginResponse>> {
    let plugin = state.store().get_plugin(&name, &version).await?;
    Ok(Json(plugin.into()))
}

/// `DELETE /v1/plugins/{name}/{version}`.
pub async fn delete(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let plugin = state.store().get_plugin(&name, &version).await?;
    state.store().delete_plugin(&name, &version).await?;
    state.forget_loaded(&plugin.sha256);
    tracing::info!(plugin = %plugin.reference(), "plugin deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/plugins/by-sha256/{sha256}/component`.
pub async fn component(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
) -> ApiResult<Response> {
    let bytes = state.store().plugin_component(&sha256).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/wasm")],
        Body::from(bytes),
    )
        .into_response())
}

/// `GET /v1/plugins/artifact-key`: the public key artifact bundles are signed with (hex).
pub async fn artifact_key(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "public_key": hex::encode(state.runtime().artifact_public_key()),
    }))
}

/// The query of `GET /v1/plugins/by-sha256/{sha256}/artifact`.
#[derive(Debug, serde::Deserialize)]
pub struct ArtifactQuery {
    /// The asking worker's engine compatibility hash.
    pub compat: String,
}

/// `GET /v1/plugins/by-sha256/{sha256}/artifact?compat=…`: the coordinator compiled every
/// plugin when it was uploaded, so it hands the signed result to workers that share its engine
/// settings; they deserialize it in milliseconds instead of compiling for a second each.
pub async fn artifact(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
    axum::extract::Query(query): axum::extract::Query<ArtifactQuery>,
) -> ApiResult<Response> {
    if query.compat != state.runtime().compatibility_hash() {
        return Err(ApiError::NotFound(format!(
            "no artifact of component {sha256} for compatibility hash {}: this coordinator \
             builds for {}; compile locally",
            query.compat,
            state.runtime().compatibility_hash()
        )));
    }
    let mut artifact = state.runtime().signed_artifact(&sha256);
    if artifact.is_none() {
        // Not compiled since this coordinator started with an empty cache: compile it once here.
        let bytes = state.store().plugin_component(&sha256).await?;
        let loaded = state.runtime().load_plugin(bytes).await.map_err(|error| {
            ApiError::Internal(format!(
                "stored component {sha256} no longer loads: {error}"
            ))
        })?;
        state.remember_loaded(&loaded);
        artifact = state.runtime().signed_artifact(&sha256);
    }
    let artifact = artifact.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no artifact of component {sha256}: the coordinator keeps compiled code in memory \
             only (no data directory)"
        ))
    })?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from(artifact),
    )
        .into_response())
}
