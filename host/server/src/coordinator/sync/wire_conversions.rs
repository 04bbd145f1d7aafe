//! Between the store's rows and the sync protocol's types, on the coordinator, the one process
//! that has both: a stored catalog's version, grants and secret properties become what a worker
//! is sent, and the state a worker reports becomes what the store records.

use quarry_store::{Catalog, ConfigField};

use crate::sync_protocol::{CatalogVersion, LoadState, WireGrants};

/// The version of a stored catalog.
pub fn version_of(catalog: &Catalog) -> CatalogVersion {
    CatalogVersion {
        incarnation: catalog.created_at.timestamp_micros(),
        generation: catalog.generation,
    }
}

/// The properties a plugin declares secret, by name.
pub fn secret_properties(fields: &[ConfigField]) -> Vec<String> {
    fields
        .iter()
        .filter(|field| field.secret)
        .map(|field| field.name.clone())
        .collect()
}

impl From<quarry_store::Grants> for WireGrants {
    fn from(grants: quarry_store::Grants) -> Self {
        WireGrants {
            allowed_paths: grants.allowed_paths,
            allowed_hosts: grants.allowed_hosts,
            allowed_sockets: grants.allowed_sockets,
        }
    }
}

impl From<&quarry_store::Grants> for WireGrants {
    fn from(grants: &quarry_store::Grants) -> Self {
        WireGrants::from(grants.clone())
    }
}

impl From<LoadState> for quarry_store::LoadState {
    fn from(state: LoadState) -> Self {
        match state {
            LoadState::Loaded => quarry_store::LoadState::Loaded,
            LoadState::Failed => quarry_store::LoadState::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Workers and the coordinator of one build exchange the same JSON as before the protocol
    /// had its own types.
    #[test]
    fn the_wire_types_serialize_as_the_rows_do() {
        let grants = quarry_store::Grants {
            allowed_paths: vec!["/data".to_owned()],
            allowed_hosts: vec!["https://api.example.com".to_owned()],
            allowed_sockets: vec!["db.example.com:5432".to_owned()],
        };
        assert_eq!(
            serde_json::to_value(WireGrants::from(&grants)).unwrap(),
            serde_json::to_value(&grants).unwrap()
        );
        for state in [LoadState::Loaded, LoadState::Failed] {
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::to_value(quarry_store::LoadState::from(state)).unwrap()
            );
        }
    }
}
