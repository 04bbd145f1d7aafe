//! The split payload: which generator part of how many.

use quarry_sdk::{ConnectorError, Result};

/// Part `part` (1-based) of `parts`. The schema and table come with the scan request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitPayload {
    pub part: u32,
    pub parts: u32,
}

impl SplitPayload {
    /// `part/parts` as text: small, readable in logs, stable across versions.
    pub fn encode(&self) -> Vec<u8> {
        format!("{}/{}", self.part, self.parts).into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let invalid = || {
            ConnectorError::invalid_config(format!(
                "invalid tpch split payload {:?}",
                String::from_utf8_lossy(bytes)
            ))
        };
        let text = std::str::from_utf8(bytes).map_err(|_| invalid())?;
        let (part, parts) = text.split_once('/').ok_or_else(invalid)?;
        let part: u32 = part.parse().map_err(|_| invalid())?;
        let parts: u32 = parts.parse().map_err(|_| invalid())?;
        if part == 0 || part > parts || i32::try_from(parts).is_err() {
            return Err(invalid());
        }
        Ok(Self { part, parts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_rejects_nonsense() {
        let p = SplitPayload { part: 3, parts: 8 };
        assert_eq!(SplitPayload::decode(&p.encode()).unwrap(), p);
        for bad in [&b"0/3"[..], b"4/3", b"x", b"1/", b"\xff"] {
            assert!(SplitPayload::decode(bad).is_err(), "{bad:?}");
        }
    }
}
