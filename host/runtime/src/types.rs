//! The contract's types as the rest of the host sees them, and their mapping onto Arrow.
//!
//! The types are the contract crate's (`quarry-contract`, shared with the guest SDK; ADR 0025),
//! re-exported here so callers keep naming them `quarry_runtime::TableSchema` and so on. The
//! rest of the host (server, DataFusion integration) works with these, never with the generated
//! bindings, so a new contract version changes `bindings.rs` and its conversions, not every
//! caller. The contract crate has no Arrow; [`DataTypeArrow`] and [`TableSchemaArrow`] add the
//! mapping for the host's Arrow version.

use std::sync::Arc;

use arrow_schema::{Field, Schema, SchemaRef, TimeUnit};

pub use quarry_contract::{
    Column, CompareOp, ConfigField, ConfigIssue, ConnectorErrorKind, ConnectorSpec, DataType,
    Predicate, PredicateNode, Pushdown, Scalar, ScanPlan, ScanRequest, Split, TableSchema,
};

/// A [`DataType`] as the one Arrow type it stands for.
pub trait DataTypeArrow {
    /// The Arrow type this maps to.
    fn to_arrow(&self) -> arrow_schema::DataType;
}

impl DataTypeArrow for DataType {
    fn to_arrow(&self) -> arrow_schema::DataType {
        use arrow_schema::DataType as A;
        match self {
            DataType::Boolean => A::Boolean,
            DataType::Int8 => A::Int8,
            DataType::Int16 => A::Int16,
            DataType::Int32 => A::Int32,
            DataType::Int64 => A::Int64,
            DataType::UInt8 => A::UInt8,
            DataType::UInt16 => A::UInt16,
            DataType::UInt32 => A::UInt32,
            DataType::UInt64 => A::UInt64,
            DataType::Float32 => A::Float32,
            DataType::Float64 => A::Float64,
            DataType::Decimal128 { precision, scale } => A::Decimal128(*precision, *scale),
            DataType::Utf8 => A::Utf8,
            DataType::Binary => A::Binary,
            DataType::Date32 => A::Date32,
            DataType::TimestampMicros { timezone } => {
                A::Timestamp(TimeUnit::Microsecond, timezone.as_deref().map(Arc::from))
            }
        }
    }
}

/// A [`TableSchema`] as an Arrow schema, whole or projected.
pub trait TableSchemaArrow {
    /// The Arrow schema of the whole table.
    fn arrow_schema(&self) -> Schema;

    /// The Arrow schema of the given projection (indices into the full column list, in the
    /// order batches carry them), or of the whole table for `None`. `None` is returned for an
    /// index out of range.
    fn projected_arrow_schema(&self, projection: Option<&[u32]>) -> Option<SchemaRef>;
}

impl TableSchemaArrow for TableSchema {
    fn arrow_schema(&self) -> Schema {
        Schema::new(self.columns.iter().map(field).collect::<Vec<_>>())
    }

    fn projected_arrow_schema(&self, projection: Option<&[u32]>) -> Option<SchemaRef> {
        let Some(projection) = projection else {
            return Some(Arc::new(self.arrow_schema()));
        };
        let mut fields = Vec::with_capacity(projection.len());
        for &i in projection {
            fields.push(field(self.columns.get(usize::try_from(i).ok()?)?));
        }
        Some(Arc::new(Schema::new(fields)))
    }
}

fn field(column: &Column) -> Field {
    Field::new(&column.name, column.data_type.to_arrow(), column.nullable)
}
