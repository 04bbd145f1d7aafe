//! Checks that a `.wasm` file is a component (not a core module) exporting the connector
//! contract's `source` interface, and returns the contract version it exports.

use anyhow::{Result, bail};
use wasmparser::{Encoding, Parser, Payload};

/// The export name prefix of the contract's `source` interface.
pub const SOURCE_EXPORT: &str = "quarry:connector/source@";

/// The contract version of a connector component, read from its top-level exports.
pub fn check(bytes: &[u8]) -> Result<String> {
    let mut is_component = false;
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding != Encoding::Component {
                    bail!("a core wasm module, not a component");
                }
                is_component = true;
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentExportSection(exports) if depth == 1 => {
                for export in exports {
                    let name = export?.name.name;
                    if let Some(version) = name.strip_prefix(SOURCE_EXPORT) {
                        return Ok(version.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    if !is_component {
        bail!("not a wasm component");
    }
    bail!("the component does not export {SOURCE_EXPORT}<version>")
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
