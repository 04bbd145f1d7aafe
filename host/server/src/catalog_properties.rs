//! A catalog's properties on the host that runs its plugin: `${ENV:NAME}` references resolved
//! in that host's environment (the coordinator to validate, a worker to load), store grants
//! turned into sandbox grants, and secret values kept out of every message.

use std::collections::BTreeMap;
use std::path::PathBuf;

use quarry_runtime::HostPattern;
use quarry_store::{ConfigField, Grants};

use crate::coordinator::api_error::Issue;

/// The sandbox grants for a catalog's stored grants (already checked when it was stored).
pub fn runtime_grants(grants: &Grants) -> quarry_runtime::Grants {
    quarry_runtime::Grants {
        allowed_paths: grants.allowed_paths.iter().map(PathBuf::from).collect(),
        allowed_hosts: grants
            .allowed_hosts
            .iter()
            .filter_map(|h| HostPattern::parse(h))
            .collect(),
    }
}

const REFERENCE_START: &str = "${ENV:";

/// Properties with every `${ENV:NAME}` replaced by the variable's value; an unset variable or a
/// malformed reference adds an issue (naming the variable, never a value).
pub fn resolve_references(
    properties: &BTreeMap<String, String>,
    lookup: impl Fn(&str) -> Option<String>,
    host: &str,
    issues: &mut Vec<Issue>,
) -> BTreeMap<String, String> {
    let mut resolved = BTreeMap::new();
    for (key, value) in properties {
        let mut out = String::with_capacity(value.len());
        let mut rest = value.as_str();
        while let Some(start) = rest.find(REFERENCE_START) {
            out.push_str(&rest[..start]);
            let after = &rest[start + REFERENCE_START.len()..];
            let Some(end) = after.find('}') else {
                issues.push(Issue::field(
                    key.clone(),
                    "unterminated ${ENV:…} reference".to_owned(),
                ));
                rest = "";
                break;
            };
            let var = &after[..end];
            if !is_env_name(var) {
                issues.push(Issue::field(
                    key.clone(),
                    format!("invalid environment variable name \"{var}\" in ${{ENV:…}}"),
                ));
            } else {
                match lookup(var) {
                    Some(found) => out.push_str(&found),
                    None => issues.push(Issue::field(
                        key.clone(),
                        format!("environment variable \"{var}\" is not set on {host}"),
                    )),
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        resolved.insert(key.clone(), out);
    }
    resolved
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Values that must not reach a response or a log: what secret fields resolved to, and what
/// any `${ENV:…}` reference resolved to.
pub fn secret_values(
    given: &BTreeMap<String, String>,
    resolved: &[(String, String)],
    is_secret: impl Fn(&str) -> bool,
) -> Vec<String> {
    resolved
        .iter()
        .filter(|(key, value)| {
            let secret = is_secret(key);
            let referenced = given
                .get(key)
                .is_some_and(|v| v.contains(REFERENCE_START) && v != value);
            (secret || referenced) && !value.is_empty()
        })
        .map(|(_, value)| value.clone())
        .collect()
}

/// `text` with every secret value replaced by `***`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret.as_str(), quarry_store::REDACTED)
    })
}

/// Whether `key` is declared secret among `fields`.
pub fn is_secret_field(fields: &[ConfigField], key: &str) -> bool {
    fields.iter().any(|f| f.secret && f.name == key)
}
