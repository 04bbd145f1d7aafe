//! Catalog properties and typed access to them.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::{ConfigIssue, ConnectorError, Result};

/// A catalog's properties (string keys to string values), with `${ENV:...}` references already
/// resolved by the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    values: BTreeMap<String, String>,
}

impl Properties {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces one property.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.values.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The value of a required property, or `invalid-config` naming it.
    pub fn require(&self, key: &str) -> Result<&str> {
        self.get(key).ok_or_else(|| {
            ConnectorError::invalid_config(format!("property \"{key}\" is required"))
        })
    }

    /// The property parsed as `T`, `None` when absent, or `invalid-config` naming the key, the
    /// value and the reason when it does not parse.
    pub fn parse<T>(&self, key: &str) -> Result<Option<T>>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.get(key)
            .map(|raw| {
                raw.trim().parse::<T>().map_err(|err| {
                    ConnectorError::invalid_config(format!(
                        "property \"{key}\": cannot parse {raw:?}: {err}"
                    ))
                })
            })
            .transpose()
    }

    /// Like [`Properties::parse`], with a default for an absent key.
    pub fn parse_or<T>(&self, key: &str, default: T) -> Result<T>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        Ok(self.parse(key)?.unwrap_or(default))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// One issue per key that is not in `known`, naming the key and the known ones (connectors
    /// refuse keys they do not understand, which are typos more often than not).
    pub fn unknown_keys(&self, known: &[&str]) -> Vec<ConfigIssue> {
        self.values
            .keys()
            .filter(|key| !known.contains(&key.as_str()))
            .map(|key| {
                ConfigIssue::field(
                    key,
                    format!("unknown property \"{key}\" (known: {})", known.join(", ")),
                )
            })
            .collect()
    }
}

impl FromIterator<(String, String)> for Properties {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self {
            values: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_access_names_the_key_and_value_on_error() {
        let props = Properties::new().with("splits", "4").with("scale", "big");
        assert_eq!(props.parse::<u32>("splits").unwrap(), Some(4));
        assert_eq!(props.parse_or::<u32>("missing", 7).unwrap(), 7);
        let err = props.parse::<f64>("scale").unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidConfig);
        assert!(
            err.message.contains("\"scale\"") && err.message.contains("big"),
            "{err}"
        );
        assert!(
            props
                .require("nope")
                .unwrap_err()
                .message
                .contains("\"nope\"")
        );
    }

    #[test]
    fn unknown_keys_are_each_an_issue() {
        let props = Properties::new().with("splits", "4").with("colour", "blue");
        let issues = props.unknown_keys(&["splits", "scale"]);
        assert_eq!(
            issues,
            vec![ConfigIssue::field(
                "colour",
                "unknown property \"colour\" (known: splits, scale)"
            )]
        );
    }
}
