//! Column types, columns and table schemas (`data-type`, `column`, `table-schema`).
//!
//! Each [`DataType`] case stands for exactly one Arrow type; the mapping onto Arrow lives on each
//! side (the SDK's `schema.rs`, the runtime's `types.rs`), for each side's Arrow version.

/// A column type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DataType {
    Boolean,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float32,
    Float64,
    /// `Decimal128(precision, scale)`, precision 1..=38.
    Decimal128 {
        precision: u8,
        scale: i8,
    },
    /// 32-bit offsets.
    Utf8,
    /// 32-bit offsets.
    Binary,
    /// Days since 1970-01-01.
    Date32,
    /// Microseconds since the epoch, with an optional IANA zone name or offset (`"UTC"`,
    /// `"+02:00"`); none means a local, zone-less time.
    TimestampMicros {
        timezone: Option<String>,
    },
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Column {
    pub name: String,
    pub data_type: DataType,
    pub nullable: bool,
    pub doc: Option<String>,
}

impl Column {
    /// A column that may hold nulls.
    pub fn new(name: &str, data_type: DataType) -> Self {
        Self {
            name: name.to_owned(),
            data_type,
            nullable: true,
            doc: None,
        }
    }

    /// A column that never holds nulls.
    pub fn not_null(name: &str, data_type: DataType) -> Self {
        Self {
            nullable: false,
            ..Self::new(name, data_type)
        }
    }
}

/// A table as a connector describes it. Batches carry exactly these columns (or the projected
/// subset, in projection order).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TableSchema {
    pub columns: Vec<Column>,
    /// Total rows, when the connector knows it cheaply.
    pub row_count: Option<u64>,
}

impl TableSchema {
    /// A table of `columns` with no row count.
    pub fn new(columns: Vec<Column>) -> Self {
        Self {
            columns,
            row_count: None,
        }
    }

    /// The index of the column named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}
