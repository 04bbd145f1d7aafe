//! The `env_allow` setting as people write it: `TPCH_*,PG_PASSWORD` in a flag or
//! `QUARRY_ENV_ALLOW`, an array of strings (or the same comma-separated string) in the file.
//! Each entry is checked when parsed, so a typo is an error naming it.

use std::str::FromStr;

use quarry_server::env_allow_list::{EnvAllowError, EnvAllowList};
use serde::{Deserialize, Deserializer};

/// A parsed, checked allow-list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvAllowValue(pub EnvAllowList);

impl FromStr for EnvAllowValue {
    type Err = EnvAllowError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let entries: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .collect();
        EnvAllowList::new(&entries).map(EnvAllowValue)
    }
}

impl<'de> Deserialize<'de> for EnvAllowValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            List(Vec<String>),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::List(entries) => EnvAllowList::new(&entries)
                .map(EnvAllowValue)
                .map_err(serde::de::Error::custom),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comma_list_or_an_array() {
        let parsed: EnvAllowValue = "TPCH_*, PG_PASSWORD".parse().unwrap();
        assert!(parsed.0.allows("TPCH_SPLITS") && parsed.0.allows("PG_PASSWORD"));
        #[derive(Deserialize)]
        struct File {
            env_allow: EnvAllowValue,
        }
        let file: File = toml::from_str(r#"env_allow = ["DATA_*"]"#).unwrap();
        assert!(file.env_allow.0.allows("DATA_ROOT"));
        assert!("A-B".parse::<EnvAllowValue>().is_err());
    }
}
