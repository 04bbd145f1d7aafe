//! `/v1/catalogs`: creating, reading, altering and deleting catalogs.
//!
//! A create or an alter is validated completely before it is committed (see
//! `catalog_validation.rs`); a catalog starts `pending` at generation 1 and every alter bumps the
//! generation. Reads show the status the store derives from what workers report, per worker, and
//! never show the value of a secret property: those read `"***"`.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use quarry_store::{
    Catalog, CatalogSpec, CatalogState, CatalogStatus, ConfigField, Grants, WorkerCatalogStatus,
    WorkerError, redact_properties,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api_error::{ApiError, ApiResult};
use crate::coordinator::catalog_changes;
use crate::coordinator::state::AppState;

/// The body of `POST /v1/catalogs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCatalog {
    pub name: String,
    /// `name@version`.
    pub plugin: String,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub grants: Grants,
}

/// The body of `PUT /v1/catalogs/{name}`: the whole new definition.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlterCatalog {
    /// `name@version`.
    pub plugin: String,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub grants: Grants,
    /// Apply only if the catalog is still at this generation (409 otherwise).
    #[serde(default)]
    pub expected_generation: Option<i64>,
}

/// A catalog as the API shows it.
#[derive(Debug, Serialize)]
pub struct CatalogResponse {
    pub name: String,
    /// `name@version`.
    pub plugin: String,
    /// Secret values read `"***"`.
    pub properties: BTreeMap<String, String>,
    pub grants: Grants,
    pub generation: i64,
    pub status: CatalogState,
    /// The worker errors that make the status `failed`.
    pub errors: Vec<WorkerError>,
    /// One entry per live worker.
    pub workers: Vec<WorkerCatalogStatus>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CatalogResponse {
    /// The response for `catalog`, redacting the properties the plugin's `fields` declare secret.
    /// Without a status (a catalog just created, before anyone reported) it is `pending`. When
    /// the coordinator could not open this generation for SQL (`coordinator_failure`), it is
    /// `failed`, with the reason as an error of `"coordinator"`, whatever the workers say.
    pub fn new(
        catalog: Catalog,
        fields: &[ConfigField],
        status: Option<CatalogStatus>,
        coordinator_failure: Option<String>,
    ) -> Self {
        let plugin = catalog.plugin_reference();
        let (mut state, mut errors, workers) = match status {
            Some(status) if status.generation == catalog.generation => {
                (status.state, status.errors, status.workers)
            }
            _ => (CatalogState::Pending, Vec::new(), Vec::new()),
        };
        if let Some(reason) = coordinator_failure {
            state = CatalogState::Failed;
            errors.push(WorkerError {
                worker: "coordinator".to_owned(),
                error: reason,
            });
        }
        CatalogResponse {
            properties: redact_properties(&catalog.properties, fields),
            name: catalog.name,
            plugin,
            grants: catalog.grants,
            generation: catalog.generation,
            status: state,
            errors,
            workers,
            created_at: catalog.created_at,
            updated_at: catalog.updated_at,
        }
    }
}

/// A list of catalogs.
#[derive(Debug, Serialize)]
pub struct CatalogList {
    pub catalogs: Vec<CatalogResponse>,
}

/// Parses a JSON body; a body axum refused to read (over its 2 MB default) is a JSON error too.
pub(crate) fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> ApiResult<T> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(rejection.body_text())
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })?;
    serde_json::from_slice(&body)
        .map_err(|error| ApiError::BadRequest(format!("invalid request body: {error}")))
}

/// Splits `name@version`.
pub(crate) fn parse_plugin_reference(reference: &str) -> ApiResult<(String, String)> {
    match reference.split_once('@') {
        Some((name, version)) if !name.is_empty() && !version.is_empty() => {
            Ok((name.to_owned(), version.to_owned()))
        }
        _ => Err(ApiError::BadRequest(format!(
            "invalid plugin reference \"{reference}\": expected name@version, like tpch@0.1.0"
        ))),
    }
}

fn catalog_spec(
    plugin: &str,
    properties: BTreeMap<String, String>,
    grants: Grants,
) -> ApiResult<CatalogSpec> {
    let (plugin_name, plugin_version) = parse_plugin_reference(plugin)?;
    Ok(CatalogSpec {
        plugin_name,
        plugin_version,
        properties,
        grants,
    })
}

/// The response for one catalog, read back with its status.
async fn respond(
    state: &AppState,
    catalog: Catalog,
    fields: &[ConfigField],
) -> ApiResult<CatalogResponse> {
    let status = match state.store().catalog_status(&catalog.name).await {
        Ok(status) => Some(status),
        // Deleted in between: show what was written.
        Err(quarry_store::Error::NotFound { .. }) => None,
        Err(other) => return Err(other.into()),
    };
    let failure = state
        .open_failures()
        .reason(&catalog.name, catalog.generation);
    Ok(CatalogResponse::new(catalog, fields, status, failure))
}

/// `POST /v1/catalogs`.
pub async fn create(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<CatalogResponse>)> {
    let request: CreateCatalog = parse_json(body)?;
    let spec = catalog_spec(&request.plugin, request.properties, request.grants)?;
    let (catalog, fields) = catalog_changes::create(&state, &request.name, &spec).await?;
    let response = respond(&state, catalog, &fields).await?;
    Ok((StatusCode::CREATED, Json(response)))
}

/// `PUT /v1/catalogs/{name}`.
pub async fn alter(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<CatalogResponse>> {
    let request: AlterCatalog = parse_json(body)?;
    let spec = catalog_spec(&request.plugin, request.properties, request.grants)?;
    let (catalog, fields) =
        catalog_changes::alter(&state, &name, &spec, request.expected_generation).await?;
    Ok(Json(respond(&state, catalog, &fields).await?))
}

/// `GET /v1/catalogs`.
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<CatalogList>> {
    let store = state.store();
    let catalogs = store.list_catalogs().await?;
    let fields: HashMap<String, Vec<ConfigField>> = store
        .list_plugins()
        .await?
        .into_iter()
        .map(|plugin| (plugin.reference(), plugin.config_fields))
        .collect();
    let mut statuses: HashMap<String, CatalogStatus> = store
        .catalog_statuses()
        .await?
        .into_iter()
        .map(|status| (status.catalog.clone(), status))
        .collect();
    let catalogs = catalogs
        .into_iter()
        .map(|catalog| {
            let status = statuses.remove(&catalog.name);
            let fields = fields
                .get(&catalog.plugin_reference())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let failure = state
                .open_failures()
                .reason(&catalog.name, catalog.generation);
            CatalogResponse::new(catalog, fields, status, failure)
        })
        .collect();
    Ok(Json(CatalogList { catalogs }))
}

/// `GET /v1/catalogs/{name}`.
pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<CatalogResponse>> {
    let store = state.store();
    let catalog = store.get_catalog(&name).await?;
    let fields = store
        .get_plugin(&catalog.plugin_name, &catalog.plugin_version)
        .await?
        .config_fields;
    Ok(Json(respond(&state, catalog, &fields).await?))
}

/// `DELETE /v1/catalogs/{name}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    catalog_changes::delete(&state, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_properties_are_redacted_in_responses() {
        let now = Utc::now();
        let catalog = Catalog {
            name: "sales".into(),
            plugin_name: "pg".into(),
            plugin_version: "1.0.0".into(),
            properties: BTreeMap::from([
                ("user".to_owned(), "alice".to_owned()),
                ("password".to_owned(), "hunter2".to_owned()),
            ]),
            grants: Grants::default(),
            generation: 1,
            created_at: now,
            updated_at: now,
        };
        let fields = vec![ConfigField {
            name: "password".into(),
            secret: true,
            ..ConfigField::default()
        }];
        let response = CatalogResponse::new(catalog, &fields, None, None);
        let json = serde_json::to_string(&response).unwrap_or_default();
        assert!(!json.contains("hunter2"), "{json}");
        assert_eq!(response.properties["password"], "***");
        assert_eq!(response.properties["user"], "alice");
        assert_eq!(response.status, CatalogState::Pending);
        assert_eq!(response.plugin, "pg@1.0.0");
    }

    #[test]
    fn plugin_references() {
        assert!(parse_plugin_reference("tpch@0.1.0").is_ok());
        for bad in ["tpch", "@1", "tpch@", ""] {
            assert!(parse_plugin_reference(bad).is_err(), "{bad}");
        }
    }
}
