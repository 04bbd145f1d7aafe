//! Appending a custom section to a WebAssembly binary. A component (or module) with one more
//! custom section at its end is still valid and means the same thing, but its bytes, and so its
//! sha256, are new: `quarry-bench sync` uses that to upload "a new plugin" as often as it likes,
//! and the server's tests to upload other bytes of the same plugin (or a padded one).

/// `wasm` with a custom section `name` holding `payload` appended: byte 0x00 (custom section
/// id), the section size as unsigned LEB128, the name's length as unsigned LEB128, the name, the
/// payload.
pub fn with_custom_section(wasm: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(name.len() + payload.len() + 5);
    push_leb128(&mut content, name.len() as u64);
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(payload);

    let mut out = Vec::with_capacity(wasm.len() + content.len() + 6);
    out.extend_from_slice(wasm);
    out.push(0x00);
    push_leb128(&mut out, content.len() as u64);
    out.extend_from_slice(&content);
    out
}

/// Unsigned LEB128: seven bits per byte, low bits first, high bit set on every byte but the last.
fn push_leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_encodes_multi_byte_values() {
        let mut out = Vec::new();
        push_leb128(&mut out, 624_485);
        assert_eq!(out, [0xe5, 0x8e, 0x26]);
        out.clear();
        push_leb128(&mut out, 127);
        assert_eq!(out, [0x7f]);
        out.clear();
        push_leb128(&mut out, 128);
        assert_eq!(out, [0x80, 0x01]);
    }

    #[test]
    fn appends_a_well_formed_custom_section() {
        let header = b"\0asm\x0d\0\x01\0".to_vec();
        let payload = vec![7u8; 200];
        let out = with_custom_section(&header, "bench", &payload);
        assert_eq!(&out[..header.len()], &header[..]);
        let section = &out[header.len()..];
        assert_eq!(section[0], 0x00);
        // size = 1 (name length) + 5 (name) + 200 (payload) = 206 = 0xce 0x01 in LEB128.
        assert_eq!(&section[1..3], &[0xce, 0x01]);
        assert_eq!(section[3], 5);
        assert_eq!(&section[4..9], b"bench");
        assert_eq!(&section[9..], &payload[..]);
    }

    #[test]
    fn a_component_with_the_section_is_still_valid_and_carries_it() {
        let component = wat::parse_str(
            r#"(component (core module (func (export "f"))) (core instance (instantiate 0)))"#,
        )
        .unwrap();
        let out = with_custom_section(&component, "quarry-bench", b"round 7");
        assert_ne!(out, component);
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&out)
            .unwrap();
        let found = wasmparser::Parser::new(0)
            .parse_all(&out)
            .filter_map(Result::ok)
            .any(|payload| match payload {
                wasmparser::Payload::CustomSection(section) => {
                    section.name() == "quarry-bench" && section.data() == b"round 7"
                }
                _ => false,
            });
        assert!(found, "the custom section is not where a parser finds it");
    }
}
