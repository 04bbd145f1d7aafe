//! The messages between the coordinator and its workers, as JSON over HTTP, authenticated with
//! the cluster secret.
//!
//! Worker → coordinator: [`RegisterWorker`] at start (and again whenever the coordinator has
//! forgotten it), a heartbeat every few seconds, a goodbye at shutdown. Coordinator → worker:
//! `GET /v1/worker/catalogs` answers a [`HeldState`], and `POST /v1/worker/sync` carries a
//! [`SyncRequest`] of loads and unloads computed as the difference between the desired state and
//! what the worker said it holds; it answers the new [`HeldState`].
//!
//! Queries do not travel here: their stages go to the workers' execution service (gRPC, see
//! `worker/execution_service.rs`), whose address a worker reports in its [`HeldState`].
//!
//! Every message is idempotent and carries a [`CatalogVersion`]: a worker never lets an older
//! version replace a newer one, so a late or repeated message changes nothing.
//!
//! The protocol has its own types ([`WireGrants`], [`LoadState`]) rather than the store's rows:
//! the worker has no catalog database and never sees its types. The coordinator turns its rows
//! into these (`coordinator/sync/wire_conversions.rs`); the JSON is the same as the rows' would be.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use quarry_sql::CatalogVersion;

/// What a catalog's plugin instances may reach outside the sandbox, as checked when the catalog
/// was stored. Empty means nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireGrants {
    /// Directories the plugin may read (preopened read-only).
    #[serde(default)]
    pub allowed_paths: Vec<String>,
    /// Outbound HTTP destinations, as `scheme://host:port`.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// TCP endpoints the plugin may connect to, as `host:port`.
    #[serde(default)]
    pub allowed_sockets: Vec<String>,
}

/// How loading one catalog on a worker ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadState {
    Loaded,
    Failed,
}

/// One catalog a worker must hold: everything it needs to load it, with `${ENV:NAME}`
/// references left for the worker to resolve in its own environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogAssignment {
    pub name: String,
    pub version: CatalogVersion,
    /// `name@version` of the plugin.
    pub plugin: String,
    /// The sha256 of the plugin's component, by which the worker fetches it.
    pub plugin_sha256: String,
    pub properties: BTreeMap<String, String>,
    pub grants: WireGrants,
    /// Properties the plugin declares secret: their values never appear in an error or a log.
    #[serde(default)]
    pub secret_properties: Vec<String>,
}

/// A catalog a worker must drop, if what it holds is not newer than `version`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogUnload {
    pub name: String,
    pub version: CatalogVersion,
}

/// `POST /v1/worker/sync`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The worker process this was computed for ([`HeldState::instance`]); a restarted worker
    /// refuses it (409) and the coordinator asks again what it holds.
    pub instance: String,
    pub loads: Vec<CatalogAssignment>,
    pub unloads: Vec<CatalogUnload>,
    /// True when, once applied, the worker holds the whole desired state: the worker is ready
    /// after the first such message.
    pub complete: bool,
}

/// What a worker holds for one catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldCatalog {
    pub name: String,
    pub version: CatalogVersion,
    /// `loaded` or `failed`.
    pub state: LoadState,
    /// Why loading failed; secrets are never in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /v1/worker/catalogs`, and the answer to a sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldState {
    pub worker_id: String,
    /// Identifies the worker process (its start time); changes when the worker restarts.
    pub instance: String,
    /// True once the worker has applied a complete sync.
    pub ready: bool,
    /// Where the worker serves query execution (the distributed worker service over gRPC,
    /// `http://127.0.0.1:9081`); none from a worker that serves none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_address: Option<String>,
    pub catalogs: Vec<HeldCatalog>,
}

/// `POST /v1/workers`: a worker announcing itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterWorker {
    pub id: String,
    /// The base URL the coordinator reaches the worker at (`http://127.0.0.1:8081`).
    pub address: String,
    pub started_at: DateTime<Utc>,
    /// The worker's Ed25519 public key (hex), which the id is bound to.
    pub public_key: String,
    /// The key's signature (hex) of the id, address, start time and key
    /// (`worker_identity::registration_message`).
    pub signature: String,
}

/// Worker → coordinator at shutdown, signed with the worker's key so that only the worker
/// itself can say it stopped (a stopped worker's id may be taken over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerGoodbye {
    /// When the worker signed it; the coordinator accepts a few minutes of skew.
    pub signed_at: DateTime<Utc>,
    /// Signature (hex) of `worker_identity::goodbye_message`.
    pub signature: String,
}
