//! The column type model of the contract and its one-to-one mapping onto Arrow types.

use std::sync::Arc;

use arrow_schema::{DataType as ArrowType, Field, Schema, SchemaRef, TimeUnit};

use crate::{ConnectorError, Result};

/// A column type. Each case is exactly one Arrow type (see [`DataType::to_arrow`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    Utf8,
    Binary,
    /// Days since 1970-01-01.
    Date32,
    /// Microseconds since the epoch, with an optional time zone.
    TimestampMicros {
        timezone: Option<String>,
    },
}

impl DataType {
    /// The Arrow type this type stands for.
    pub fn to_arrow(&self) -> ArrowType {
        match self {
            DataType::Boolean => ArrowType::Boolean,
            DataType::Int8 => ArrowType::Int8,
            DataType::Int16 => ArrowType::Int16,
            DataType::Int32 => ArrowType::Int32,
            DataType::Int64 => ArrowType::Int64,
            DataType::UInt8 => ArrowType::UInt8,
            DataType::UInt16 => ArrowType::UInt16,
            DataType::UInt32 => ArrowType::UInt32,
            DataType::UInt64 => ArrowType::UInt64,
            DataType::Float32 => ArrowType::Float32,
            DataType::Float64 => ArrowType::Float64,
            DataType::Decimal128 { precision, scale } => ArrowType::Decimal128(*precision, *scale),
            DataType::Utf8 => ArrowType::Utf8,
            DataType::Binary => ArrowType::Binary,
            DataType::Date32 => ArrowType::Date32,
            DataType::TimestampMicros { timezone } => {
                ArrowType::Timestamp(TimeUnit::Microsecond, timezone.as_deref().map(Arc::from))
            }
        }
    }

    /// The contract type for an Arrow type, or `unsupported` for Arrow types outside the model.
    pub fn from_arrow(arrow: &ArrowType) -> Result<Self> {
        Ok(match arrow {
            ArrowType::Boolean => DataType::Boolean,
            ArrowType::Int8 => DataType::Int8,
            ArrowType::Int16 => DataType::Int16,
            ArrowType::Int32 => DataType::Int32,
            ArrowType::Int64 => DataType::Int64,
            ArrowType::UInt8 => DataType::UInt8,
            ArrowType::UInt16 => DataType::UInt16,
            ArrowType::UInt32 => DataType::UInt32,
            ArrowType::UInt64 => DataType::UInt64,
            ArrowType::Float32 => DataType::Float32,
            ArrowType::Float64 => DataType::Float64,
            ArrowType::Decimal128(precision, scale) => DataType::Decimal128 {
                precision: *precision,
                scale: *scale,
            },
            ArrowType::Utf8 => DataType::Utf8,
            ArrowType::Binary => DataType::Binary,
            ArrowType::Date32 => DataType::Date32,
            ArrowType::Timestamp(TimeUnit::Microsecond, tz) => DataType::TimestampMicros {
                timezone: tz.as_deref().map(str::to_owned),
            },
            other => {
                return Err(ConnectorError::unsupported(format!(
                    "arrow type {other} is not in the connector type model"
                )));
            }
        })
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
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

    pub fn to_arrow(&self) -> Field {
        Field::new(&self.name, self.data_type.to_arrow(), self.nullable)
    }
}

/// A table as a connector describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    pub columns: Vec<Column>,
    /// Total rows, when known cheaply.
    pub row_count: Option<u64>,
}

impl TableSchema {
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

    /// The Arrow schema of the whole table.
    pub fn to_arrow(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(Column::to_arrow)
                .collect::<Vec<_>>(),
        ))
    }

    /// The Arrow schema of a projection (column indices in output order); `None` is every
    /// column. An index out of range is an error naming it.
    pub fn project_arrow(&self, projection: Option<&[u32]>) -> Result<SchemaRef> {
        let Some(projection) = projection else {
            return Ok(self.to_arrow());
        };
        let fields = projection
            .iter()
            .map(|&index| {
                self.columns
                    .get(index as usize)
                    .map(Column::to_arrow)
                    .ok_or_else(|| {
                        ConnectorError::invalid_config(format!(
                            "projection index {index} is out of range for a table of {} columns",
                            self.columns.len()
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(Schema::new(fields)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_arrow() {
        for t in all_types() {
            assert_eq!(DataType::from_arrow(&t.to_arrow()).unwrap(), t);
        }
    }

    #[test]
    fn types_outside_the_model_are_unsupported() {
        let err = DataType::from_arrow(&ArrowType::Utf8View).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Unsupported);
        assert!(err.message.contains("Utf8View"), "{err}");
    }

    #[test]
    fn projection_picks_columns_in_order_and_rejects_out_of_range() {
        let table = TableSchema::new(vec![
            Column::not_null("a", DataType::Int64),
            Column::new("b", DataType::Utf8),
        ]);
        let schema = table.project_arrow(Some(&[1, 0])).unwrap();
        assert_eq!(schema.field(0).name(), "b");
        assert_eq!(schema.field(1).name(), "a");
        assert!(!schema.field(1).is_nullable());
        let err = table.project_arrow(Some(&[2])).unwrap_err();
        assert!(err.message.contains("index 2"), "{err}");
    }

    pub(crate) fn all_types() -> Vec<DataType> {
        vec![
            DataType::Boolean,
            DataType::Int8,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::UInt8,
            DataType::UInt16,
            DataType::UInt32,
            DataType::UInt64,
            DataType::Float32,
            DataType::Float64,
            DataType::Decimal128 {
                precision: 15,
                scale: 2,
            },
            DataType::Utf8,
            DataType::Binary,
            DataType::Date32,
            DataType::TimestampMicros { timezone: None },
            DataType::TimestampMicros {
                timezone: Some("UTC".to_owned()),
            },
        ]
    }
}
