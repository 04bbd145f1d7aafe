//! Checking a catalog definition before it is committed, in the order that gives the best
//! message for the least work:
//!
//! 1. the plugin exists;
//! 2. the properties fit the plugin's declared config fields (no unknown key, every required key
//!    present) and the grants are well formed; every problem is collected, not just the first;
//! 3. `${ENV:NAME}` references resolve in the coordinator's environment (resolved for this
//!    validation only: the catalog is stored with the references, and they are never returned);
//! 4. the plugin's own `validate` runs in the sandbox with the catalog's grants (Kafka Connect's
//!    validate).
//!
//! Steps 3 and 4 are the path every opening of a catalog takes
//! ([`catalog_open`](crate::catalog_open)), which a worker loading the catalog takes too; the
//! property check of step 2 is the runtime's, said in the control API's words.
//!
//! Whatever fails, nothing is stored: the caller writes only after this returns `Ok`.

use std::collections::BTreeMap;
use std::path::Path;

use quarry_runtime::connector::{PropertyProblem, property_problems};
use quarry_runtime::{HostPattern, SocketGrant};
use quarry_store::{CatalogSpec, ConfigField, Grants, Plugin};

use crate::api_error::{ApiError, Issue};
use crate::catalog_open::{CatalogToOpen, OpenError, OpeningHost, issue_list, open_and_validate};
use crate::coordinator::state::AppState;
use crate::coordinator::sync::wire_conversions::secret_properties;
use crate::sync_protocol::WireGrants;

/// Validates the catalog `name` defined by `spec`; returns the plugin it uses.
pub async fn validate_catalog(
    state: &AppState,
    name: &str,
    spec: &CatalogSpec,
) -> Result<Plugin, ApiError> {
    let plugin = state
        .store()
        .get_plugin(&spec.plugin_name, &spec.plugin_version)
        .await
        .map_err(|error| match error {
            quarry_store::Error::NotFound { .. } => ApiError::UnknownPlugin(format!(
                "plugin \"{}@{}\" not found; upload it first (POST /v1/plugins)",
                spec.plugin_name, spec.plugin_version
            )),
            other => other.into(),
        })?;

    let mut known_issues = check_properties(&spec.properties, &plugin.config_fields);
    known_issues.extend(check_grants(&spec.grants));
    let grants = WireGrants::from(&spec.grants);
    let secret_properties = secret_properties(&plugin.config_fields);
    let host = OpeningHost {
        runtime: state.runtime(),
        env_var: &|var| state.env_var(var),
        name: "the coordinator",
    };
    let catalog = CatalogToOpen {
        name,
        properties: &spec.properties,
        grants: &grants,
        secret_properties: &secret_properties,
        known_issues,
    };
    open_and_validate(&host, catalog, state.loaded_plugin(&plugin))
        .await
        .map_err(|error| match error {
            OpenError::UnresolvedVariable { issues }
            | OpenError::InvalidProperties { issues, .. } => invalid(name, issues),
            OpenError::PluginFetch(error) => error,
            // The runtime's kind of error picks the status; the message is the scrubbed one.
            OpenError::Runtime { detail, error, .. } => match ApiError::from(error) {
                ApiError::InvalidCatalog { issues, .. } => ApiError::InvalidCatalog {
                    message: detail,
                    issues,
                },
                ApiError::PluginFailed(_) => ApiError::PluginFailed(detail),
                other => other,
            },
        })?;
    Ok(plugin)
}

fn invalid(name: &str, issues: Vec<Issue>) -> ApiError {
    ApiError::InvalidCatalog {
        message: format!("catalog \"{name}\" is invalid: {}", issue_list(&issues)),
        issues,
    }
}

/// Unknown keys, then missing required keys, against the plugin's declared fields: the
/// runtime's [`property_problems`], in the control API's words.
pub fn check_properties(
    properties: &BTreeMap<String, String>,
    fields: &[ConfigField],
) -> Vec<Issue> {
    let declared: Vec<(&str, bool)> = fields
        .iter()
        .map(|f| (f.name.as_str(), f.required))
        .collect();
    let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let (missing, others): (Vec<_>, Vec<_>) =
        property_problems(&declared, properties.keys().map(String::as_str))
            .into_iter()
            .partition(|problem| matches!(problem, PropertyProblem::Missing { .. }));
    others
        .into_iter()
        .chain(missing)
        .map(|problem| match problem {
            PropertyProblem::Unknown { key } => {
                let known_list = if known.is_empty() {
                    "the plugin declares no properties".to_owned()
                } else {
                    format!("known: {}", known.join(", "))
                };
                Issue::field(key, format!("unknown property ({known_list})"))
            }
            PropertyProblem::Missing { field } => {
                Issue::field(field, "missing required property".to_owned())
            }
            // Keys of a map are never repeated; said anyway in case the caller changes.
            PropertyProblem::Repeated { key } => {
                Issue::field(key, "property given twice".to_owned())
            }
        })
        .collect()
}

/// Grants must be absolute directories, `http(s)://host[:port]` origins and `host:port` TCP
/// endpoints.
pub fn check_grants(grants: &Grants) -> Vec<Issue> {
    let mut issues = Vec::new();
    for path in &grants.allowed_paths {
        if !Path::new(path).is_absolute() {
            issues.push(Issue::field(
                "grants.allowed_paths",
                format!("\"{path}\" is not an absolute path"),
            ));
        }
    }
    for host in &grants.allowed_hosts {
        if HostPattern::parse(host).is_none() {
            issues.push(Issue::field(
                "grants.allowed_hosts",
                format!("\"{host}\" is not an origin like https://host or http://host:port"),
            ));
        }
    }
    for socket in &grants.allowed_sockets {
        if let Err(reason) = SocketGrant::parse(socket) {
            issues.push(Issue::field("grants.allowed_sockets", reason));
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog_properties::tests::props;

    fn fields() -> Vec<ConfigField> {
        vec![
            ConfigField {
                name: "user".into(),
                required: true,
                ..ConfigField::default()
            },
            ConfigField {
                name: "password".into(),
                secret: true,
                ..ConfigField::default()
            },
        ]
    }

    #[test]
    fn every_property_problem_is_listed() {
        let issues = check_properties(&props(&[("colour", "red"), ("size", "9")]), &fields());
        let fields: Vec<_> = issues.iter().filter_map(|i| i.field.as_deref()).collect();
        assert_eq!(fields, ["colour", "size", "user"]);
    }

    #[test]
    fn grants_are_checked() {
        let grants = Grants {
            allowed_paths: vec!["relative/dir".into(), "/abs".into()],
            allowed_hosts: vec!["ftp://x".into(), "https://ok.example.com".into()],
            allowed_sockets: vec!["db.example.com".into(), "db.example.com:5432".into()],
        };
        let issues = check_grants(&grants);
        let fields: Vec<_> = issues.iter().filter_map(|i| i.field.as_deref()).collect();
        assert_eq!(
            fields,
            [
                "grants.allowed_paths",
                "grants.allowed_hosts",
                "grants.allowed_sockets"
            ]
        );
        assert!(
            issues[2].message.contains("\"db.example.com\""),
            "{}",
            issues[2].message
        );
    }
}
