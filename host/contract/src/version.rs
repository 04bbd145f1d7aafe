//! The contract's version and the name of the interface every connector exports: the one place
//! they are written (the WIT package, `wit/connector.wit`, says the same; a test checks it).

use std::fmt;

/// The contract version this code describes: the WIT package `quarry:connector@0.1.0`.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// The interface every connector exports, without its version. A component's export is named
/// `{SOURCE_INTERFACE}@{version}` (`quarry:connector/source@0.1.0`).
pub const SOURCE_INTERFACE: &str = "quarry:connector/source";

/// A contract version (`quarry:connector@X.Y.Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContractVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ContractVersion {
    /// `0.1.0`, the first contract ([`CONTRACT_VERSION`]).
    pub const V0_1_0: ContractVersion = ContractVersion {
        major: 0,
        minor: 1,
        patch: 0,
    };

    /// Parses `X.Y.Z` (no pre-release or build suffix: the contract never uses them).
    pub fn parse(s: &str) -> Option<ContractVersion> {
        let mut parts = s.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(ContractVersion {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(
            ContractVersion::parse("0.1.0"),
            Some(ContractVersion::V0_1_0)
        );
        assert_eq!(ContractVersion::parse("0.1"), None);
        assert_eq!(ContractVersion::parse("0.1.0.1"), None);
        assert_eq!(ContractVersion::parse("x.1.0"), None);
    }

    #[test]
    fn the_constants_agree_with_each_other_and_the_wit() {
        assert_eq!(ContractVersion::V0_1_0.to_string(), CONTRACT_VERSION);
        let wit = include_str!("../../../wit/connector.wit");
        assert!(
            wit.contains(&format!("package quarry:connector@{CONTRACT_VERSION};")),
            "wit/connector.wit does not declare version {CONTRACT_VERSION}"
        );
        let (package, interface) = SOURCE_INTERFACE.split_once('/').unwrap_or_default();
        assert_eq!(package, "quarry:connector");
        assert!(wit.contains(&format!("interface {interface} {{")));
    }
}
