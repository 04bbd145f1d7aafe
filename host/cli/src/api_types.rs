//! What the admin client reads from the API: the parts of the plugin, catalog and worker JSON it
//! prints. Lenient on purpose (unknown fields are ignored, most fields default), so a newer
//! coordinator does not break an older `quarry`. A plugin's config fields and a catalog's grants
//! are the contract's own types (`quarry-contract`, ADR 0025), in the JSON shape the store keeps.

use std::collections::BTreeMap;

use quarry_contract::{ConfigField, Grants};
use serde::Deserialize;

/// A plugin (`GET /v1/plugins/{name}/{version}`).
#[derive(Clone, Debug, Deserialize)]
pub struct PluginView {
    pub name: String,
    pub version: String,
    pub sha256: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub contract_version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub config: Vec<ConfigField>,
    #[serde(default)]
    pub uploaded_at: String,
}

impl PluginView {
    /// `name@version`.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// `{"plugins": [...]}`.
#[derive(Debug, Deserialize)]
pub struct PluginList {
    pub plugins: Vec<PluginView>,
}

/// A catalog with its derived status.
#[derive(Clone, Debug, Deserialize)]
pub struct CatalogView {
    pub name: String,
    pub plugin: String,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub grants: Grants,
    pub generation: i64,
    pub status: String,
    #[serde(default)]
    pub errors: Vec<WorkerErrorView>,
    #[serde(default)]
    pub workers: Vec<WorkerStatusView>,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
}

/// A live worker's error for a catalog.
#[derive(Clone, Debug, Deserialize)]
pub struct WorkerErrorView {
    pub worker: String,
    pub error: String,
}

/// One live worker's state for a catalog.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WorkerStatusView {
    pub worker: String,
    #[serde(default)]
    pub generation: Option<i64>,
    pub state: String,
    #[serde(default)]
    pub error: Option<String>,
}

/// `{"catalogs": [...]}`.
#[derive(Debug, Deserialize)]
pub struct CatalogList {
    pub catalogs: Vec<CatalogView>,
}

/// A worker the coordinator knows.
#[derive(Clone, Debug, Deserialize)]
pub struct WorkerView {
    pub id: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub last_heartbeat: String,
    #[serde(default)]
    pub state: String,
}

/// `{"workers": [...]}`.
#[derive(Debug, Deserialize)]
pub struct WorkerList {
    pub workers: Vec<WorkerView>,
}

/// `{"queries": [...]}`, newest first.
#[derive(Debug, Deserialize)]
pub struct QueryList {
    pub queries: Vec<QueryView>,
}

/// A statement the coordinator ran or runs.
#[derive(Clone, Debug, Deserialize)]
pub struct QueryView {
    pub id: u64,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub statement: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub elapsed_ms: u64,
    #[serde(default)]
    pub rows: u64,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub stages: Vec<StageView>,
}

/// What one stage of a distributed query moved.
#[derive(Clone, Debug, Deserialize)]
pub struct StageView {
    pub stage: u64,
    #[serde(default)]
    pub tasks: u64,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub workers: Vec<String>,
    #[serde(default)]
    pub rows: u64,
    #[serde(default)]
    pub bytes: u64,
}
