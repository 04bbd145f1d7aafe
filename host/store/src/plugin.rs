//! Plugins as the store keeps them: an uploaded connector component, identified by
//! `name@version` and by the sha256 of its bytes, with the config fields its spec declares
//! (the contract's [`ConfigField`], whose JSON shape the store relies on).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::row_decoding::{converted_column, from_row_on_both_backends, json_column};

/// A config field a plugin's spec declares: the contract's own (ADR 0025). Stored with the
/// plugin, as JSON in `config_fields`, so the store knows, without loading the component, which
/// catalog properties are secret.
pub use quarry_contract::ConfigField;

/// What a caller provides to upload a plugin; the store computes the sha256 and size from the
/// component bytes itself, so they cannot disagree with the bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPlugin {
    pub name: String,
    pub version: String,
    /// The connector contract version the component declares, like `0.1.0`.
    pub contract_version: String,
    pub config_fields: Vec<ConfigField>,
    pub description: String,
}

/// An uploaded plugin, without its bytes (see [`crate::Store::plugin_component`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plugin {
    pub name: String,
    pub version: String,
    /// Lowercase hex sha256 of the component bytes.
    pub sha256: String,
    pub contract_version: String,
    /// Size of the component in bytes.
    pub size: u64,
    pub config_fields: Vec<ConfigField>,
    pub description: String,
    pub uploaded_at: DateTime<Utc>,
}

from_row_on_both_backends!(Plugin, |row| {
    Ok(Plugin {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        sha256: row.try_get("sha256")?,
        contract_version: row.try_get("contract_version")?,
        size: converted_column::<_, i64, _>(row, "size")?,
        config_fields: json_column(row, "config_fields")?,
        description: row.try_get("description")?,
        uploaded_at: row.try_get("uploaded_at")?,
    })
});

impl Plugin {
    /// `name@version`, as messages and the API show it.
    pub fn reference(&self) -> String {
        plugin_reference(&self.name, &self.version)
    }
}

pub(crate) fn plugin_reference(name: &str, version: &str) -> String {
    format!("{name}@{version}")
}
