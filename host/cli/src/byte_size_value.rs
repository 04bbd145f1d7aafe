//! Byte sizes as people write them in flags, environment variables and the TOML file: a whole
//! number and a binary unit, `64KiB`, `512MiB`, `1GiB` (a bare number is bytes).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A number of bytes parsed from `4096`, `64KiB`, `512MiB`, `1GiB` or `1TiB`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSizeValue(pub u64);

/// Why a byte size could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid size \"{value}\": {reason} (write it as 4096, 64KiB, 512MiB or 1GiB)")]
pub struct ByteSizeError {
    value: String,
    reason: &'static str,
}

/// Units in lowercase and their size; matching ignores case.
const UNITS: [(&str, u64); 6] = [
    ("", 1),
    ("b", 1),
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
];

impl FromStr for ByteSizeValue {
    type Err = ByteSizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason| ByteSizeError {
            value: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        if number.is_empty() {
            return Err(error("no number"));
        }
        let number: u64 = number.parse().map_err(|_| error("out of range"))?;
        let unit = unit.trim().to_ascii_lowercase();
        let multiplier = match UNITS.iter().find(|(name, _)| *name == unit) {
            Some((_, multiplier)) => *multiplier,
            None if matches!(unit.as_str(), "k" | "kb" | "m" | "mb" | "g" | "gb") => {
                return Err(error("ambiguous unit, use the binary KiB, MiB or GiB"));
            }
            None => return Err(error("unknown unit")),
        };
        number
            .checked_mul(multiplier)
            .map(ByteSizeValue)
            .ok_or_else(|| error("out of range"))
    }
}

impl fmt::Display for ByteSizeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if n >= size && n.is_multiple_of(size) {
                return write!(f, "{}{unit}", n / size);
            }
        }
        write!(f, "{n}")
    }
}

impl<'de> Deserialize<'de> for ByteSizeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Bytes(bytes) => Ok(ByteSizeValue(bytes)),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<u64> {
        text.parse::<ByteSizeValue>().map(|b| b.0).ok()
    }

    #[test]
    fn parses_bytes_and_binary_units() {
        assert_eq!(parse("4096"), Some(4096));
        assert_eq!(parse("4096B"), Some(4096));
        assert_eq!(parse("64KiB"), Some(64 * 1024));
        assert_eq!(parse("512MiB"), Some(512 << 20));
        assert_eq!(parse("512 mib"), Some(512 << 20));
        assert_eq!(parse("1GiB"), Some(1 << 30));
        assert_eq!(parse("2TiB"), Some(2 << 40));
    }

    #[test]
    fn refuses_what_it_cannot_read_and_says_why() {
        assert_eq!(parse("MiB"), None);
        assert_eq!(parse("1.5GiB"), None);
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("10 pages"), None);
        assert_eq!(parse("99999999999GiB"), None);
        let error = "512MB".parse::<ByteSizeValue>().unwrap_err().to_string();
        assert!(error.contains("512MB") && error.contains("MiB"), "{error}");
    }

    #[test]
    fn displays_what_it_parses() {
        for text in ["4095", "64KiB", "512MiB", "4GiB"] {
            assert_eq!(text.parse::<ByteSizeValue>().unwrap().to_string(), text);
        }
    }
}
