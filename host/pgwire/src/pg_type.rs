//! Which PostgreSQL type an Arrow column is sent as.
//!
//! Every kind here has both a text and a binary encoding in `row_encoder.rs`, because clients
//! such as tokio-postgres ask for binary results for every column. Arrow types without a close
//! PostgreSQL counterpart (lists, structs, intervals, …) are sent as `text` using Arrow's
//! display formatting, whose binary form is the same UTF-8 bytes.

use arrow_schema::{DataType, TimeUnit};
use pgwire::api::Type;

/// Days from 1970-01-01 (Arrow's epoch) to 2000-01-01 (PostgreSQL's binary epoch).
pub(crate) const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub(crate) const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// The PostgreSQL representation of an Arrow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PgKind {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Text,
    Bytea,
    Date,
    Timestamp,
    TimestampTz,
    Time,
    /// Anything else, as text made by Arrow's display formatting.
    Display,
}

impl PgKind {
    pub(crate) fn of(data_type: &DataType) -> Self {
        match data_type {
            DataType::Boolean => Self::Bool,
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => Self::Int2,
            DataType::Int32 | DataType::UInt16 => Self::Int4,
            DataType::Int64 | DataType::UInt32 => Self::Int8,
            DataType::UInt64
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..) => Self::Numeric,
            DataType::Float16 | DataType::Float32 => Self::Float4,
            DataType::Float64 => Self::Float8,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Self::Text,
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => Self::Bytea,
            DataType::Date32 | DataType::Date64 => Self::Date,
            DataType::Timestamp(_, None) => Self::Timestamp,
            DataType::Timestamp(_, Some(_)) => Self::TimestampTz,
            DataType::Time32(_) | DataType::Time64(_) => Self::Time,
            DataType::Dictionary(_, value) => Self::of(value),
            _ => Self::Display,
        }
    }

    pub(crate) fn pg_type(self) -> Type {
        match self {
            Self::Bool => Type::BOOL,
            Self::Int2 => Type::INT2,
            Self::Int4 => Type::INT4,
            Self::Int8 => Type::INT8,
            Self::Float4 => Type::FLOAT4,
            Self::Float8 => Type::FLOAT8,
            Self::Numeric => Type::NUMERIC,
            Self::Text | Self::Display => Type::TEXT,
            Self::Bytea => Type::BYTEA,
            Self::Date => Type::DATE,
            Self::Timestamp => Type::TIMESTAMP,
            Self::TimestampTz => Type::TIMESTAMPTZ,
            Self::Time => Type::TIME,
        }
    }

    /// The Arrow type a column of `data_type` is cast to before encoding, if it needs one, so
    /// the encoder handles one array type per kind.
    pub(crate) fn encoded_arrow_type(self, data_type: &DataType) -> Option<DataType> {
        let target = match (self, data_type) {
            (_, DataType::Dictionary(_, value)) => {
                return Some(self.encoded_arrow_type(value).unwrap_or((**value).clone()));
            }
            (Self::Int2, _) => DataType::Int16,
            (Self::Int4, _) => DataType::Int32,
            (Self::Int8, _) => DataType::Int64,
            (Self::Float4, _) => DataType::Float32,
            (Self::Numeric, DataType::UInt64) => DataType::Decimal128(20, 0),
            (Self::Text, _) => DataType::Utf8,
            (Self::Bytea, _) => DataType::Binary,
            (Self::Date, _) => DataType::Date32,
            (Self::Timestamp | Self::TimestampTz, DataType::Timestamp(_, tz)) => {
                DataType::Timestamp(TimeUnit::Microsecond, tz.clone())
            }
            (Self::Time, _) => DataType::Time64(TimeUnit::Microsecond),
            _ => return None,
        };
        (&target != data_type).then_some(target)
    }
}

/// The Arrow type a `$n` parameter of PostgreSQL type `pg` is decoded to when the runner did
/// not say; unknown types arrive as text.
pub(crate) fn arrow_type_of_parameter(pg: &Type) -> DataType {
    match *pg {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::OID => DataType::UInt32,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::NUMERIC => DataType::Decimal128(38, 10),
        Type::BYTEA => DataType::Binary,
        Type::DATE => DataType::Date32,
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::TIMESTAMPTZ => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        Type::TIME => DataType::Time64(TimeUnit::Microsecond),
        _ => DataType::Utf8,
    }
}
