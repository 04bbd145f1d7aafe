//! Which contract a component speaks, read from its bytes before anything is compiled.
//!
//! A component names the contract version in every export (`quarry:connector/source@0.1.0`).
//! Reading the exports is the contract crate's (`quarry_contract::inspect`, shared with
//! `cargo xtask build-plugins`); deciding what to accept is the host's: it keeps one binding
//! module per version it serves ([`crate::bindings`]) and refuses the rest with a message that
//! lists what it accepts.

pub use quarry_contract::{ContractVersion, SOURCE_INTERFACE};

use crate::error::{Error, Result};

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
    let inspection =
        quarry_contract::inspect::inspect(bytes).map_err(|e| Error::InvalidComponent {
            reason: e.to_string(),
        })?;
    let pre_initialize = inspection.exports_func(crate::pre_initialize::PRE_INITIALIZE_EXPORT);
    let Some(found) = inspection.source_version() else {
        let listed = if inspection.exports.is_empty() {
            "none".to_owned()
        } else {
            inspection
                .exports
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
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
            found: found.to_owned(),
            accepted: accepted_list(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_wasm() {
        let err = inspect(b"hello").unwrap_err();
        assert!(
            err.to_string().contains("not a WebAssembly binary"),
            "{err}"
        );
    }
}
