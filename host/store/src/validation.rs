//! What a catalog name, a plugin name, a version and a worker id may look like.
//!
//! Catalog and plugin names are SQL identifiers that never need quoting: `[a-z_][a-z0-9_]{0,62}`.
//! Lowercase only, because SQL front ends fold unquoted identifiers to lowercase (so `Sales`
//! typed in a query finds `sales`), and at most 63 bytes, PostgreSQL's identifier limit, so a name
//! can be used verbatim wherever an identifier goes. The store rejects other names rather than
//! folding them, so what a user sees is what they typed.
//!
//! Versions (plugin versions, contract versions) are semver-ish: they start with a digit and use
//! only `[0-9A-Za-z.+-]`, at most 64 bytes (`1.2.0`, `0.1.0-rc.1+build.5`). Ordering between
//! versions is not the store's business.
//!
//! Worker ids are chosen by the worker (often a host name, or `host:port`): 1 to 128 bytes of
//! `[A-Za-z0-9._:-]`.

use crate::error::{Error, Result};

const MAX_IDENTIFIER_LEN: usize = 63;
const MAX_VERSION_LEN: usize = 64;
const MAX_WORKER_ID_LEN: usize = 128;

/// Checks a catalog or plugin name; `kind` names it in the error (`"catalog name"`).
pub fn validate_identifier(kind: &'static str, value: &str) -> Result<()> {
    let invalid = |reason| {
        Err(Error::InvalidName {
            kind,
            value: value.to_owned(),
            reason,
        })
    };
    let Some(first) = value.bytes().next() else {
        return invalid("must not be empty");
    };
    if value.len() > MAX_IDENTIFIER_LEN {
        return invalid("must be at most 63 characters");
    }
    if !(first.is_ascii_lowercase() || first == b'_') {
        return invalid("must start with a lowercase letter or '_'");
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return invalid("may contain only lowercase letters, digits and '_'");
    }
    Ok(())
}

/// Checks a plugin version or contract version; `kind` names it in the error.
pub fn validate_version(kind: &'static str, value: &str) -> Result<()> {
    let invalid = |reason| {
        Err(Error::InvalidName {
            kind,
            value: value.to_owned(),
            reason,
        })
    };
    let Some(first) = value.bytes().next() else {
        return invalid("must not be empty");
    };
    if value.len() > MAX_VERSION_LEN {
        return invalid("must be at most 64 characters");
    }
    if !first.is_ascii_digit() {
        return invalid("must start with a digit");
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
    {
        return invalid("may contain only letters, digits, '.', '+' and '-'");
    }
    Ok(())
}

/// Checks a worker id.
pub fn validate_worker_id(value: &str) -> Result<()> {
    let invalid = |reason| {
        Err(Error::InvalidName {
            kind: "worker id",
            value: value.to_owned(),
            reason,
        })
    };
    if value.is_empty() {
        return invalid("must not be empty");
    }
    if value.len() > MAX_WORKER_ID_LEN {
        return invalid("must be at most 128 characters");
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    {
        return invalid("may contain only letters, digits, '.', '_', ':' and '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["sales", "_x", "tpch_sf1", "a", &"a".repeat(63)] {
            assert!(validate_identifier("catalog name", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Sales",
            "1abc",
            "a-b",
            "a.b",
            "a b",
            "é",
            &"a".repeat(64),
        ] {
            assert!(validate_identifier("catalog name", bad).is_err(), "{bad}");
        }
        let message = validate_identifier("catalog name", "Sales")
            .map_err(|e| e.to_string())
            .err();
        assert_eq!(
            message.as_deref(),
            Some("invalid catalog name \"Sales\": must start with a lowercase letter or '_'")
        );
    }

    #[test]
    fn versions() {
        for ok in ["0.1.0", "1", "1.2.3-rc.1+build.5", "2024.1"] {
            assert!(validate_version("plugin version", ok).is_ok(), "{ok}");
        }
        for bad in ["", "v1.0", "1.0 beta", "1/2", &"1".repeat(65)] {
            assert!(validate_version("plugin version", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn worker_ids() {
        for ok in ["worker-1", "10.0.0.7:9001", "host.example_1"] {
            assert!(validate_worker_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a/b", &"w".repeat(129)] {
            assert!(validate_worker_id(bad).is_err(), "{bad}");
        }
    }
}
