//! A catalog's properties on the host that runs its plugin: `${ENV:NAME}` references resolved
//! in that host's environment (the coordinator to validate, a worker to load), the grants sent
//! with a catalog turned into sandbox grants, and secret values kept out of every message. The
//! steps of [`catalog_open`](crate::catalog_open), which puts them in order.

use std::collections::BTreeMap;
use std::path::PathBuf;

use quarry_runtime::{HostPattern, SecretScrubber, SocketGrant};

use crate::api_error::Issue;
use crate::sync_protocol::WireGrants;

/// The sandbox grants for a catalog's grants (already checked when it was stored).
pub fn runtime_grants(grants: &WireGrants) -> quarry_runtime::Grants {
    quarry_runtime::Grants {
        allowed_paths: grants.allowed_paths.iter().map(PathBuf::from).collect(),
        allowed_hosts: grants
            .allowed_hosts
            .iter()
            .filter_map(|h| HostPattern::parse(h))
            .collect(),
        allowed_sockets: grants
            .allowed_sockets
            .iter()
            .filter_map(|s| SocketGrant::parse(s).ok())
            .collect(),
    }
}

const REFERENCE_START: &str = "${ENV:";

/// What looking up a `${ENV:NAME}` reference on this host found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvLookup {
    Value(String),
    Unset,
    /// The name is not on this host's allow-list (the variable was not read).
    NotAllowed,
}

/// Properties with their references resolved.
#[derive(Debug, Default)]
pub struct ResolvedProperties {
    pub properties: BTreeMap<String, String>,
    /// The values the references were replaced with: secrets, whatever the field.
    pub substituted: Vec<String>,
}

/// Properties with every `${ENV:NAME}` replaced by the variable's value; an unset or refused
/// variable or a malformed reference adds an issue (naming the variable, never a value).
pub fn resolve_references(
    properties: &BTreeMap<String, String>,
    lookup: impl Fn(&str) -> EnvLookup,
    host: &str,
    issues: &mut Vec<Issue>,
) -> ResolvedProperties {
    let mut resolved = ResolvedProperties::default();
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
                    EnvLookup::Value(found) => {
                        out.push_str(&found);
                        resolved.substituted.push(found);
                    }
                    EnvLookup::Unset => issues.push(Issue::field(
                        key.clone(),
                        format!("environment variable \"{var}\" is not set on {host}"),
                    )),
                    EnvLookup::NotAllowed => issues.push(Issue::field(
                        key.clone(),
                        format!(
                            "environment variable \"{var}\" may not be read on {host}: \
                             it is not on the host's env_allow list (QUARRY_* never is)"
                        ),
                    )),
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        resolved.properties.insert(key.clone(), out);
    }
    resolved
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Values that must not reach a response or a log: what secret fields resolved to, what any
/// property holding a `${ENV:…}` reference resolved to, and each variable's value on its own
/// (`substituted`), so that a plugin echoing only the variable's part is caught too.
pub fn secret_values(
    given: &BTreeMap<String, String>,
    resolved: &[(String, String)],
    substituted: &[String],
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
        .chain(substituted.iter().filter(|v| !v.is_empty()).cloned())
        .collect()
}

/// `text` with every secret value, in its common encodings, replaced by `***`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    SecretScrubber::new(secrets).scrub(text)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Properties from pairs.
    pub(crate) fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
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
    fn secrets_are_scrubbed_from_messages() {
        let given = props(&[("password", "${ENV:PW}"), ("user", "alice")]);
        let resolved = vec![
            ("password".to_owned(), "hunter2".to_owned()),
            ("user".to_owned(), "alice".to_owned()),
        ];
        let secrets = secret_values(&given, &resolved, &[], |key| key == "password");
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
