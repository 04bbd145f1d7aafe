//! Loading one catalog on this worker: its plugin (fetched once), its `${ENV:NAME}` references
//! resolved in this worker's environment, opened in the sandbox with its grants, and checked by
//! the plugin's own `validate`. Failures come back as one message naming the catalog, the worker
//! and the reason, with every secret value replaced by `***`.

use quarry_runtime::{CatalogConfig, Connector};

use crate::catalog_properties::{resolve_references, runtime_grants, scrub, secret_values};
use crate::coordinator::api_error::Issue;
use crate::sync_protocol::CatalogAssignment;
use crate::worker::state::WorkerState;

/// Loads `assignment`; `Err` is the reason it failed.
pub async fn load_catalog(
    state: &WorkerState,
    assignment: &CatalogAssignment,
) -> Result<Connector, String> {
    let name = &assignment.name;
    let here = format!("worker \"{}\"", state.id());
    let plugin = state
        .plugins()
        .plugin(&assignment.plugin_sha256, &assignment.plugin)
        .await?;

    let mut issues = Vec::new();
    let resolved = resolve_references(
        &assignment.properties,
        |var| state.env_var(var),
        &here,
        &mut issues,
    );
    if !issues.is_empty() {
        return Err(issue_list(&issues));
    }
    let properties: Vec<(String, String)> = resolved.into_iter().collect();
    let secrets = secret_values(&assignment.properties, &properties, |key| {
        assignment.secret_properties.iter().any(|s| s == key)
    });

    let config = CatalogConfig {
        name: name.clone(),
        plugin,
        properties: properties.clone(),
        limits: None,
        grants: runtime_grants(&assignment.grants),
    };
    let connector = state
        .runtime()
        .open_catalog(config)
        .map_err(|e| scrub(&format!("cannot open: {e}"), &secrets))?;
    let outcome = connector.validate(properties).await;
    // An idle catalog keeps no instance: memory goes to catalogs being queried.
    connector.release_instances();
    let issues = outcome.map_err(|e| scrub(&format!("validate failed: {e}"), &secrets))?;
    if !issues.is_empty() {
        let issues: Vec<Issue> = issues
            .into_iter()
            .map(|issue| Issue {
                field: issue.field,
                message: issue.message,
            })
            .collect();
        return Err(scrub(
            &format!("invalid on {here}: {}", issue_list(&issues)),
            &secrets,
        ));
    }
    Ok(connector)
}

/// `field: message; …`.
fn issue_list(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|issue| match &issue.field {
            Some(field) => format!("{field}: {}", issue.message),
            None => issue.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
