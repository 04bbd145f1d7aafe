//! Rust mirrors of the contract's types.
//!
//! The rest of the host (server, DataFusion integration) works with these, never with the
//! generated bindings, so a new contract version changes `bindings.rs` and the conversions, not
//! every caller.

use std::fmt;
use std::sync::Arc;

use arrow_schema::{Field, Schema, SchemaRef, TimeUnit};

/// Why a connector call failed, as the connector classified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectorErrorKind {
    /// The catalog properties are wrong.
    InvalidConfig,
    /// A schema, table or column does not exist.
    NotFound,
    /// The request asks for something the connector does not do.
    Unsupported,
    /// The data source failed.
    Io,
    /// Anything else: a bug in the connector.
    Internal,
}

impl fmt::Display for ConnectorErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectorErrorKind::InvalidConfig => "invalid config",
            ConnectorErrorKind::NotFound => "not found",
            ConnectorErrorKind::Unsupported => "unsupported",
            ConnectorErrorKind::Io => "i/o error",
            ConnectorErrorKind::Internal => "internal error",
        })
    }
}

/// One configuration key a connector understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigField {
    pub name: String,
    pub doc: String,
    pub required: bool,
    pub secret: bool,
    pub default_value: Option<String>,
}

/// What a connector is: `name@version`, a description and its configuration keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorSpec {
    pub name: String,
    pub version: String,
    pub description: String,
    pub config: Vec<ConfigField>,
}

/// One problem `validate` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub field: Option<String>,
    pub message: String,
}

/// A column type; each maps onto exactly one Arrow type.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    Decimal128 {
        precision: u8,
        scale: i8,
    },
    Utf8,
    Binary,
    Date32,
    /// Microseconds since the epoch, with an optional zone.
    TimestampMicros(Option<String>),
}

impl DataType {
    /// The Arrow type this maps to.
    pub fn to_arrow(&self) -> arrow_schema::DataType {
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
            DataType::TimestampMicros(tz) => {
                A::Timestamp(TimeUnit::Microsecond, tz.as_deref().map(Arc::from))
            }
        }
    }
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub data_type: DataType,
    pub nullable: bool,
    pub doc: Option<String>,
}

/// A table as the connector describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    pub columns: Vec<Column>,
    pub row_count: Option<u64>,
}

impl TableSchema {
    /// The Arrow schema of the whole table.
    pub fn arrow_schema(&self) -> Schema {
        Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.data_type.to_arrow(), c.nullable))
                .collect::<Vec<_>>(),
        )
    }

    /// The Arrow schema of the given projection (indices into the full column list, in the
    /// order batches carry them), or of the whole table for `None`. `None` is returned for an
    /// index out of range.
    pub fn projected_arrow_schema(&self, projection: Option<&[u32]>) -> Option<SchemaRef> {
        let Some(projection) = projection else {
            return Some(Arc::new(self.arrow_schema()));
        };
        let mut fields = Vec::with_capacity(projection.len());
        for &i in projection {
            let c = self.columns.get(usize::try_from(i).ok()?)?;
            fields.push(Field::new(&c.name, c.data_type.to_arrow(), c.nullable));
        }
        Some(Arc::new(Schema::new(fields)))
    }
}

/// A literal in a predicate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Scalar {
    Null,
    Boolean(bool),
    Int64(i64),
    UInt64(u64),
    Float64(f64),
    /// An unscaled 128-bit value with its precision and scale.
    Decimal128 {
        value: i128,
        precision: u8,
        scale: i8,
    },
    Utf8(String),
    Binary(Vec<u8>),
    Date32(i32),
    TimestampMicros(i64),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One node of a predicate tree; connectives refer to children by index.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum PredicateNode {
    /// `column op value`; `column` indexes the table's full column list.
    Compare {
        column: u32,
        op: CompareOp,
        value: Scalar,
    },
    /// `column [NOT] IN (values)`.
    InList {
        column: u32,
        values: Vec<Scalar>,
        negated: bool,
    },
    IsNull(u32),
    IsNotNull(u32),
    And(Vec<u32>),
    Or(Vec<u32>),
    Not(u32),
}

/// A boolean expression over one table's columns: `nodes[root]` is the whole expression.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Predicate {
    pub nodes: Vec<PredicateNode>,
    pub root: u32,
}

/// How a connector treats one filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Pushdown {
    Exact,
    Inexact,
    Unsupported,
}

/// What the engine wants from a table.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ScanRequest {
    pub schema: String,
    pub table: String,
    /// Column indices into the full column list, in batch order; `None` for every column.
    pub projection: Option<Vec<u32>>,
    /// Conjuncts.
    pub filters: Vec<Predicate>,
    pub limit: Option<u64>,
}

impl ScanRequest {
    /// A request for every column of `schema.table`.
    pub fn table(schema: impl Into<String>, table: impl Into<String>) -> Self {
        ScanRequest {
            schema: schema.into(),
            table: table.into(),
            ..ScanRequest::default()
        }
    }
}

/// A unit of scan work; `payload` is opaque to the host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Split {
    pub payload: Vec<u8>,
    pub estimated_rows: Option<u64>,
}

/// The answer to `plan_scan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPlan {
    pub splits: Vec<Split>,
    /// One entry per filter of the request, in order.
    pub filters: Vec<Pushdown>,
}
