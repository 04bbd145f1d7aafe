//! Opening a catalog on this host: the one path for every process that does it. A worker
//! loads a catalog it was assigned ([`open_and_validate`]), the coordinator validates a definition
//! before it stores it ([`open_and_validate`]) and opens a catalog to plan queries over it
//! ([`open`]).
//!
//! The steps, cheapest first, so that a definition that cannot work fails before anything is
//! fetched: `${ENV:NAME}` references are resolved in this host's environment (reported together
//! with any problem the caller found already); the plugin is fetched, as the caller says; the
//! sandbox opens the catalog with its grants; and [`open_and_validate`] then runs the plugin's
//! own `validate`. A failure is an [`OpenError`] that says which step failed, with every secret
//! value replaced by `***`. The catalog's warm instances are dropped at the end: memory goes to
//! catalogs being queried.

use std::collections::BTreeMap;
use std::future::Future;

use quarry_runtime::{CatalogConfig, Connector, Plugin, Runtime, SecretScrubber};

use crate::api_error::Issue;
use crate::catalog_properties::{
    EnvLookup, resolve_references, runtime_grants, scrub, secret_values,
};
use crate::sync_protocol::{CatalogAssignment, WireGrants};

/// The host a catalog is opened on.
pub struct OpeningHost<'a> {
    pub runtime: &'a Runtime,
    /// Looks up a `${ENV:NAME}` reference in this host's environment.
    pub env_var: &'a (dyn Fn(&str) -> EnvLookup + Sync),
    /// How messages name this host: `worker "w1"`, `the coordinator`.
    pub name: &'a str,
}

/// A catalog definition to open, as stored: references not resolved yet.
#[derive(Debug)]
pub struct CatalogToOpen<'a> {
    pub name: &'a str,
    pub properties: &'a BTreeMap<String, String>,
    pub grants: &'a WireGrants,
    /// The properties the plugin declares secret: their values never reach a message.
    pub secret_properties: &'a [String],
    /// Problems the caller found already (the coordinator's checks against the plugin's
    /// declared fields and of the grants): reported with the unresolved references, before the
    /// plugin is fetched.
    pub known_issues: Vec<Issue>,
}

impl<'a> CatalogToOpen<'a> {
    /// The catalog of an assignment, as the coordinator sent it.
    pub fn assigned(assignment: &'a CatalogAssignment) -> Self {
        CatalogToOpen {
            name: &assignment.name,
            properties: &assignment.properties,
            grants: &assignment.grants,
            secret_properties: &assignment.secret_properties,
            known_issues: Vec::new(),
        }
    }
}

/// The step of opening that the sandbox failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeStep {
    /// Opening the catalog in the sandbox.
    Open,
    /// Running the plugin's `validate`.
    Validate,
}

impl std::fmt::Display for RuntimeStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuntimeStep::Open => "cannot open",
            RuntimeStep::Validate => "validate failed",
        })
    }
}

/// Why a catalog could not be opened; `F` is why its plugin could not be fetched, as the
/// caller's fetch says. No message holds a secret value.
#[derive(Debug, thiserror::Error)]
pub enum OpenError<F> {
    /// A `${ENV:…}` reference does not resolve on this host: the variable is unset or not on
    /// the host's allow-list, or the reference is malformed.
    #[error("{}", issue_list(.issues))]
    UnresolvedVariable { issues: Vec<Issue> },
    /// The plugin's component could not be fetched or loaded.
    #[error("{0}")]
    PluginFetch(F),
    /// The sandbox failed: the catalog could not be opened, or the plugin failed (trapped, hit
    /// a limit, answered an error) while validating.
    #[error("{step}: {detail}")]
    Runtime {
        step: RuntimeStep,
        /// The runtime's message.
        detail: String,
        /// The runtime's error, for what kind it is.
        error: quarry_runtime::Error,
    },
    /// The properties do not fit the plugin: the caller's checks or the plugin's own
    /// `validate` found these problems.
    #[error("invalid on {here}: {}", issue_list(.issues))]
    InvalidProperties { here: String, issues: Vec<Issue> },
}

impl<F> OpenError<F> {
    /// Whether opening the same definition again may succeed, so that a worker holding the
    /// catalog failed loads it again when the coordinator sends it once more (the coordinator
    /// sends failed loads again on a backoff schedule, ADR 0013). Every kind is retried.
    pub fn worth_retrying(&self) -> bool {
        match self {
            // The coordinator the component comes from may be restarting.
            OpenError::PluginFetch(_) => true,
            // Memory or instance slots may be short now, a directory granted not mounted yet.
            OpenError::Runtime { .. } => true,
            // A plugin's `validate` may check what passes: a database that is restarting.
            OpenError::InvalidProperties { .. } => true,
            // This host's environment stays as it is while the process runs, but ADR 0013
            // retries every failure rather than sort them: a retry costs one lookup.
            OpenError::UnresolvedVariable { .. } => true,
        }
    }

    fn runtime(step: RuntimeStep, error: quarry_runtime::Error, secrets: &[String]) -> Self {
        OpenError::Runtime {
            step,
            detail: scrub(&error.to_string(), secrets),
            error: error.scrubbed(&SecretScrubber::new(secrets)),
        }
    }
}

/// Opens `catalog` with the plugin `plugin` yields, without validating it: for a definition
/// that was validated when it was stored.
pub async fn open<F>(
    host: &OpeningHost<'_>,
    catalog: CatalogToOpen<'_>,
    plugin: impl Future<Output = Result<Plugin, F>>,
) -> Result<Connector, OpenError<F>> {
    let opened = open_unvalidated(host, catalog, plugin).await?;
    opened.connector.release_instances();
    Ok(opened.connector)
}

/// Opens `catalog` with the plugin `plugin` yields, and has the plugin validate its
/// properties.
pub async fn open_and_validate<F>(
    host: &OpeningHost<'_>,
    catalog: CatalogToOpen<'_>,
    plugin: impl Future<Output = Result<Plugin, F>>,
) -> Result<Connector, OpenError<F>> {
    let Opened {
        connector,
        properties,
        secrets,
    } = open_unvalidated(host, catalog, plugin).await?;
    let outcome = connector.validate(properties).await;
    connector.release_instances();
    let issues =
        outcome.map_err(|error| OpenError::runtime(RuntimeStep::Validate, error, &secrets))?;
    if !issues.is_empty() {
        return Err(OpenError::InvalidProperties {
            here: host.name.to_owned(),
            issues: issues
                .into_iter()
                .map(|issue| Issue {
                    field: issue.field,
                    message: scrub(&issue.message, &secrets),
                })
                .collect(),
        });
    }
    Ok(connector)
}

/// A catalog opened, not validated yet.
struct Opened {
    connector: Connector,
    /// The properties with references resolved (what `validate` is given).
    properties: Vec<(String, String)>,
    /// The values to scrub from any message.
    secrets: Vec<String>,
}

/// Resolves, fetches the plugin and opens: the steps both entry points share.
async fn open_unvalidated<F>(
    host: &OpeningHost<'_>,
    catalog: CatalogToOpen<'_>,
    plugin: impl Future<Output = Result<Plugin, F>>,
) -> Result<Opened, OpenError<F>> {
    let CatalogToOpen {
        name,
        properties: given,
        grants,
        secret_properties,
        known_issues,
    } = catalog;
    let mut unresolved = Vec::new();
    let resolved = resolve_references(given, host.env_var, host.name, &mut unresolved);
    if !known_issues.is_empty() {
        let mut issues = known_issues;
        issues.extend(unresolved);
        return Err(OpenError::InvalidProperties {
            here: host.name.to_owned(),
            issues,
        });
    }
    if !unresolved.is_empty() {
        return Err(OpenError::UnresolvedVariable { issues: unresolved });
    }
    let properties: Vec<(String, String)> = resolved.properties.into_iter().collect();
    let secrets = secret_values(given, &properties, &resolved.substituted, |key| {
        secret_properties.iter().any(|secret| secret == key)
    });
    let plugin = plugin.await.map_err(OpenError::PluginFetch)?;
    let config = CatalogConfig {
        name: name.to_owned(),
        plugin,
        properties: properties.clone(),
        limits: None,
        grants: runtime_grants(grants),
        secrets: secrets.clone(),
    };
    let connector = host
        .runtime
        .open_catalog(config)
        .map_err(|error| OpenError::runtime(RuntimeStep::Open, error, &secrets))?;
    Ok(Opened {
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
