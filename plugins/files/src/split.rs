//! The split payload: self-contained, so any instance on any worker can read the split. It
//! carries the file (relative to the root, resolved again on open), the row groups to read and
//! the table's columns as planned, so opening a split never re-infers a schema.

use quarry_sdk::split_json;
use quarry_sdk::type_syntax::{format_type, parse_type};
use quarry_sdk::{Column, ConnectorError, Result};
use serde::{Deserialize, Serialize};

use crate::layout::Format;

/// What one split reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SplitPayload {
    /// One data file, or some row groups of a Parquet file.
    File {
        format: Format,
        path: String,
        /// Parquet row groups to read; `None` reads them all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        row_groups: Option<Vec<usize>>,
        columns: Vec<ColumnSpec>,
    },
    /// The `files$stats` system table.
    Stats,
}

/// A column as text: name, type in the `columns` syntax, nullability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub nullable: bool,
}

impl ColumnSpec {
    pub fn from_column(column: &Column) -> Self {
        ColumnSpec {
            name: column.name.clone(),
            data_type: format_type(&column.data_type),
            nullable: column.nullable,
        }
    }

    pub fn to_column(&self) -> Result<Column> {
        let data_type = parse_type(&self.data_type)
            .map_err(|e| ConnectorError::internal(format!("files split payload: {e}")))?;
        Ok(Column {
            name: self.name.clone(),
            data_type,
            nullable: self.nullable,
            doc: None,
        })
    }
}

impl SplitPayload {
    pub fn encode(&self) -> Result<Vec<u8>> {
        split_json::encode("files", self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        split_json::decode("files", bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_rejects_garbage() {
        let payload = SplitPayload::File {
            format: Format::Parquet,
            path: "s/t.parquet".into(),
            row_groups: Some(vec![0, 2]),
            columns: vec![ColumnSpec::from_column(&Column::new(
                "a",
                quarry_sdk::DataType::Int64,
            ))],
        };
        assert_eq!(
            SplitPayload::decode(&payload.encode().unwrap()).unwrap(),
            payload
        );
        assert!(SplitPayload::decode(b"nope").is_err());
    }
}
