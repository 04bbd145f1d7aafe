//! Which contract a component's bytes export, read from its outer layer with wasmparser before
//! anything is compiled (feature `inspect`: the host runtime and `cargo xtask build-plugins`).
//!
//! A component names the contract version in its export (`quarry:connector/source@0.1.0`).
//! [`inspect`] refuses what is not a component and lists the top-level exports; what to accept
//! is the caller's decision (the runtime serves some versions, xtask only reports the one found).
//! Full validation happens when the component is compiled.

use wasmparser::{ComponentExternalKind, Parser, Payload};

use crate::SOURCE_INTERFACE;

/// Why bytes are not a component whose exports can be read.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("not a WebAssembly binary (no `\\0asm` header)")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component; build the connector for wasm32-wasip2 \
         (or wrap the module with `wasm-tools component new`)"
    )]
    CoreModule,
    #[error("unknown WebAssembly binary version (neither a core module nor a component)")]
    UnknownVersion,
    #[error("malformed component: {0}")]
    Malformed(#[source] wasmparser::BinaryReaderError),
    #[error("malformed export section: {0}")]
    MalformedExports(#[source] wasmparser::BinaryReaderError),
}

/// One top-level export of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    /// A function (rather than an instance, a type, a module or a component).
    pub is_func: bool,
}

/// The top-level exports of a component, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub exports: Vec<Export>,
}

impl Inspection {
    /// The contract version of the first `quarry:connector/source@X.Y.Z` export, as written
    /// (unparsed, so a caller can name a version it does not know).
    pub fn source_version(&self) -> Option<&str> {
        self.exports.iter().find_map(|export| {
            export
                .name
                .strip_prefix(SOURCE_INTERFACE)
                .and_then(|rest| rest.strip_prefix('@'))
        })
    }

    /// Whether the component exports a function named `name` at the top level.
    pub fn exports_func(&self, name: &str) -> bool {
        self.exports.iter().any(|e| e.name == name && e.is_func)
    }
}

/// Checks that `bytes` are a component and reads its top-level exports. Nested modules and
/// components are skipped: only the outer layer says what the component offers the host.
pub fn inspect(bytes: &[u8]) -> Result<Inspection, InspectError> {
    if !bytes.starts_with(b"\0asm") {
        return Err(InspectError::NotWasm);
    }
    if Parser::is_core_wasm(bytes) {
        return Err(InspectError::CoreModule);
    }
    if !Parser::is_component(bytes) {
        return Err(InspectError::UnknownVersion);
    }

    let mut depth = 0usize;
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(InspectError::Malformed)? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentExportSection(section) if depth == 0 => {
                for export in section {
                    let export = export.map_err(InspectError::MalformedExports)?;
                    exports.push(Export {
                        name: export.name.name.to_owned(),
                        is_func: export.kind == ComponentExternalKind::Func,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(Inspection { exports })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_component() {
        assert!(matches!(inspect(b"hello"), Err(InspectError::NotWasm)));
        assert!(matches!(
            inspect(b"\0asm\x01\0\0\0"),
            Err(InspectError::CoreModule)
        ));
        assert!(matches!(
            inspect(b"\0asm\x07\0\x07\0"),
            Err(InspectError::UnknownVersion)
        ));
    }

    #[test]
    fn an_empty_component_exports_nothing() {
        let inspection = inspect(b"\0asm\x0d\0\x01\0").unwrap();
        assert!(inspection.exports.is_empty());
        assert_eq!(inspection.source_version(), None);
    }

    #[test]
    fn the_source_version_is_read_from_the_export_name() {
        let inspection = Inspection {
            exports: vec![
                Export {
                    name: "quarry:connector/sourcery@9.9.9".to_owned(),
                    is_func: false,
                },
                Export {
                    name: "quarry:connector/source@0.1.0".to_owned(),
                    is_func: false,
                },
                Export {
                    name: "pre-initialize".to_owned(),
                    is_func: true,
                },
            ],
        };
        assert_eq!(inspection.source_version(), Some("0.1.0"));
        assert!(inspection.exports_func("pre-initialize"));
        assert!(!inspection.exports_func("quarry:connector/source@0.1.0"));
    }
}
