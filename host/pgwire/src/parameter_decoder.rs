//! `$n` parameter values from a Bind message to DataFusion scalars.
//!
//! A parameter's PostgreSQL type is the one the client declared in Parse, else the one we
//! described (from the runner's inferred type), else `text`. Its value is decoded from that
//! type's text or binary format and then cast to the Arrow type the runner inferred, or to the
//! natural Arrow type of the PostgreSQL type.

use arrow_schema::DataType;
use datafusion::scalar::ScalarValue;
use pgwire::api::Type;
use pgwire::api::portal::Portal;

use crate::pg_type::{PG_EPOCH_DAYS, PG_EPOCH_MICROS, PgKind, arrow_type_of_parameter};
use crate::query_parser::PreparedStatement;
use crate::{StatementError, StatementErrorCode};

/// The values of all parameters bound to `portal`.
pub(crate) fn decode_parameters(
    portal: &Portal<PreparedStatement>,
) -> Result<Vec<ScalarValue>, StatementError> {
    let described = &portal.statement.statement.parameter_types;
    let declared = &portal.statement.parameter_types;
    portal
        .parameters
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let inferred = described.get(index).cloned().flatten();
            let pg_type = declared
                .get(index)
                .cloned()
                .flatten()
                .filter(|declared| *declared != Type::UNKNOWN)
                .or_else(|| {
                    inferred
                        .as_ref()
                        .map(|data_type| PgKind::of(data_type).pg_type())
                })
                .unwrap_or(Type::TEXT);
            let target = inferred.unwrap_or_else(|| arrow_type_of_parameter(&pg_type));
            let invalid = |message: String| {
                StatementError::new(
                    StatementErrorCode::InvalidParameter,
                    format!("parameter ${}: {message}", index + 1),
                )
            };
            let Some(bytes) = value else {
                return ScalarValue::try_from(&target).map_err(|error| invalid(error.to_string()));
            };
            let value = if portal.parameter_format.is_binary(index) {
                decode_binary(&pg_type, bytes).map_err(invalid)?
            } else {
                decode_text(&target, bytes).map_err(invalid)?
            };
            value
                .cast_to(&target)
                .map_err(|error| invalid(error.to_string()))
        })
        .collect()
}

fn decode_text(target: &DataType, bytes: &[u8]) -> Result<ScalarValue, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_owned())?;
    if matches!(
        target,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
    ) && let Some(hex) = text.strip_prefix("\\x")
    {
        return decode_hex(hex).map(|bytes| ScalarValue::Binary(Some(bytes)));
    }
    if matches!(target, DataType::Date32 | DataType::Date64) {
        return Ok(ScalarValue::Utf8(Some(date_without_zone(text).to_owned())));
    }
    Ok(ScalarValue::Utf8(Some(text.to_owned())))
}

/// A date's text without a trailing time zone, which PostgreSQL's date input ignores: the JDBC
/// driver sends `setDate` values as `1995-01-01 +00`.
fn date_without_zone(text: &str) -> &str {
    match text.trim().rsplit_once(' ') {
        Some((date, zone))
            if zone.starts_with(['+', '-'])
                && zone.len() > 1
                && zone[1..].chars().all(|c| c.is_ascii_digit() || c == ':') =>
        {
            date.trim_end()
        }
        _ => text,
    }
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err("odd number of hex digits".to_owned());
    }
    (0..hex.len())
        .step_by(2)
        .map(|at| {
            hex.get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("invalid hex digits in {hex}"))
        })
        .collect()
}

fn decode_binary(pg_type: &Type, bytes: &[u8]) -> Result<ScalarValue, String> {
    Ok(match *pg_type {
        Type::BOOL => ScalarValue::Boolean(Some(fixed::<1>(bytes)?[0] != 0)),
        Type::INT2 => ScalarValue::Int16(Some(i16::from_be_bytes(fixed(bytes)?))),
        Type::INT4 => ScalarValue::Int32(Some(i32::from_be_bytes(fixed(bytes)?))),
        Type::INT8 => ScalarValue::Int64(Some(i64::from_be_bytes(fixed(bytes)?))),
        Type::OID => ScalarValue::UInt32(Some(u32::from_be_bytes(fixed(bytes)?))),
        Type::FLOAT4 => ScalarValue::Float32(Some(f32::from_be_bytes(fixed(bytes)?))),
        Type::FLOAT8 => ScalarValue::Float64(Some(f64::from_be_bytes(fixed(bytes)?))),
        Type::NUMERIC => ScalarValue::Utf8(Some(numeric_text(bytes)?)),
        Type::BYTEA => ScalarValue::Binary(Some(bytes.to_vec())),
        Type::DATE => ScalarValue::Date32(Some(
            i32::from_be_bytes(fixed(bytes)?)
                .checked_add(PG_EPOCH_DAYS)
                .ok_or("date out of range")?,
        )),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let micros = i64::from_be_bytes(fixed(bytes)?)
                .checked_add(PG_EPOCH_MICROS)
                .ok_or("timestamp out of range")?;
            let zone = (*pg_type == Type::TIMESTAMPTZ).then(|| "+00:00".into());
            ScalarValue::TimestampMicrosecond(Some(micros), zone)
        }
        Type::TIME => ScalarValue::Time64Microsecond(Some(i64::from_be_bytes(fixed(bytes)?))),
        // text, varchar, name, json, unknown, …: the binary form is the UTF-8 text.
        _ => ScalarValue::Utf8(Some(
            String::from_utf8(bytes.to_vec()).map_err(|_| "not valid UTF-8".to_owned())?,
        )),
    })
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", bytes.len()))
}

/// PostgreSQL's binary `numeric` as a decimal string (`-12.50`).
fn numeric_text(bytes: &[u8]) -> Result<String, String> {
    let word = |index: usize| -> Result<i16, String> {
        bytes
            .get(index * 2..index * 2 + 2)
            .map(|pair| i16::from_be_bytes([pair[0], pair[1]]))
            .ok_or_else(|| "truncated numeric".to_owned())
    };
    let count = usize::try_from(word(0)?).map_err(|_| "invalid numeric")?;
    let weight = isize::from(word(1)?);
    let sign = word(2)? as u16;
    let scale = usize::try_from(word(3)?).map_err(|_| "invalid numeric")?;
    if sign == 0xC000 {
        return Err("NaN is not supported".to_owned());
    }
    let digits = (0..count)
        .map(|index| word(4 + index))
        .collect::<Result<Vec<_>, _>>()?;
    let digit = |position: isize| -> i16 {
        usize::try_from(position)
            .ok()
            .and_then(|index| digits.get(index).copied())
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        for position in 0..=weight {
            if position == 0 {
                text.push_str(&digit(position).to_string());
            } else {
                text.push_str(&format!("{:04}", digit(position)));
            }
        }
    }
    if scale > 0 {
        let mut fraction = String::new();
        let mut position = weight + 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(position)));
            position += 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::{date_without_zone, numeric_text};

    #[test]
    fn a_date_parameter_drops_its_time_zone() {
        assert_eq!(date_without_zone("1995-01-01 +00"), "1995-01-01");
        assert_eq!(date_without_zone("1995-01-01 -05:30"), "1995-01-01");
        assert_eq!(date_without_zone("1995-01-01"), "1995-01-01");
        // Not a zone: left for the cast to accept or refuse.
        assert_eq!(date_without_zone("1995-01-01 BC"), "1995-01-01 BC");
    }

    fn words(values: &[i16]) -> Vec<u8> {
        values
            .iter()
            .flat_map(|value| value.to_be_bytes())
            .collect()
    }

    #[test]
    fn numeric_binary_to_text() {
        assert_eq!(
            numeric_text(&words(&[3, 1, 0, 3, 1, 2345, 6780])).ok(),
            Some("12345.678".to_owned())
        );
        assert_eq!(
            numeric_text(&words(&[1, -1, 0x4000, 4, 12])).ok(),
            Some("-0.0012".to_owned())
        );
        assert_eq!(
            numeric_text(&words(&[0, 0, 0, 0])).ok(),
            Some("0".to_owned())
        );
    }
}
