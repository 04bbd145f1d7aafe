//! Checks that a `.wasm` file is a component (not a core module) exporting the connector
//! contract's `source` interface, and returns the contract version it exports. Reading the
//! exports is `quarry_contract::inspect`, the same code the host runtime runs on an upload.

use anyhow::{Result, bail};
use quarry_contract::SOURCE_INTERFACE;
use quarry_contract::inspect::{InspectError, inspect};

/// The contract version of a connector component, read from its top-level exports.
pub fn check(bytes: &[u8]) -> Result<String> {
    let inspection = match inspect(bytes) {
        Ok(inspection) => inspection,
        Err(InspectError::CoreModule) => bail!("a core wasm module, not a component"),
        Err(err) => bail!("not a wasm component: {err}"),
    };
    match inspection.source_version() {
        Some(version) => Ok(version.to_owned()),
        None => bail!("the component does not export {SOURCE_INTERFACE}@<version>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_tpch_plugin_is_a_component_exporting_the_contract() {
        let path = crate::repo_root().join("target/plugins/tpch.wasm");
        let bytes = std::fs::read(&path).unwrap_or_else(|err| {
            panic!(
                "{} is missing ({err}); build the plugins with `cargo xtask build-plugins`",
                path.display()
            )
        });
        assert_eq!(check(&bytes).unwrap(), "0.1.0");
    }

    #[test]
    fn the_built_files_plugin_is_a_component_exporting_the_contract() {
        let path = crate::repo_root().join("target/plugins/files.wasm");
        let bytes = std::fs::read(&path).unwrap_or_else(|err| {
            panic!(
                "{} is missing ({err}); build the plugins with `cargo xtask build-plugins`",
                path.display()
            )
        });
        assert_eq!(check(&bytes).unwrap(), "0.1.0");
    }

    #[test]
    fn the_built_hello_plugin_is_a_component_exporting_the_contract() {
        let path = crate::repo_root().join("target/plugins/hello.wasm");
        let bytes = std::fs::read(&path).unwrap_or_else(|err| {
            panic!(
                "{} is missing ({err}); build the plugins with `cargo xtask build-plugins`",
                path.display()
            )
        });
        assert_eq!(check(&bytes).unwrap(), "0.1.0");
    }

    #[test]
    fn core_modules_and_garbage_are_refused() {
        let core_module = b"\0asm\x01\0\0\0";
        let err = check(core_module).unwrap_err().to_string();
        assert!(err.contains("core wasm module"), "{err}");
        assert!(check(b"not wasm at all").is_err());
        // An empty component: valid, but exports nothing.
        let empty_component = b"\0asm\x0d\0\x01\0";
        let err = check(empty_component).unwrap_err().to_string();
        assert!(err.contains("does not export"), "{err}");
    }
}
