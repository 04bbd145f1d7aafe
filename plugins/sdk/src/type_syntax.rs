//! The textual type syntax connectors share for declared columns and split payloads: `int64`,
//! `decimal(12,2)`, `timestamp(UTC)`, optionally followed by `not null`.

use crate::{Column, DataType};

/// A column type with its nullability, as written in a `columns` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    pub data_type: DataType,
    pub nullable: bool,
}

/// Parses `int64`, `decimal(10,2)`, `timestamp(UTC)`, `utf8 not null`, ... (case-insensitive
/// names; the time zone keeps its case).
pub fn parse_column_type(text: &str) -> Result<ColumnType, String> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    let (type_text, nullable) = match lower.strip_suffix("not null") {
        Some(rest) => (trimmed[..rest.len()].trim_end(), false),
        None => (trimmed, true),
    };
    Ok(ColumnType {
        data_type: parse_type(type_text)?,
        nullable,
    })
}

/// Parses a type name (see the module doc).
pub fn parse_type(text: &str) -> Result<DataType, String> {
    let text = text.trim();
    let (name, args) = match text.split_once('(') {
        Some((name, rest)) => {
            let args = rest
                .strip_suffix(')')
                .ok_or_else(|| format!("type {text:?} lacks a closing parenthesis"))?;
            (name.trim().to_ascii_lowercase(), Some(args.trim()))
        }
        None => (text.to_ascii_lowercase(), None),
    };
    let no_args = |t: DataType| match args {
        None => Ok(t),
        Some(_) => Err(format!("type {name:?} takes no arguments")),
    };
    match name.as_str() {
        "boolean" | "bool" => no_args(DataType::Boolean),
        "int8" | "tinyint" => no_args(DataType::Int8),
        "int16" | "smallint" => no_args(DataType::Int16),
        "int32" | "int" | "integer" => no_args(DataType::Int32),
        "int64" | "bigint" => no_args(DataType::Int64),
        "uint8" => no_args(DataType::UInt8),
        "uint16" => no_args(DataType::UInt16),
        "uint32" => no_args(DataType::UInt32),
        "uint64" => no_args(DataType::UInt64),
        "float32" | "float" | "real" => no_args(DataType::Float32),
        "float64" | "double" => no_args(DataType::Float64),
        "utf8" | "string" | "varchar" | "text" => no_args(DataType::Utf8),
        "binary" | "bytes" => no_args(DataType::Binary),
        "date" | "date32" => no_args(DataType::Date32),
        "timestamp" => Ok(DataType::TimestampMicros {
            timezone: args.filter(|a| !a.is_empty()).map(str::to_owned),
        }),
        "decimal" | "decimal128" | "numeric" => {
            let args = args.ok_or_else(|| {
                format!("type {name:?} needs a precision and scale: decimal(p,s)")
            })?;
            let (p, s) = args
                .split_once(',')
                .ok_or_else(|| format!("type {text:?}: expected decimal(p,s)"))?;
            let precision: u8 = p
                .trim()
                .parse()
                .map_err(|_| format!("type {text:?}: precision {p:?} is not a number"))?;
            let scale: i8 = s
                .trim()
                .parse()
                .map_err(|_| format!("type {text:?}: scale {s:?} is not a number"))?;
            if !(1..=38).contains(&precision) {
                return Err(format!("type {text:?}: precision must be 1 to 38"));
            }
            if i16::from(scale) > i16::from(precision) {
                return Err(format!("type {text:?}: scale exceeds precision"));
            }
            Ok(DataType::Decimal128 { precision, scale })
        }
        _ => Err(format!(
            "unknown type {text:?} (known: boolean, int8, int16, int32, int64, uint8, uint16, \
             uint32, uint64, float32, float64, decimal(p,s), utf8, binary, date, timestamp, \
             timestamp(zone))"
        )),
    }
}

/// The canonical text of a type; [`parse_type`] reads it back.
pub fn format_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::Decimal128 { precision, scale } => format!("decimal({precision},{scale})"),
        DataType::Utf8 => "utf8".into(),
        DataType::Binary => "binary".into(),
        DataType::Date32 => "date".into(),
        DataType::TimestampMicros { timezone: None } => "timestamp".into(),
        DataType::TimestampMicros { timezone: Some(tz) } => format!("timestamp({tz})"),
    }
}

/// The text of a column's type and nullability (`int64 not null`, `utf8`);
/// [`parse_column_type`] reads it back.
pub fn format_column_type(column: &Column) -> String {
    let data_type = format_type(&column.data_type);
    if column.nullable {
        data_type
    } else {
        format!("{data_type} not null")
    }
}

/// Splits `text` at `separator`, except inside parentheses (so `decimal(10,2)` stays whole).
pub fn split_top_level(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if c == separator && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_text() {
        for t in quarry_contract::samples::every_data_type() {
            assert_eq!(parse_type(&format_type(&t)).unwrap(), t);
        }
    }

    #[test]
    fn nullability_aliases_and_errors() {
        let t = parse_column_type(" BIGINT Not Null ").unwrap();
        assert_eq!(t.data_type, DataType::Int64);
        assert!(!t.nullable);
        assert!(parse_column_type("string").unwrap().nullable);
        let column = Column::not_null(
            "a",
            DataType::Decimal128 {
                precision: 10,
                scale: 2,
            },
        );
        let back = parse_column_type(&format_column_type(&column)).unwrap();
        assert_eq!((back.data_type, back.nullable), (column.data_type, false));
        assert!(parse_type("decimal(40,2)").unwrap_err().contains("1 to 38"));
        assert!(parse_type("varchar2").unwrap_err().contains("unknown type"));
        assert_eq!(
            split_top_level("a:decimal(10,2), b:int", ','),
            vec!["a:decimal(10,2)", " b:int"]
        );
    }
}
