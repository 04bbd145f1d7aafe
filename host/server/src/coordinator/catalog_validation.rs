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
//! Whatever fails, nothing is stored: the caller writes only after this returns `Ok`.

use std::collections::BTreeMap;
use std::path::Path;

use quarry_runtime::{CatalogConfig, HostPattern};

#[cfg(test)]
use crate::catalog_properties::EnvLookup;
use crate::catalog_properties::{
    is_secret_field, resolve_references, runtime_grants, scrub, secret_values,
};
use quarry_store::{CatalogSpec, ConfigField, Grants, Plugin};

use crate::coordinator::api_error::{ApiError, Issue};
use crate::coordinator::state::AppState;

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

    let mut issues = check_properties(&spec.properties, &plugin.config_fields);
    issues.extend(check_grants(&spec.grants));
    let resolved = resolve_references(
        &spec.properties,
        |var| state.env_var(var),
        "the coordinator",
        &mut issues,
    );
    if !issues.is_empty() {
        return Err(invalid(name, issues));
    }

    let loaded = state.loaded_plugin(&plugin).await?;
    let properties: Vec<(String, String)> = resolved.properties.into_iter().collect();
    let secrets = secret_values(
        &spec.properties,
        &properties,
        &resolved.substituted,
        |key| is_secret_field(&plugin.config_fields, key),
    );
    let config = CatalogConfig {
        name: name.to_owned(),
        plugin: loaded,
        properties: properties.clone(),
        limits: None,
        grants: runtime_grants(&spec.grants),
        secrets: secrets.clone(),
    };
    let connector = state
        .runtime()
        .open_catalog(config)
        .map_err(|error| scrub_error(error.into(), &secrets))?;
    let outcome = connector.validate(properties).await;
    connector.release_instances();
    let plugin_issues = outcome.map_err(|error| scrub_error(error.into(), &secrets))?;
    if !plugin_issues.is_empty() {
        let issues = plugin_issues
            .into_iter()
            .map(|issue| Issue {
                field: issue.field,
                message: scrub(&issue.message, &secrets),
            })
            .collect();
        return Err(invalid(name, issues));
    }
    Ok(plugin)
}

fn invalid(name: &str, issues: Vec<Issue>) -> ApiError {
    ApiError::InvalidCatalog {
        message: format!(
            "catalog \"{name}\" is invalid: {}",
            crate::catalog_open::issue_list(&issues)
        ),
        issues,
    }
}

/// Unknown keys and missing required keys, against the plugin's declared fields.
pub fn check_properties(
    properties: &BTreeMap<String, String>,
    fields: &[ConfigField],
) -> Vec<Issue> {
    let mut issues = Vec::new();
    let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    for key in properties.keys() {
        if !known.contains(&key.as_str()) {
            let known_list = if known.is_empty() {
                "the plugin declares no properties".to_owned()
            } else {
                format!("known: {}", known.join(", "))
            };
            issues.push(Issue::field(
                key.clone(),
                format!("unknown property ({known_list})"),
            ));
        }
    }
    for field in fields.iter().filter(|f| f.required) {
        if !properties.contains_key(&field.name) {
            issues.push(Issue::field(
                field.name.clone(),
                "missing required property".to_owned(),
            ));
        }
    }
    issues
}

/// Grants must be absolute directories and `http(s)://host[:port]` origins.
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
    issues
}

fn scrub_error(error: ApiError, secrets: &[String]) -> ApiError {
    match error {
        ApiError::InvalidCatalog { message, issues } => ApiError::InvalidCatalog {
            message: scrub(&message, secrets),
            issues: issues
                .into_iter()
                .map(|issue| Issue {
                    field: issue.field,
                    message: scrub(&issue.message, secrets),
                })
                .collect(),
        },
        ApiError::PluginFailed(message) => ApiError::PluginFailed(scrub(&message, secrets)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_property_problem_is_listed() {
        let issues = check_properties(&props(&[("colour", "red"), ("size", "9")]), &fields());
        let fields: Vec<_> = issues.iter().filter_map(|i| i.field.as_deref()).collect();
        assert_eq!(fields, ["colour", "size", "user"]);
    }

    #[test]
    fn references_resolve_and_unset_ones_are_reported_by_name() {
        let mut issues = Vec::new();
        let resolved = resolve_references(
            &props(&[
                ("password", "${ENV:PW}"),
                ("dsn", "x=${ENV:NOPE};y"),
                ("token", "${ENV:QUARRY_ADMIN_TOKEN}"),
            ]),
            |var| match var {
                "PW" => EnvLookup::Value("hunter2".to_owned()),
                "QUARRY_ADMIN_TOKEN" => EnvLookup::NotAllowed,
                _ => EnvLookup::Unset,
            },
            "the coordinator",
            &mut issues,
        );
        assert_eq!(resolved.properties["password"], "hunter2");
        assert_eq!(resolved.substituted, ["hunter2"]);
        assert_eq!(issues.len(), 2);
        assert!(
            issues[0].message.contains("\"NOPE\" is not set"),
            "{:?}",
            issues
        );
        assert!(
            issues[1]
                .message
                .contains("\"QUARRY_ADMIN_TOKEN\" may not be read"),
            "{:?}",
            issues
        );
        assert!(!format!("{issues:?}").contains("hunter2"));
    }

    #[test]
    fn malformed_references_are_reported() {
        let mut issues = Vec::new();
        resolve_references(
            &props(&[("a", "${ENV:X"), ("b", "${ENV:1x}")]),
            |_| EnvLookup::Unset,
            "the coordinator",
            &mut issues,
        );
        assert_eq!(issues.len(), 2, "{issues:?}");
    }

    #[test]
    fn grants_are_checked() {
        let grants = Grants {
            allowed_paths: vec!["relative/dir".into(), "/abs".into()],
            allowed_hosts: vec!["ftp://x".into(), "https://ok.example.com".into()],
        };
        assert_eq!(check_grants(&grants).len(), 2);
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let given = props(&[("password", "${ENV:PW}"), ("user", "alice")]);
        let resolved = vec![
            ("password".to_owned(), "hunter2".to_owned()),
            ("user".to_owned(), "alice".to_owned()),
        ];
        let fields = fields();
        let secrets = secret_values(&given, &resolved, &[], |key| is_secret_field(&fields, key));
        assert_eq!(
            scrub("bad password hunter2 for alice", &secrets),
            "bad password *** for alice"
        );
        // The variable's part of a property, echoed alone and hex-encoded, is caught too.
        let given = props(&[("dsn", "host=db password=${ENV:PW}")]);
        let resolved = vec![("dsn".to_owned(), "host=db password=\nhunter2".to_owned())];
        let secrets = secret_values(&given, &resolved, &["\nhunter2".to_owned()], |_| false);
        let echoed = format!("bad: {} / {}", "hunter2", hex::encode("hunter2"));
        assert_eq!(scrub(&echoed, &secrets), "bad: *** / ***");
    }
}
