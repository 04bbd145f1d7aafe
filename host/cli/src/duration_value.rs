//! Durations as people write them in flags, environment variables and the TOML file: a number and
//! a unit, `500ms`, `10s`, `2m`, `1h` (a bare number is seconds).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A [`Duration`] parsed from `500ms`, `10s`, `2m`, `1h` or a bare number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationValue(pub Duration);

/// Why a duration could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid duration \"{value}\": {reason} (write it as 500ms, 10s, 2m or 1h)")]
pub struct DurationError {
    value: String,
    reason: &'static str,
}

impl FromStr for DurationValue {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason| DurationError {
            value: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        if number.is_empty() {
            return Err(error("no number"));
        }
        let number: f64 = number.parse().map_err(|_| error("not a number"))?;
        let seconds_per_unit = match unit.trim() {
            "ms" => 0.001,
            "" | "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(error("unknown unit")),
        };
        Duration::try_from_secs_f64(number * seconds_per_unit)
            .map(DurationValue)
            .map_err(|_| error("out of range"))
    }
}

impl fmt::Display for DurationValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis.is_multiple_of(1000) {
            write!(f, "{}s", millis / 1000)
        } else {
            write!(f, "{millis}ms")
        }
    }
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Seconds(seconds) => Ok(DurationValue(Duration::from_secs(seconds))),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        let parse = |s: &str| s.parse::<DurationValue>().map(|d| d.0).ok();
        assert_eq!(parse("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("s"), None);
        assert_eq!(parse("10 days"), None);
    }

    #[test]
    fn displays_what_it_parses() {
        assert_eq!(DurationValue(Duration::from_secs(10)).to_string(), "10s");
        assert_eq!(
            DurationValue(Duration::from_millis(250)).to_string(),
            "250ms"
        );
    }
}
