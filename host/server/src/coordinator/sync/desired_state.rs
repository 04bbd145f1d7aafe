//! [`DesiredState`]: every catalog as workers must hold it, read from the store in one pass, and
//! [`diff`], the loads and unloads that take a worker from what it holds to it.

use std::collections::{BTreeMap, HashMap};

use quarry_store::Store;

use crate::coordinator::sync::wire_conversions::{secret_properties, version_of};
use crate::sync_protocol::{CatalogAssignment, CatalogUnload, HeldCatalog, LoadState};

/// Every catalog, by name, with what a worker needs to load it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredState {
    pub catalogs: BTreeMap<String, CatalogAssignment>,
}

impl DesiredState {
    /// Reads the catalogs and the plugins they use.
    pub async fn load(store: &Store) -> quarry_store::Result<Self> {
        let catalogs = store.list_catalogs().await?;
        let plugins: HashMap<String, quarry_store::Plugin> = store
            .list_plugins()
            .await?
            .into_iter()
            .map(|plugin| (plugin.reference(), plugin))
            .collect();
        let mut desired = DesiredState::default();
        for catalog in catalogs {
            let reference = catalog.plugin_reference();
            // The store keeps a catalog's plugin from being deleted; a miss is a row deleted
            // between the two reads, and the next load sees it.
            let Some(plugin) = plugins.get(&reference) else {
                continue;
            };
            let assignment = CatalogAssignment {
                version: version_of(&catalog),
                name: catalog.name.clone(),
                plugin: reference,
                plugin_sha256: plugin.sha256.clone(),
                properties: catalog.properties,
                grants: catalog.grants.into(),
                secret_properties: secret_properties(&plugin.config_fields),
            };
            desired.catalogs.insert(catalog.name, assignment);
        }
        Ok(desired)
    }
}

/// What a worker must load and unload to hold exactly `desired`, given what it `held`.
///
/// A catalog held at another version than the desired one is loaded again (the worker keeps
/// the newer of the two); one held with a failure at the desired version is loaded again only
/// when `retry_due` says its retry is due.
pub fn diff(
    desired: &DesiredState,
    held: &HashMap<String, HeldCatalog>,
    retry_due: impl Fn(&HeldCatalog) -> bool,
) -> (Vec<CatalogAssignment>, Vec<CatalogUnload>) {
    let loads = desired
        .catalogs
        .values()
        .filter(|wanted| match held.get(&wanted.name) {
            None => true,
            Some(h) if h.version != wanted.version => true,
            Some(h) => h.state == LoadState::Failed && retry_due(h),
        })
        .cloned()
        .collect();
    let unloads = held
        .values()
        .filter(|h| !desired.catalogs.contains_key(&h.name))
        .map(|h| CatalogUnload {
            name: h.name.clone(),
            version: h.version,
        })
        .collect();
    (loads, unloads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_protocol::CatalogVersion;
    use crate::sync_protocol::WireGrants;

    fn version(generation: i64) -> CatalogVersion {
        CatalogVersion {
            incarnation: 7,
            generation,
        }
    }

    fn assignment(name: &str, generation: i64) -> CatalogAssignment {
        CatalogAssignment {
            name: name.into(),
            version: version(generation),
            plugin: "tpch@0.1.0".into(),
            plugin_sha256: "ab".repeat(32),
            properties: BTreeMap::new(),
            grants: WireGrants::default(),
            secret_properties: Vec::new(),
        }
    }

    fn held(name: &str, generation: i64, state: LoadState) -> (String, HeldCatalog) {
        (
            name.into(),
            HeldCatalog {
                name: name.into(),
                version: version(generation),
                state,
                error: None,
            },
        )
    }

    #[test]
    fn loads_what_is_missing_or_at_another_version_and_unloads_the_rest() {
        let desired = DesiredState {
            catalogs: [
                ("a".into(), assignment("a", 1)),
                ("b".into(), assignment("b", 2)),
                ("c".into(), assignment("c", 1)),
                ("f".into(), assignment("f", 1)),
            ]
            .into(),
        };
        let worker = HashMap::from([
            held("a", 1, LoadState::Loaded),
            held("b", 1, LoadState::Loaded),
            held("f", 1, LoadState::Failed),
            held("gone", 3, LoadState::Loaded),
        ]);
        let names = |loads: &[CatalogAssignment]| -> Vec<(String, i64)> {
            loads
                .iter()
                .map(|l| (l.name.clone(), l.version.generation))
                .collect()
        };
        let (loads, unloads) = diff(&desired, &worker, |_| false);
        assert_eq!(names(&loads), [("b".into(), 2), ("c".into(), 1)]);
        // A failed load is sent again once its retry is due, and only then.
        let (retried, _) = diff(&desired, &worker, |h| h.name == "f");
        assert_eq!(
            names(&retried),
            [("b".into(), 2), ("c".into(), 1), ("f".into(), 1)]
        );
        let (loaded_not_retried, _) = diff(&desired, &worker, |h| h.name == "a");
        assert_eq!(names(&loaded_not_retried), names(&loads));
        assert_eq!(unloads.len(), 1);
        assert_eq!(unloads[0].name, "gone");
        assert_eq!(unloads[0].version, version(3));
    }

    #[test]
    fn a_recreated_catalog_is_a_new_incarnation() {
        let mut recreated = assignment("a", 1);
        recreated.version.incarnation = 8;
        let desired = DesiredState {
            catalogs: [("a".into(), recreated)].into(),
        };
        let worker = HashMap::from([held("a", 1, LoadState::Loaded)]);
        let (loads, unloads) = diff(&desired, &worker, |_| true);
        assert_eq!(loads.len(), 1);
        assert!(unloads.is_empty());
    }
}
