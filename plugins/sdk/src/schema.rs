//! The contract's column types, columns and table schemas mapped onto Arrow, one to one.
//!
//! The types themselves are the contract crate's (ADR 0025), which has no Arrow; these extension
//! traits add the mapping for this SDK's Arrow version. Connectors import them with the types
//! (`use quarry_sdk::{TableSchema, TableSchemaArrow}`).

use std::sync::Arc;

use arrow_schema::{DataType as ArrowType, Field, Schema, SchemaRef, TimeUnit};

use crate::{Column, ConnectorError, DataType, Result, TableSchema};

/// A [`DataType`] as the one Arrow type it stands for, and back.
pub trait DataTypeArrow: Sized {
    /// The Arrow type this type stands for.
    fn to_arrow(&self) -> ArrowType;

    /// The contract type for an Arrow type, or `unsupported` for Arrow types outside the model.
    fn from_arrow(arrow: &ArrowType) -> Result<Self>;
}

impl DataTypeArrow for DataType {
    fn to_arrow(&self) -> ArrowType {
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

    fn from_arrow(arrow: &ArrowType) -> Result<Self> {
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

/// A [`Column`] as an Arrow field.
pub trait ColumnArrow {
    fn to_arrow(&self) -> Field;
}

impl ColumnArrow for Column {
    fn to_arrow(&self) -> Field {
        Field::new(&self.name, self.data_type.to_arrow(), self.nullable)
    }
}

/// A [`TableSchema`] as an Arrow schema, whole or projected.
pub trait TableSchemaArrow {
    /// The Arrow schema of the whole table.
    fn to_arrow(&self) -> SchemaRef;

    /// The Arrow schema of a projection (column indices in output order); `None` is every
    /// column. An index out of range is an error naming it.
    fn project_arrow(&self, projection: Option<&[u32]>) -> Result<SchemaRef>;
}

impl TableSchemaArrow for TableSchema {
    fn to_arrow(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(Column::to_arrow)
                .collect::<Vec<_>>(),
        ))
    }

    fn project_arrow(&self, projection: Option<&[u32]>) -> Result<SchemaRef> {
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
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_arrow() {
        for t in quarry_contract::samples::every_data_type() {
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
}
