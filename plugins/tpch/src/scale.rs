//! Schemas: one per scale factor.

use quarry_sdk::{ConnectorError, Result};

/// Schema names and their scale factors.
pub const SCHEMAS: [(&str, f64); 5] = [
    ("tiny", 0.01),
    ("sf1", 1.0),
    ("sf10", 10.0),
    ("sf100", 100.0),
    ("sf1000", 1000.0),
];

/// The scale factor of a schema, or `not-found` naming the schema and the known ones.
pub fn scale_factor(schema: &str) -> Result<f64> {
    SCHEMAS
        .iter()
        .find(|(name, _)| *name == schema)
        .map(|(_, sf)| *sf)
        .ok_or_else(|| {
            ConnectorError::not_found(format!(
                "schema \"{schema}\" not found (tpch has tiny, sf1, sf10, sf100, sf1000)"
            ))
        })
}
