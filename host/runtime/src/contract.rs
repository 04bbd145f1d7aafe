//! Which contract a component speaks, read from its bytes before anything is compiled.
//!
//! A component names the contract version in every export (`quarry:connector/source@0.1.0`).
//! The host keeps one binding module per version it serves ([`crate::bindings`]) and refuses
//! the rest with a message that lists what it accepts.

use std::fmt;

use wasmparser::{ComponentExternalKind, Parser, Payload};

use crate::error::{Error, Result};

/// The interface every connector exports, without its version.
pub const SOURCE_INTERFACE: &str = "quarry:connector/source";

/// A contract version (`quarry:connector@X.Y.Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContractVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ContractVersion {
    /// `0.1.0`, the first contract.
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

/// The contract versions this host serves, oldest first; one binding module each.
pub const SUPPORTED_CONTRACTS: &[ContractVersion] = &[ContractVersion::V0_1_0];

fn accepted_list() -> String {
    SUPPORTED_CONTRACTS
        .iter()
        .map(|v| format!("{SOURCE_INTERFACE}@{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the outer layer of a component says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspected {
    /// The contract version it exports.
    pub contract: ContractVersion,
    /// It exports `pre-initialize: func()` at the top level ([`crate::pre_initialize`]).
    pub pre_initialize: bool,
}

/// Checks that `bytes` are a component exporting a supported version of the contract, and
/// returns that version and whether it asks to be pre-initialised.
///
/// Refuses a core module, bytes that are not WebAssembly at all, a component that does not
/// export `quarry:connector/source`, and one that exports a version this host cannot serve.
/// Full validation happens when the component is compiled; this only reads the outer layer.
pub fn inspect(bytes: &[u8]) -> Result<Inspected> {
    if !bytes.starts_with(b"\0asm") {
        return Err(Error::InvalidComponent {
            reason: "not a WebAssembly binary (no `\\0asm` header)".into(),
        });
    }
    if Parser::is_core_wasm(bytes) {
        return Err(Error::InvalidComponent {
            reason: "a core WebAssembly module, not a component; build the connector for \
                     wasm32-wasip2 (or wrap the module with `wasm-tools component new`)"
                .into(),
        });
    }
    if !Parser::is_component(bytes) {
        return Err(Error::InvalidComponent {
            reason: "unknown WebAssembly binary version (neither a core module nor a component)"
                .into(),
        });
    }

    let mut depth = 0usize;
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| Error::InvalidComponent {
            reason: format!("malformed component: {e}"),
        })?;
        match payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentExportSection(section) if depth == 0 => {
                for export in section {
                    let export = export.map_err(|e| Error::InvalidComponent {
                        reason: format!("malformed export section: {e}"),
                    })?;
                    exports.push((export.name.name.to_owned(), export.kind));
                }
            }
            _ => {}
        }
    }

    let pre_initialize = exports.iter().any(|(name, kind)| {
        name == crate::pre_initialize::PRE_INITIALIZE_EXPORT && *kind == ComponentExternalKind::Func
    });
    let exports: Vec<String> = exports.into_iter().map(|(name, _)| name).collect();
    let prefix = format!("{SOURCE_INTERFACE}@");
    let versions: Vec<&str> = exports
        .iter()
        .filter_map(|name| name.strip_prefix(&prefix))
        .collect();
    let Some(found) = versions.first() else {
        let listed = if exports.is_empty() {
            "none".to_owned()
        } else {
            exports.join(", ")
        };
        return Err(Error::InvalidComponent {
            reason: format!(
                "does not export {SOURCE_INTERFACE} (its exports: {listed}); this host accepts {}",
                accepted_list()
            ),
        });
    };
    match ContractVersion::parse(found) {
        Some(contract) if SUPPORTED_CONTRACTS.contains(&contract) => Ok(Inspected {
            contract,
            pre_initialize,
        }),
        _ => Err(Error::UnsupportedContract {
            found: (*found).to_owned(),
            accepted: accepted_list(),
        }),
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
    fn refuses_non_wasm() {
        let err = inspect(b"hello").unwrap_err();
        assert!(
            err.to_string().contains("not a WebAssembly binary"),
            "{err}"
        );
    }
}
