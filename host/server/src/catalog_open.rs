//! Opening an assigned catalog on this host: `${ENV:NAME}` references resolved in this host's
//! environment, the grants turned into the sandbox's, and the connector opened. Workers do it to
//! load a catalog; the coordinator does it to plan queries over the same definition.

use quarry_runtime::{CatalogConfig, Connector, Plugin, Runtime};

use crate::catalog_properties::{
    EnvLookup, resolve_references, runtime_grants, scrub, secret_values,
};
use crate::coordinator::api_error::Issue;
use crate::sync_protocol::CatalogAssignment;

/// A catalog opened on this host.
#[derive(Debug)]
pub struct OpenedCatalog {
    pub connector: Connector,
    /// The properties with references resolved (what `validate` is given).
    pub properties: Vec<(String, String)>,
    /// The values to scrub from any message.
    pub secrets: Vec<String>,
}

/// Opens `assignment` with `plugin`; `here` names this host in errors (`worker "w1"`). `Err` is
/// the reason, with secret values replaced by `***`.
pub fn open_assigned(
    runtime: &Runtime,
    plugin: Plugin,
    assignment: &CatalogAssignment,
    env_var: impl Fn(&str) -> EnvLookup,
    here: &str,
) -> Result<OpenedCatalog, String> {
    let mut issues = Vec::new();
    let resolved = resolve_references(&assignment.properties, env_var, here, &mut issues);
    if !issues.is_empty() {
        return Err(issue_list(&issues));
    }
    let properties: Vec<(String, String)> = resolved.properties.into_iter().collect();
    let secrets = secret_values(
        &assignment.properties,
        &properties,
        &resolved.substituted,
        |key| assignment.secret_properties.iter().any(|s| s == key),
    );
    let config = CatalogConfig {
        name: assignment.name.clone(),
        plugin,
        properties: properties.clone(),
        limits: None,
        grants: runtime_grants(&assignment.grants),
        secrets: secrets.clone(),
    };
    let connector = runtime
        .open_catalog(config)
        .map_err(|e| scrub(&format!("cannot open: {e}"), &secrets))?;
    Ok(OpenedCatalog {
        connector,
        properties,
        secrets,
    })
}

/// `field: message; …`.
pub fn issue_list(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|issue| match &issue.field {
            Some(field) => format!("{field}: {}", issue.message),
            None => issue.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
