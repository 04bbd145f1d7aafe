//! The split payload: self-contained, so any instance on any worker can read the split. It
//! carries the first request's URL (placeholders filled, filter parameters set), the values the
//! split asked the API for, and the table's columns as planned, so opening a split never
//! fetches a page just to learn the schema again.

use quarry_sdk::split_json;
use quarry_sdk::type_syntax::{format_column_type, parse_column_type};
use quarry_sdk::{Column, ConnectorError, Result};
use serde::{Deserialize, Serialize};

/// What one split reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPayload {
    /// The first request's URL (pagination adds its own parameters).
    pub url: String,
    /// `(column, value)`: what this split asked the API for, through a placeholder or a filter
    /// parameter.
    pub fixed: Vec<(String, String)>,
    /// `(name, type)` of every column of the table, in the `columns` syntax.
    pub columns: Vec<(String, String)>,
}

impl SplitPayload {
    pub fn new(url: String, fixed: Vec<(String, String)>, columns: &[Column]) -> Self {
        SplitPayload {
            url,
            fixed,
            columns: columns
                .iter()
                .map(|c| (c.name.clone(), format_column_type(c)))
                .collect(),
        }
    }

    /// The table's columns as planned.
    pub fn columns(&self) -> Result<Vec<Column>> {
        self.columns
            .iter()
            .map(|(name, type_text)| {
                let parsed = parse_column_type(type_text).map_err(|e| {
                    ConnectorError::invalid_config(format!("http split payload: {e}"))
                })?;
                Ok(Column {
                    name: name.clone(),
                    data_type: parsed.data_type,
                    nullable: parsed.nullable,
                    doc: None,
                })
            })
            .collect()
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        split_json::encode("http", self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        split_json::decode("http", bytes)
    }
}

#[cfg(test)]
mod tests {
    use quarry_sdk::DataType;

    use super::*;

    #[test]
    fn payload_round_trips_and_rejects_garbage() {
        let columns = vec![
            Column::not_null("id", DataType::Int64),
            Column::new(
                "price",
                DataType::Decimal128 {
                    precision: 10,
                    scale: 2,
                },
            ),
        ];
        let payload = SplitPayload::new(
            "http://h/items?status=open".into(),
            vec![("status".into(), "open".into())],
            &columns,
        );
        let back = SplitPayload::decode(&payload.encode().unwrap()).unwrap();
        assert_eq!(back, payload);
        assert_eq!(back.columns().unwrap(), columns);
        assert!(SplitPayload::decode(b"nope").is_err());
    }
}
