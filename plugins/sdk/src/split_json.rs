//! Split payloads as JSON (feature `split-json`): a connector describes a split with a small
//! serde type and lets these two functions turn it into the contract's opaque bytes and back.
//! JSON keeps payloads readable in logs and stable across plugin builds.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{ConnectorError, Result};

/// The payload as JSON bytes; a failure (a type serde cannot write) is `internal`, naming the
/// connector.
pub fn encode<T: Serialize>(connector: &str, payload: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(payload)
        .map_err(|e| ConnectorError::internal(format!("{connector} split payload: {e}")))
}

/// The payload read back; bytes the connector never wrote are `invalid-config`, naming the
/// connector.
pub fn decode<T: DeserializeOwned>(connector: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        ConnectorError::invalid_config(format!("invalid {connector} split payload: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_garbage_names_the_connector() {
        let payload = vec![("a".to_owned(), 1u32)];
        let bytes = encode("demo", &payload).unwrap();
        assert_eq!(
            decode::<Vec<(String, u32)>>("demo", &bytes).unwrap(),
            payload
        );
        let err = decode::<Vec<(String, u32)>>("demo", b"nope").unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidConfig);
        assert!(
            err.message.starts_with("invalid demo split payload: "),
            "{err}"
        );
    }
}
