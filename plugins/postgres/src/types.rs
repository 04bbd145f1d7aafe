//! PostgreSQL column types onto the contract's types, and binary values into Arrow columns.
//!
//! A type maps when every value survives: int2/4/8, float4/8, numeric(p, s) with p ≤ 38 (as
//! decimal128), bool, text, varchar, char(n), name, bytea, date, timestamp and timestamptz
//! (UTC). uuid, json, jsonb, enums and unconstrained numeric are read as text (the column is
//! selected as `col::text`), which is lossless. Every other type is left out of the table.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use quarry_sdk::{Column, DataType};
use serde::{Deserialize, Serialize};

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
pub const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// How a column is read: its wire format and the Arrow type it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PgKind {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric {
        precision: u8,
        scale: i8,
    },
    /// text, varchar, name, and every type selected as `::text`.
    Text,
    /// char(n): blank-padded, and compared ignoring the padding by PostgreSQL.
    Bpchar,
    Bytea,
    Date,
    Timestamp,
    Timestamptz,
}

/// One mapped column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub kind: PgKind,
    /// Selected as `"name"::text` (uuid, json, jsonb, enums, unconstrained numeric).
    pub as_text: bool,
    pub nullable: bool,
}

impl ColumnDef {
    /// A nullable column read in its own type, for the tests' tables.
    #[cfg(test)]
    pub fn nullable(name: &str, kind: PgKind) -> ColumnDef {
        ColumnDef {
            name: name.to_owned(),
            kind,
            as_text: false,
            nullable: true,
        }
    }

    /// The column as the contract describes it.
    pub fn to_column(&self) -> Column {
        let data_type = self.kind.data_type();
        if self.nullable {
            Column::new(&self.name, data_type)
        } else {
            Column::not_null(&self.name, data_type)
        }
    }
}

impl PgKind {
    /// The contract type of the column.
    pub fn data_type(self) -> DataType {
        match self {
            PgKind::Bool => DataType::Boolean,
            PgKind::Int2 => DataType::Int16,
            PgKind::Int4 => DataType::Int32,
            PgKind::Int8 => DataType::Int64,
            PgKind::Float4 => DataType::Float32,
            PgKind::Float8 => DataType::Float64,
            PgKind::Numeric { precision, scale } => DataType::Decimal128 { precision, scale },
            PgKind::Text | PgKind::Bpchar => DataType::Utf8,
            PgKind::Bytea => DataType::Binary,
            PgKind::Date => DataType::Date32,
            PgKind::Timestamp => DataType::TimestampMicros { timezone: None },
            PgKind::Timestamptz => DataType::TimestampMicros {
                timezone: Some("UTC".to_owned()),
            },
        }
    }
}

/// Built-in type OIDs (fixed in every PostgreSQL).
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const JSON: u32 = 114;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

/// How a column of type `type_oid` (a domain's base type) with modifier `typmod` is read, or
/// `None` when it is left out. `is_enum`: the type is an enum (read as text). The flag is
/// whether the column is selected as `::text`.
pub fn map_type(type_oid: u32, typmod: i32, is_enum: bool) -> Option<(PgKind, bool)> {
    let kind = match type_oid {
        oid::BOOL => PgKind::Bool,
        oid::INT2 => PgKind::Int2,
        oid::INT4 => PgKind::Int4,
        oid::INT8 => PgKind::Int8,
        oid::FLOAT4 => PgKind::Float4,
        oid::FLOAT8 => PgKind::Float8,
        oid::NUMERIC => {
            return Some(match numeric_precision_scale(typmod) {
                Some((precision, scale)) => (PgKind::Numeric { precision, scale }, false),
                None => (PgKind::Text, true),
            });
        }
        oid::TEXT | oid::VARCHAR | oid::NAME => PgKind::Text,
        oid::BPCHAR => PgKind::Bpchar,
        oid::BYTEA => PgKind::Bytea,
        oid::DATE => PgKind::Date,
        oid::TIMESTAMP => PgKind::Timestamp,
        oid::TIMESTAMPTZ => PgKind::Timestamptz,
        oid::UUID | oid::JSON | oid::JSONB => return Some((PgKind::Text, true)),
        _ if is_enum => return Some((PgKind::Text, true)),
        _ => return None,
    };
    Some((kind, false))
}

/// `numeric(p, s)`'s precision and scale when decimal128 holds every value: 1 ≤ p ≤ 38 and
/// s ≤ p. Unconstrained numeric (`typmod` -1) has no fixed scale, so it is `None`.
pub fn numeric_precision_scale(typmod: i32) -> Option<(u8, i8)> {
    if typmod < 4 {
        return None;
    }
    let bits = typmod - 4;
    let precision = (bits >> 16) & 0xffff;
    // The scale is 11 bits, signed since PostgreSQL 15.
    let raw_scale = bits & 0x7ff;
    let scale = if raw_scale & 0x400 != 0 {
        raw_scale - 0x800
    } else {
        raw_scale
    };
    if !(1..=38).contains(&precision) || scale > precision || scale < -38 {
        return None;
    }
    Some((u8::try_from(precision).ok()?, i8::try_from(scale).ok()?))
}

/// Decodes PostgreSQL's binary numeric into an unscaled value at `scale`.
pub fn decode_numeric(bytes: &[u8], scale: i8) -> Result<i128, String> {
    let word = |i: usize| -> Result<u16, String> {
        bytes
            .get(i * 2..i * 2 + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric".to_owned())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    let sign = word(2)?;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("NaN does not fit a decimal".to_owned()),
        _ => return Err("infinity does not fit a decimal".to_owned()),
    }
    let mut value: i128 = 0;
    for i in 0..ndigits {
        let digit = i128::from(word(4 + i)?);
        // The digit counts 10000^(weight - i); at the column's scale that is 10^exponent.
        let exponent = 4 * (weight - i as i64) + i64::from(scale);
        let term = if exponent >= 0 {
            let power = u32::try_from(exponent)
                .ok()
                .and_then(|e| 10i128.checked_pow(e))
                .ok_or_else(|| "numeric overflows decimal128".to_owned())?;
            digit
                .checked_mul(power)
                .ok_or_else(|| "numeric overflows decimal128".to_owned())?
        } else {
            let divisor = 10i128.pow(u32::try_from(-exponent).unwrap_or(4).min(4));
            if digit % divisor != 0 {
                return Err(format!("numeric has more than {scale} decimal digits"));
            }
            digit / divisor
        };
        value = value
            .checked_add(term)
            .ok_or_else(|| "numeric overflows decimal128".to_owned())?;
    }
    Ok(if sign == 0x4000 { -value } else { value })
}

/// A column being built from binary values.
pub enum ColumnBuilder {
    Bool(BooleanBuilder),
    Int2(Int16Builder),
    Int4(Int32Builder),
    Int8(Int64Builder),
    Float4(Float32Builder),
    Float8(Float64Builder),
    Numeric(Decimal128Builder, i8),
    Text(StringBuilder),
    Bytea(BinaryBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
}

/// The value as `N` big-endian bytes, or an error naming the expected width.
fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", bytes.len()))
}

impl ColumnBuilder {
    pub fn new(kind: PgKind) -> Result<ColumnBuilder, String> {
        Ok(match kind {
            PgKind::Bool => ColumnBuilder::Bool(BooleanBuilder::new()),
            PgKind::Int2 => ColumnBuilder::Int2(Int16Builder::new()),
            PgKind::Int4 => ColumnBuilder::Int4(Int32Builder::new()),
            PgKind::Int8 => ColumnBuilder::Int8(Int64Builder::new()),
            PgKind::Float4 => ColumnBuilder::Float4(Float32Builder::new()),
            PgKind::Float8 => ColumnBuilder::Float8(Float64Builder::new()),
            PgKind::Numeric { precision, scale } => ColumnBuilder::Numeric(
                Decimal128Builder::new()
                    .with_precision_and_scale(precision, scale)
                    .map_err(|err| err.to_string())?,
                scale,
            ),
            PgKind::Text | PgKind::Bpchar => ColumnBuilder::Text(StringBuilder::new()),
            PgKind::Bytea => ColumnBuilder::Bytea(BinaryBuilder::new()),
            PgKind::Date => ColumnBuilder::Date(Date32Builder::new()),
            PgKind::Timestamp => ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::new()),
            PgKind::Timestamptz => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
        })
    }

    /// Appends one binary value (`None` is NULL).
    pub fn append(&mut self, value: Option<&[u8]>) -> Result<(), String> {
        let Some(bytes) = value else {
            match self {
                ColumnBuilder::Bool(b) => b.append_null(),
                ColumnBuilder::Int2(b) => b.append_null(),
                ColumnBuilder::Int4(b) => b.append_null(),
                ColumnBuilder::Int8(b) => b.append_null(),
                ColumnBuilder::Float4(b) => b.append_null(),
                ColumnBuilder::Float8(b) => b.append_null(),
                ColumnBuilder::Numeric(b, _) => b.append_null(),
                ColumnBuilder::Text(b) => b.append_null(),
                ColumnBuilder::Bytea(b) => b.append_null(),
                ColumnBuilder::Date(b) => b.append_null(),
                ColumnBuilder::Timestamp(b) => b.append_null(),
            }
            return Ok(());
        };
        match self {
            ColumnBuilder::Bool(b) => b.append_value(fixed::<1>(bytes)?[0] != 0),
            ColumnBuilder::Int2(b) => b.append_value(i16::from_be_bytes(fixed(bytes)?)),
            ColumnBuilder::Int4(b) => b.append_value(i32::from_be_bytes(fixed(bytes)?)),
            ColumnBuilder::Int8(b) => b.append_value(i64::from_be_bytes(fixed(bytes)?)),
            // NaNs are made positive: PostgreSQL orders every NaN above every number, as Arrow
            // orders a positive NaN, so pushed-down comparisons agree with the engine's.
            ColumnBuilder::Float4(b) => {
                let v = f32::from_be_bytes(fixed(bytes)?);
                b.append_value(if v.is_nan() { f32::NAN } else { v });
            }
            ColumnBuilder::Float8(b) => {
                let v = f64::from_be_bytes(fixed(bytes)?);
                b.append_value(if v.is_nan() { f64::NAN } else { v });
            }
            ColumnBuilder::Numeric(b, scale) => b.append_value(decode_numeric(bytes, *scale)?),
            ColumnBuilder::Text(b) => b.append_value(
                std::str::from_utf8(bytes).map_err(|err| format!("text is not UTF-8: {err}"))?,
            ),
            ColumnBuilder::Bytea(b) => b.append_value(bytes),
            ColumnBuilder::Date(b) => {
                let days = i32::from_be_bytes(fixed(bytes)?);
                if days == i32::MAX || days == i32::MIN {
                    return Err("infinite date does not fit date32".to_owned());
                }
                let days = days
                    .checked_add(PG_EPOCH_DAYS)
                    .ok_or_else(|| "date out of range".to_owned())?;
                b.append_value(days);
            }
            ColumnBuilder::Timestamp(b) => {
                let micros = i64::from_be_bytes(fixed(bytes)?);
                if micros == i64::MAX || micros == i64::MIN {
                    return Err("infinite timestamp does not fit a timestamp".to_owned());
                }
                let micros = micros
                    .checked_add(PG_EPOCH_MICROS)
                    .ok_or_else(|| "timestamp out of range".to_owned())?;
                b.append_value(micros);
            }
        }
        Ok(())
    }

    /// The values appended so far as an array; starts over empty.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Int2(b) => Arc::new(b.finish()),
            ColumnBuilder::Int4(b) => Arc::new(b.finish()),
            ColumnBuilder::Int8(b) => Arc::new(b.finish()),
            ColumnBuilder::Float4(b) => Arc::new(b.finish()),
            ColumnBuilder::Float8(b) => Arc::new(b.finish()),
            ColumnBuilder::Numeric(b, _) => Arc::new(b.finish()),
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
            ColumnBuilder::Bytea(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `numeric(p, s)`'s type modifier, as PostgreSQL stores it.
    fn typmod(precision: i32, scale: i32) -> i32 {
        ((precision << 16) | (scale & 0x7ff)) + 4
    }

    #[test]
    fn types_map_onto_the_contract() {
        let cases = [
            (oid::INT2, -1, DataType::Int16, false),
            (oid::INT4, -1, DataType::Int32, false),
            (oid::INT8, -1, DataType::Int64, false),
            (oid::FLOAT4, -1, DataType::Float32, false),
            (oid::FLOAT8, -1, DataType::Float64, false),
            (oid::BOOL, -1, DataType::Boolean, false),
            (oid::TEXT, -1, DataType::Utf8, false),
            (oid::VARCHAR, 14, DataType::Utf8, false),
            (oid::BPCHAR, 14, DataType::Utf8, false),
            (oid::NAME, -1, DataType::Utf8, false),
            (oid::BYTEA, -1, DataType::Binary, false),
            (oid::DATE, -1, DataType::Date32, false),
            (
                oid::TIMESTAMP,
                -1,
                DataType::TimestampMicros { timezone: None },
                false,
            ),
            (
                oid::TIMESTAMPTZ,
                -1,
                DataType::TimestampMicros {
                    timezone: Some("UTC".to_owned()),
                },
                false,
            ),
            (
                oid::NUMERIC,
                typmod(12, 2),
                DataType::Decimal128 {
                    precision: 12,
                    scale: 2,
                },
                false,
            ),
            (oid::NUMERIC, -1, DataType::Utf8, true),
            (oid::NUMERIC, typmod(50, 2), DataType::Utf8, true),
            (oid::UUID, -1, DataType::Utf8, true),
            (oid::JSON, -1, DataType::Utf8, true),
            (oid::JSONB, -1, DataType::Utf8, true),
        ];
        for (type_oid, modifier, data_type, as_text) in cases {
            let (kind, text) = map_type(type_oid, modifier, false).unwrap();
            assert_eq!((kind.data_type(), text), (data_type, as_text), "{type_oid}");
        }
        // tsvector, point, int4[]: left out; an enum is text.
        for type_oid in [3614, 600, 1007] {
            assert_eq!(map_type(type_oid, -1, false), None);
        }
        assert_eq!(map_type(90_000, -1, true), Some((PgKind::Text, true)));
    }

    #[test]
    fn numeric_modifiers_decode_with_negative_scales_and_limits() {
        assert_eq!(numeric_precision_scale(typmod(38, 10)), Some((38, 10)));
        assert_eq!(numeric_precision_scale(typmod(5, -2)), Some((5, -2)));
        assert_eq!(numeric_precision_scale(typmod(39, 0)), None);
        assert_eq!(numeric_precision_scale(typmod(2, 5)), None);
        assert_eq!(numeric_precision_scale(-1), None);
    }

    /// PostgreSQL's binary numeric: ndigits, weight, sign, dscale, base-10000 digits.
    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for word in [digits.len() as u16, weight as u16, sign, dscale] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        for digit in digits {
            out.extend_from_slice(&digit.to_be_bytes());
        }
        out
    }

    #[test]
    fn binary_numerics_decode_at_the_column_scale() {
        // 12345.67 = [1, 2345, 6700] with weight 1.
        let bytes = numeric(1, 0, 2, &[1, 2345, 6700]);
        assert_eq!(decode_numeric(&bytes, 2).unwrap(), 1_234_567);
        assert_eq!(decode_numeric(&bytes, 4).unwrap(), 123_456_700);
        // -0.05 = [500] with weight -1.
        assert_eq!(
            decode_numeric(&numeric(-1, 0x4000, 2, &[500]), 2).unwrap(),
            -5
        );
        // 0 has no digits; 1e30 is [100, 0...] with weight 7.
        assert_eq!(decode_numeric(&numeric(0, 0, 0, &[]), 3).unwrap(), 0);
        assert_eq!(
            decode_numeric(&numeric(7, 0, 0, &[100]), 0).unwrap(),
            10i128.pow(30)
        );
        // 1200 at scale -2 is 12.
        assert_eq!(decode_numeric(&numeric(0, 0, 0, &[1200]), -2).unwrap(), 12);
        let nan = decode_numeric(&numeric(0, 0xC000, 0, &[]), 2).unwrap_err();
        assert!(nan.contains("NaN"), "{nan}");
        let big = decode_numeric(&numeric(12, 0, 0, &[1]), 0).unwrap_err();
        assert!(big.contains("overflows"), "{big}");
        let precise = decode_numeric(&numeric(-1, 0, 4, &[1234]), 2).unwrap_err();
        assert!(precise.contains("decimal digits"), "{precise}");
    }

    #[test]
    fn binary_values_build_arrow_columns_with_nulls() {
        let mut dates = ColumnBuilder::new(PgKind::Date).unwrap();
        dates.append(Some(&0i32.to_be_bytes())).unwrap();
        dates.append(None).unwrap();
        let array = dates.finish();
        let dates = array
            .as_any()
            .downcast_ref::<arrow_array::Date32Array>()
            .unwrap();
        assert_eq!(dates.value(0), PG_EPOCH_DAYS);
        assert!(arrow_array::Array::is_null(dates, 1));

        let mut stamps = ColumnBuilder::new(PgKind::Timestamptz).unwrap();
        stamps.append(Some(&1_000_000i64.to_be_bytes())).unwrap();
        let array = stamps.finish();
        assert_eq!(
            array.data_type(),
            &arrow_schema::DataType::Timestamp(
                arrow_schema::TimeUnit::Microsecond,
                Some("UTC".into())
            )
        );
        let mut ints = ColumnBuilder::new(PgKind::Int4).unwrap();
        let err = ints.append(Some(&[0, 1])).unwrap_err();
        assert_eq!(err, "expected 4 bytes, got 2");
        let mut nan = ColumnBuilder::new(PgKind::Float8).unwrap();
        nan.append(Some(&(-f64::NAN).to_be_bytes())).unwrap();
        let array = nan.finish();
        let floats = array
            .as_any()
            .downcast_ref::<arrow_array::Float64Array>()
            .unwrap();
        assert!(floats.value(0).is_nan() && floats.value(0).is_sign_positive());
    }
}
