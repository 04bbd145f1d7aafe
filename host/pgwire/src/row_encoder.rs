//! Arrow record batches to PostgreSQL `DataRow`s, in text or binary format per column.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Time64MicrosecondType,
    TimestampMicrosecondType,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, RecordBatch, StringArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, Schema};
use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate};
use datafusion::arrow::compute::cast;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::messages::data::DataRow;

use crate::pg_type::{PG_EPOCH_DAYS, PG_EPOCH_MICROS, PgKind};

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The RowDescription fields for a result schema, with the formats the client asked for.
pub(crate) fn row_description(schema: &Schema, format: &Format) -> Vec<FieldInfo> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let kind = PgKind::of(field.data_type());
            FieldInfo::new(
                field.name().clone(),
                None,
                None,
                kind.pg_type(),
                format.format_for(index),
            )
        })
        .collect()
}

/// Encodes the batches of one result into DataRows for a fixed RowDescription.
#[derive(Debug, Clone)]
pub(crate) struct RowEncoder {
    fields: Arc<Vec<FieldInfo>>,
}

/// One column of a batch, cast to the array type its kind is encoded from.
enum Column<'a> {
    Bool(&'a BooleanArray),
    Int2(&'a Int16Array),
    Int4(&'a Int32Array),
    Int8(&'a Int64Array),
    Float4(&'a Float32Array),
    Float8(&'a Float64Array),
    Text(&'a StringArray),
    Bytea(&'a BinaryArray),
    Date(&'a Date32Array),
    Timestamp(&'a TimestampMicrosecondArray, bool),
    Time(&'a Time64MicrosecondArray),
    Numeric(ArrayFormatter<'a>),
    Display(ArrayFormatter<'a>),
}

impl RowEncoder {
    pub(crate) fn new(fields: Arc<Vec<FieldInfo>>) -> Self {
        Self { fields }
    }

    pub(crate) fn fields(&self) -> Arc<Vec<FieldInfo>> {
        self.fields.clone()
    }

    pub(crate) fn encode(&self, batch: &RecordBatch) -> Result<Vec<DataRow>, ArrowError> {
        let kinds: Vec<PgKind> = batch
            .schema()
            .fields()
            .iter()
            .map(|field| PgKind::of(field.data_type()))
            .collect();
        let arrays = batch
            .columns()
            .iter()
            .zip(&kinds)
            .map(
                |(array, kind)| match kind.encoded_arrow_type(array.data_type()) {
                    Some(target) => cast(array, &target),
                    None => Ok(array.clone()),
                },
            )
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        let options = FormatOptions::default();
        let columns = arrays
            .iter()
            .zip(&kinds)
            .map(|(array, kind)| column(array, *kind, &options))
            .collect::<Result<Vec<_>, _>>()?;

        let mut rows = Vec::with_capacity(batch.num_rows());
        let mut buffer = BytesMut::new();
        for row in 0..batch.num_rows() {
            for ((column, array), field) in columns.iter().zip(&arrays).zip(self.fields.iter()) {
                if array.is_null(row) {
                    buffer.put_i32(-1);
                    continue;
                }
                let length_at = buffer.len();
                buffer.put_i32(0);
                match field.format() {
                    FieldFormat::Text => write_text(column, row, &mut buffer)?,
                    FieldFormat::Binary => write_binary(column, row, &mut buffer)?,
                }
                let length = i32::try_from(buffer.len() - length_at - 4).map_err(|_| {
                    ArrowError::ComputeError("value too large for the wire".to_owned())
                })?;
                buffer[length_at..length_at + 4].copy_from_slice(&length.to_be_bytes());
            }
            let field_count = i16::try_from(columns.len())
                .map_err(|_| ArrowError::ComputeError("too many columns".to_owned()))?;
            rows.push(DataRow::new(buffer.split(), field_count));
        }
        Ok(rows)
    }
}

fn column<'a>(
    array: &'a ArrayRef,
    kind: PgKind,
    options: &'a FormatOptions<'a>,
) -> Result<Column<'a>, ArrowError> {
    let unexpected =
        || ArrowError::ComputeError(format!("cannot encode {} as {kind:?}", array.data_type()));
    Ok(match kind {
        PgKind::Bool => Column::Bool(array.as_boolean_opt().ok_or_else(unexpected)?),
        PgKind::Int2 => Column::Int2(
            array
                .as_primitive_opt::<Int16Type>()
                .ok_or_else(unexpected)?,
        ),
        PgKind::Int4 => Column::Int4(
            array
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(unexpected)?,
        ),
        PgKind::Int8 => Column::Int8(
            array
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(unexpected)?,
        ),
        PgKind::Float4 => Column::Float4(
            array
                .as_primitive_opt::<Float32Type>()
                .ok_or_else(unexpected)?,
        ),
        PgKind::Float8 => Column::Float8(
            array
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(unexpected)?,
        ),
        PgKind::Text => Column::Text(array.as_string_opt::<i32>().ok_or_else(unexpected)?),
        PgKind::Bytea => Column::Bytea(array.as_binary_opt::<i32>().ok_or_else(unexpected)?),
        PgKind::Date => Column::Date(
            array
                .as_primitive_opt::<Date32Type>()
                .ok_or_else(unexpected)?,
        ),
        PgKind::Timestamp | PgKind::TimestampTz => Column::Timestamp(
            array
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(unexpected)?,
            kind == PgKind::TimestampTz,
        ),
        PgKind::Time => Column::Time(
            array
                .as_primitive_opt::<Time64MicrosecondType>()
                .ok_or_else(unexpected)?,
        ),
        PgKind::Numeric => Column::Numeric(ArrayFormatter::try_new(array.as_ref(), options)?),
        PgKind::Display => Column::Display(ArrayFormatter::try_new(array.as_ref(), options)?),
    })
}

fn write_text(column: &Column<'_>, row: usize, out: &mut BytesMut) -> Result<(), ArrowError> {
    let written = match column {
        Column::Bool(array) => {
            out.put_slice(if array.value(row) { b"t" } else { b"f" });
            Ok(())
        }
        Column::Int2(array) => write!(out, "{}", array.value(row)),
        Column::Int4(array) => write!(out, "{}", array.value(row)),
        Column::Int8(array) => write!(out, "{}", array.value(row)),
        Column::Float4(array) => {
            let value = array.value(row);
            write_float(
                out,
                value.is_nan(),
                value.is_infinite(),
                value < 0.0,
                &value,
            )
        }
        Column::Float8(array) => {
            let value = array.value(row);
            write_float(
                out,
                value.is_nan(),
                value.is_infinite(),
                value < 0.0,
                &value,
            )
        }
        Column::Text(array) => {
            out.put_slice(array.value(row).as_bytes());
            Ok(())
        }
        Column::Bytea(array) => {
            out.put_slice(b"\\x");
            array
                .value(row)
                .iter()
                .try_for_each(|byte| write!(out, "{byte:02x}"))
        }
        Column::Date(array) => {
            let date = date_from_unix_days(array.value(row))?;
            write!(out, "{}", date.format("%Y-%m-%d"))
        }
        Column::Timestamp(array, with_zone) => {
            let micros = array.value(row);
            let time =
                DateTime::from_timestamp_micros(micros).ok_or_else(|| out_of_range("timestamp"))?;
            write!(out, "{}", time.format("%Y-%m-%d %H:%M:%S"))
                .and_then(|()| write_fraction(out, micros.rem_euclid(1_000_000)))
                .and_then(|()| {
                    if *with_zone {
                        write!(out, "+00")
                    } else {
                        Ok(())
                    }
                })
        }
        Column::Time(array) => {
            let micros = array.value(row);
            let seconds = micros.div_euclid(1_000_000);
            write!(
                out,
                "{:02}:{:02}:{:02}",
                seconds / 3600,
                seconds / 60 % 60,
                seconds % 60
            )
            .and_then(|()| write_fraction(out, micros.rem_euclid(1_000_000)))
        }
        Column::Numeric(formatter) | Column::Display(formatter) => {
            write!(out, "{}", formatter.value(row))
        }
    };
    written.map_err(|error| ArrowError::ComputeError(format!("cannot format value: {error}")))
}

/// PostgreSQL spells the special float values `NaN`, `Infinity` and `-Infinity`.
fn write_float(
    out: &mut BytesMut,
    nan: bool,
    infinite: bool,
    negative: bool,
    value: &dyn std::fmt::Display,
) -> std::fmt::Result {
    match (nan, infinite, negative) {
        (true, _, _) => write!(out, "NaN"),
        (_, true, true) => write!(out, "-Infinity"),
        (_, true, false) => write!(out, "Infinity"),
        _ => write!(out, "{value}"),
    }
}

/// Fractional seconds the way PostgreSQL prints them: omitted when zero, no trailing zeros.
fn write_fraction(out: &mut BytesMut, micros: i64) -> std::fmt::Result {
    if micros == 0 {
        return Ok(());
    }
    let digits = format!("{micros:06}");
    write!(out, ".{}", digits.trim_end_matches('0'))
}

fn write_binary(column: &Column<'_>, row: usize, out: &mut BytesMut) -> Result<(), ArrowError> {
    match column {
        Column::Bool(array) => out.put_u8(u8::from(array.value(row))),
        Column::Int2(array) => out.put_i16(array.value(row)),
        Column::Int4(array) => out.put_i32(array.value(row)),
        Column::Int8(array) => out.put_i64(array.value(row)),
        Column::Float4(array) => out.put_f32(array.value(row)),
        Column::Float8(array) => out.put_f64(array.value(row)),
        Column::Text(array) => out.put_slice(array.value(row).as_bytes()),
        Column::Bytea(array) => out.put_slice(array.value(row)),
        Column::Date(array) => out.put_i32(
            array
                .value(row)
                .checked_sub(PG_EPOCH_DAYS)
                .ok_or_else(|| out_of_range("date"))?,
        ),
        Column::Timestamp(array, _) => out.put_i64(
            array
                .value(row)
                .checked_sub(PG_EPOCH_MICROS)
                .ok_or_else(|| out_of_range("timestamp"))?,
        ),
        Column::Time(array) => out.put_i64(array.value(row)),
        Column::Numeric(formatter) => {
            write_numeric_binary(&formatter.value(row).to_string(), out)?;
        }
        Column::Display(formatter) => {
            write!(out, "{}", formatter.value(row)).map_err(|error| {
                ArrowError::ComputeError(format!("cannot format value: {error}"))
            })?;
        }
    }
    Ok(())
}

/// PostgreSQL's binary `numeric`: digit count, weight, sign, display scale, then base-10000
/// digits, from a plain decimal string such as `-123.4500`.
pub(crate) fn write_numeric_binary(text: &str, out: &mut BytesMut) -> Result<(), ArrowError> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let integer_pad = (4 - integer.len() % 4) % 4;
    let fraction_pad = (4 - fraction.len() % 4) % 4;
    let decimal_digits: Vec<i16> = std::iter::repeat_n(b'0', integer_pad)
        .chain(integer.bytes())
        .chain(fraction.bytes())
        .chain(std::iter::repeat_n(b'0', fraction_pad))
        .map(|byte| match byte {
            b'0'..=b'9' => Ok(i16::from(byte - b'0')),
            _ => Err(ArrowError::ComputeError(format!(
                "not a decimal number: {text}"
            ))),
        })
        .collect::<Result<_, _>>()?;
    let groups: Vec<i16> = decimal_digits
        .chunks(4)
        .map(|chunk| chunk.iter().fold(0, |group, digit| group * 10 + digit))
        .collect();
    let integer_groups = (integer.len() + integer_pad) / 4;
    let leading_zeros = groups.iter().take_while(|group| **group == 0).count();
    let trailing_zeros = groups[leading_zeros..]
        .iter()
        .rev()
        .take_while(|group| **group == 0)
        .count();
    let digits = &groups[leading_zeros..groups.len() - trailing_zeros];
    let too_long = || ArrowError::ComputeError(format!("numeric too long: {text}"));
    let weight = if digits.is_empty() {
        0
    } else {
        i16::try_from(integer_groups).map_err(|_| too_long())?
            - 1
            - i16::try_from(leading_zeros).map_err(|_| too_long())?
    };
    out.put_i16(i16::try_from(digits.len()).map_err(|_| too_long())?);
    out.put_i16(weight);
    out.put_u16(if negative && !digits.is_empty() {
        0x4000
    } else {
        0
    });
    out.put_u16(u16::try_from(fraction.len()).map_err(|_| too_long())?);
    for digit in digits {
        out.put_i16(*digit);
    }
    Ok(())
}

fn date_from_unix_days(days: i32) -> Result<NaiveDate, ArrowError> {
    days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| out_of_range("date"))
}

fn out_of_range(what: &str) -> ArrowError {
    ArrowError::ComputeError(format!("{what} out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(text: &str) -> Vec<i16> {
        let mut out = BytesMut::new();
        write_numeric_binary(text, &mut out).unwrap_or_default();
        out.chunks(2)
            .map(|pair| i16::from_be_bytes([pair[0], pair[1]]))
            .collect()
    }

    #[test]
    fn numeric_binary_matches_postgres() {
        // ndigits, weight, sign, dscale, digits…
        assert_eq!(numeric("12345.678"), vec![3, 1, 0, 3, 1, 2345, 6780]);
        assert_eq!(numeric("-0.0012"), vec![1, -1, 0x4000, 4, 12]);
        assert_eq!(numeric("0.00"), vec![0, 0, 0, 2]);
        assert_eq!(numeric("10000"), vec![1, 1, 0, 0, 1]);
    }
}
