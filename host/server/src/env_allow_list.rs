//! [`EnvAllowList`]: which environment variables a catalog's `${ENV:NAME}` references may read
//! on this host. The operator lists names and `PREFIX*` patterns; nothing else resolves, and
//! Quarry's own variables (`QUARRY_*`: the admin token, the cluster secret, the database URL)
//! never do, whatever the list says. A refused name gets the same answer whether it is set or
//! not, so a catalog cannot probe the environment.

use std::collections::BTreeMap;

use crate::catalog_properties::EnvLookup;

/// The variables `${ENV:…}` may read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvAllowList {
    patterns: Vec<String>,
}

/// Why an allow-list entry is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "env_allow entry \"{0}\" is not a variable name or a PREFIX* pattern (letters, digits and _, not starting with a digit)"
)]
pub struct EnvAllowError(String);

/// Quarry's own variables: never resolvable.
const OWN_PREFIX: &str = "QUARRY_";

impl EnvAllowList {
    /// The list of `NAME` and `PREFIX*` entries.
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Result<Self, EnvAllowError> {
        let mut patterns = Vec::new();
        for entry in entries {
            let entry = entry.as_ref().trim();
            let name = entry.strip_suffix('*').unwrap_or(entry);
            let valid = name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(EnvAllowError(entry.to_owned()));
            }
            patterns.push(entry.to_owned());
        }
        Ok(EnvAllowList { patterns })
    }

    /// Whether `${ENV:name}` may be resolved here.
    pub fn allows(&self, name: &str) -> bool {
        if name.starts_with(OWN_PREFIX) {
            return false;
        }
        self.patterns
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == pattern,
            })
    }

    /// Looks `name` up, if allowed: in `environment` when given (tests, embedding), else in
    /// the process environment. A name not allowed is not read at all.
    pub fn lookup(&self, name: &str, environment: Option<&BTreeMap<String, String>>) -> EnvLookup {
        if !self.allows(name) {
            return EnvLookup::NotAllowed;
        }
        let value = match environment {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.map_or(EnvLookup::Unset, EnvLookup::Value)
    }

    /// The entries, for messages (`TPCH_*, PG_PASSWORD`), or `nothing` when empty.
    pub fn describe(&self) -> String {
        if self.patterns.is_empty() {
            "nothing".to_owned()
        } else {
            self.patterns.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_prefixes_allow_and_quarry_variables_never_resolve() {
        let list = EnvAllowList::new(&["PG_PASSWORD", "TPCH_*", "QUARRY_*"]).unwrap();
        assert!(list.allows("PG_PASSWORD"));
        assert!(!list.allows("PG_PASSWORD2"));
        assert!(list.allows("TPCH_SPLITS"));
        assert!(!list.allows("HOME"));
        assert!(!list.allows("QUARRY_ADMIN_TOKEN"));
        assert!(!list.allows("QUARRY_DATABASE_URL"));
        assert!(!EnvAllowList::default().allows("PG_PASSWORD"));
    }

    #[test]
    fn malformed_entries_are_refused() {
        for bad in ["", "*", "A-B", "1ABC", "A*B"] {
            assert!(EnvAllowList::new(&[bad]).is_err(), "{bad}");
        }
    }
}
