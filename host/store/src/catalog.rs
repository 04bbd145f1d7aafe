//! Catalogs as the store keeps them: a named instance of a plugin with its properties, its
//! sandbox grants (the contract's declared [`Grants`]) and a generation that grows on every
//! change.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::row_decoding::{from_row_on_both_backends, json_column};

/// What a catalog's plugin instances may reach outside the sandbox, as declared: the contract's
/// own (ADR 0025), stored as JSON in `grants`. Empty means nothing.
pub use quarry_contract::Grants;

/// The definition of a catalog: what a create provides, and what an alter replaces whole.
///
/// Properties are stored as given: a `${ENV:NAME}` reference stays a reference and is resolved
/// on the host that runs the plugin, never in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogSpec {
    pub plugin_name: String,
    pub plugin_version: String,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub grants: Grants,
}

/// A stored catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub name: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub properties: BTreeMap<String, String>,
    pub grants: Grants,
    /// 1 at creation, +1 on every alter.
    pub generation: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

from_row_on_both_backends!(Catalog, |row| {
    Ok(Catalog {
        name: row.try_get("name")?,
        plugin_name: row.try_get("plugin_name")?,
        plugin_version: row.try_get("plugin_version")?,
        properties: json_column(row, "properties")?,
        grants: json_column(row, "grants")?,
        generation: row.try_get("generation")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
});

impl Catalog {
    /// The catalog's plugin as `name@version`.
    pub fn plugin_reference(&self) -> String {
        crate::plugin::plugin_reference(&self.plugin_name, &self.plugin_version)
    }
}
