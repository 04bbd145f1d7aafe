//! Loading one catalog on this worker: its plugin (fetched once), its `${ENV:NAME}` references
//! resolved in this worker's environment, opened in the sandbox with its grants, and checked by
//! the plugin's own `validate`. Failures come back as one message naming the catalog, the worker
//! and the reason, with every secret value replaced by `***`.

use quarry_runtime::Connector;

use crate::catalog_open::{OpenedCatalog, issue_list, open_assigned};
use crate::catalog_properties::scrub;
use crate::coordinator::api_error::Issue;
use crate::sync_protocol::CatalogAssignment;
use crate::worker::state::WorkerState;

/// Loads `assignment`; `Err` is the reason it failed.
pub async fn load_catalog(
    state: &WorkerState,
    assignment: &CatalogAssignment,
) -> Result<Connector, String> {
    let here = format!("worker \"{}\"", state.id());
    let plugin = state
        .plugins()
        .plugin(&assignment.plugin_sha256, &assignment.plugin)
        .await?;

    let OpenedCatalog {
        connector,
        properties,
        secrets,
    } = open_assigned(
        state.runtime(),
        plugin,
        assignment,
        |var| state.env_var(var),
        &here,
    )?;
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
