//! Text and JSON values into typed Arrow columns, and type inference from a sample.
//!
//! Readers of text and JSON rows (the files connector's CSV and JSON lines, the http
//! connector's REST responses) parse a whole row into [`Value`]s first and append it only when
//! every cell parsed ([`crate::rows::RowAssembler`]), so a bad row can be skipped or reported
//! without leaving half a row in the builders. Column types of such sources are inferred from
//! a bounded sample: [`infer_text`], [`infer_json`], and [`JsonColumns`] for a sample of JSON
//! objects.

use std::sync::Arc;

use arrow_array::types::{Date32Type, Decimal128Type};
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int8Array, Int16Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
    UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use arrow_cast::parse::{Parser, parse_decimal, string_to_timestamp_nanos};
use serde_json::{Map, Value as Json};

use crate::{Column, DataType, Result};

/// One cell as read from a source.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Null,
    Text(&'a str),
    Json(&'a Json),
}

/// One parsed cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    I128(i128),
    Str(String),
    Bytes(Vec<u8>),
    Date(i32),
    Micros(i64),
}

fn short(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// Parses a cell as `column`'s type; the error names the column, the value and the type.
pub fn parse_cell(column: &Column, cell: Cell<'_>) -> Result<Value, String> {
    let value = match cell {
        Cell::Null | Cell::Json(Json::Null) => Value::Null,
        Cell::Text(text) => parse_text(&column.data_type, text).map_err(|reason| {
            format!(
                "column \"{}\": cannot read {:?} as {}{reason}",
                column.name,
                short(text),
                crate::type_syntax::format_type(&column.data_type)
            )
        })?,
        Cell::Json(json) => parse_json(&column.data_type, json).map_err(|reason| {
            format!(
                "column \"{}\": cannot read {} as {}{reason}",
                column.name,
                short(&json.to_string()),
                crate::type_syntax::format_type(&column.data_type)
            )
        })?,
    };
    if value == Value::Null && !column.nullable {
        return Err(format!(
            "column \"{}\" is declared not null but the value is missing",
            column.name
        ));
    }
    Ok(value)
}

fn out_of_range() -> String {
    ": out of range".to_owned()
}

fn parse_text(data_type: &DataType, text: &str) -> Result<Value, String> {
    let t = text.trim();
    let none = String::new;
    Ok(match data_type {
        DataType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "t" => Value::Bool(true),
            "false" | "f" => Value::Bool(false),
            _ => return Err(none()),
        },
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let v: i64 = t.parse().map_err(|_| none())?;
            check_signed(data_type, v)?;
            Value::I64(v)
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            let v: u64 = t.parse().map_err(|_| none())?;
            check_unsigned(data_type, v)?;
            Value::U64(v)
        }
        DataType::Float32 | DataType::Float64 => Value::F64(t.parse().map_err(|_| none())?),
        DataType::Decimal128 { precision, scale } => Value::I128(
            parse_decimal::<Decimal128Type>(t, *precision, *scale).map_err(|e| format!(": {e}"))?,
        ),
        DataType::Utf8 => Value::Str(text.to_owned()),
        DataType::Binary => Value::Bytes(text.as_bytes().to_vec()),
        DataType::Date32 => Value::Date(Date32Type::parse(t).ok_or_else(none)?),
        DataType::TimestampMicros { .. } => {
            let nanos = string_to_timestamp_nanos(t).map_err(|_| none())?;
            Value::Micros(nanos.div_euclid(1000))
        }
    })
}

fn parse_json(data_type: &DataType, json: &Json) -> Result<Value, String> {
    if let Json::String(text) = json {
        return parse_text(data_type, text);
    }
    let none = String::new;
    Ok(match (data_type, json) {
        (DataType::Utf8, other) => Value::Str(other.to_string()),
        (DataType::Binary, other) => Value::Bytes(other.to_string().into_bytes()),
        (DataType::Boolean, Json::Bool(b)) => Value::Bool(*b),
        (DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64, Json::Number(n)) => {
            let v = n.as_i64().ok_or_else(none)?;
            check_signed(data_type, v)?;
            Value::I64(v)
        }
        (
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64,
            Json::Number(n),
        ) => {
            let v = n.as_u64().ok_or_else(none)?;
            check_unsigned(data_type, v)?;
            Value::U64(v)
        }
        (DataType::Float32 | DataType::Float64, Json::Number(n)) => {
            Value::F64(n.as_f64().ok_or_else(none)?)
        }
        (DataType::Decimal128 { .. }, Json::Number(n)) => parse_text(data_type, &n.to_string())?,
        (DataType::Date32, Json::Number(n)) => Value::Date(
            n.as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(out_of_range)?,
        ),
        (DataType::TimestampMicros { .. }, Json::Number(n)) => {
            Value::Micros(n.as_i64().ok_or_else(none)?)
        }
        _ => return Err(none()),
    })
}

fn check_signed(data_type: &DataType, v: i64) -> Result<(), String> {
    let ok = match data_type {
        DataType::Int8 => i8::try_from(v).is_ok(),
        DataType::Int16 => i16::try_from(v).is_ok(),
        DataType::Int32 => i32::try_from(v).is_ok(),
        _ => true,
    };
    if ok { Ok(()) } else { Err(out_of_range()) }
}

fn check_unsigned(data_type: &DataType, v: u64) -> Result<(), String> {
    let ok = match data_type {
        DataType::UInt8 => u8::try_from(v).is_ok(),
        DataType::UInt16 => u16::try_from(v).is_ok(),
        DataType::UInt32 => u32::try_from(v).is_ok(),
        _ => true,
    };
    if ok { Ok(()) } else { Err(out_of_range()) }
}

/// Collects parsed values of one column and builds its Arrow array.
#[derive(Debug)]
pub struct ColumnValues {
    data_type: DataType,
    values: Vec<Value>,
}

impl ColumnValues {
    pub fn new(data_type: DataType) -> Self {
        ColumnValues {
            data_type,
            values: Vec::new(),
        }
    }

    pub fn push(&mut self, value: Value) {
        self.values.push(value);
    }

    /// The array of the values pushed so far; the collector starts over empty.
    pub fn finish(&mut self) -> ArrayRef {
        let values = std::mem::take(&mut self.values);
        macro_rules! build {
            ($array:ty, $pat:pat => $out:expr) => {
                Arc::new(
                    values
                        .into_iter()
                        .map(|v| match v {
                            $pat => Some($out),
                            _ => None,
                        })
                        .collect::<$array>(),
                ) as ArrayRef
            };
        }
        // Values were parsed for this type, so each arm only sees its own kind (or null).
        match &self.data_type {
            DataType::Boolean => build!(BooleanArray, Value::Bool(b) => b),
            DataType::Int8 => build!(Int8Array, Value::I64(v) => v as i8),
            DataType::Int16 => build!(Int16Array, Value::I64(v) => v as i16),
            DataType::Int32 => build!(Int32Array, Value::I64(v) => v as i32),
            DataType::Int64 => build!(Int64Array, Value::I64(v) => v),
            DataType::UInt8 => build!(UInt8Array, Value::U64(v) => v as u8),
            DataType::UInt16 => build!(UInt16Array, Value::U64(v) => v as u16),
            DataType::UInt32 => build!(UInt32Array, Value::U64(v) => v as u32),
            DataType::UInt64 => build!(UInt64Array, Value::U64(v) => v),
            DataType::Float32 => build!(Float32Array, Value::F64(v) => v as f32),
            DataType::Float64 => build!(Float64Array, Value::F64(v) => v),
            DataType::Decimal128 { precision, scale } => {
                let array = values
                    .into_iter()
                    .map(|v| match v {
                        Value::I128(v) => Some(v),
                        _ => None,
                    })
                    .collect::<Decimal128Array>()
                    .with_precision_and_scale(*precision, *scale)
                    .unwrap_or_else(|_| Decimal128Array::from(Vec::<Option<i128>>::new()));
                Arc::new(array)
            }
            DataType::Utf8 => build!(StringArray, Value::Str(s) => s),
            DataType::Binary => {
                let bytes: Vec<Option<Vec<u8>>> = values
                    .into_iter()
                    .map(|v| match v {
                        Value::Bytes(b) => Some(b),
                        _ => None,
                    })
                    .collect();
                Arc::new(BinaryArray::from_iter(bytes))
            }
            DataType::Date32 => build!(Date32Array, Value::Date(d) => d),
            DataType::TimestampMicros { timezone } => {
                let array = values
                    .into_iter()
                    .map(|v| match v {
                        Value::Micros(v) => Some(v),
                        _ => None,
                    })
                    .collect::<TimestampMicrosecondArray>()
                    .with_timezone_opt(timezone.clone());
                Arc::new(array)
            }
        }
    }
}

/// A type inferred from sample values; merged over a column's sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inferred {
    /// Only nulls so far.
    Unknown,
    Boolean,
    Int64,
    Float64,
    Date32,
    /// A timestamp; `zoned` when every sampled value carried a zone or offset.
    Timestamp {
        zoned: bool,
    },
    Utf8,
}

impl Inferred {
    /// The narrowest type that holds both.
    pub fn merge(self, other: Inferred) -> Inferred {
        use Inferred::*;
        match (self, other) {
            (Unknown, x) | (x, Unknown) => x,
            (a, b) if a == b => a,
            (Int64, Float64) | (Float64, Int64) => Float64,
            (Date32 | Timestamp { .. }, Date32 | Timestamp { .. }) => Timestamp { zoned: false },
            _ => Utf8,
        }
    }

    /// The column type (a column of nulls only is text).
    pub fn data_type(self) -> DataType {
        match self {
            Inferred::Unknown | Inferred::Utf8 => DataType::Utf8,
            Inferred::Boolean => DataType::Boolean,
            Inferred::Int64 => DataType::Int64,
            Inferred::Float64 => DataType::Float64,
            Inferred::Date32 => DataType::Date32,
            Inferred::Timestamp { zoned: true } => DataType::TimestampMicros {
                timezone: Some("UTC".to_owned()),
            },
            Inferred::Timestamp { zoned: false } => DataType::TimestampMicros { timezone: None },
        }
    }
}

/// The type of a text value (CSV, or a JSON string when `strings_only_temporal`, where only
/// dates and timestamps are recognised and everything else stays text).
pub fn infer_text(text: &str, strings_only_temporal: bool) -> Inferred {
    let t = text.trim();
    if !strings_only_temporal {
        if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
            return Inferred::Boolean;
        }
        if t.parse::<i64>().is_ok() {
            return Inferred::Int64;
        }
        let numeric_start = t
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'));
        if numeric_start && t.parse::<f64>().is_ok() {
            return Inferred::Float64;
        }
    }
    let date_like = t.len() >= 10
        && t.as_bytes().get(4).is_some_and(|b| *b == b'-')
        && t.as_bytes().first().is_some_and(u8::is_ascii_digit);
    if date_like {
        if t.len() == 10 && Date32Type::parse(t).is_some() {
            return Inferred::Date32;
        }
        if string_to_timestamp_nanos(t).is_ok() {
            let tail = &t[10..];
            let zoned = tail.ends_with('Z') || tail.ends_with('z') || tail.contains(['+', '-']);
            return Inferred::Timestamp { zoned };
        }
    }
    Inferred::Utf8
}

/// The type of a JSON value.
pub fn infer_json(json: &Json) -> Inferred {
    match json {
        Json::Null => Inferred::Unknown,
        Json::Bool(_) => Inferred::Boolean,
        Json::Number(n) if n.is_i64() => Inferred::Int64,
        Json::Number(_) => Inferred::Float64,
        Json::String(s) => infer_text(s, true),
        Json::Array(_) | Json::Object(_) => Inferred::Utf8,
    }
}

/// What a JSON value is, for messages: "an object", "an array", "a string", ...
pub fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Object(_) => "an object",
        Json::Array(_) => "an array",
        Json::String(_) => "a string",
        Json::Number(_) => "a number",
        Json::Bool(_) => "a boolean",
        Json::Null => "null",
    }
}

/// Columns inferred from sampled JSON objects: their keys in order of first appearance, each
/// typed by merging [`infer_json`] over its values (a key seen only with nulls is text).
#[derive(Debug, Clone, Default)]
pub struct JsonColumns {
    names: Vec<String>,
    types: Vec<Inferred>,
}

impl JsonColumns {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sampled object.
    pub fn add(&mut self, object: &Map<String, Json>) {
        for (key, value) in object {
            let index = self.names.iter().position(|n| n == key).unwrap_or_else(|| {
                self.names.push(key.clone());
                self.types.push(Inferred::Unknown);
                self.names.len() - 1
            });
            self.types[index] = self.types[index].merge(infer_json(value));
        }
    }

    /// Whether no key was seen.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// `(name, inferred type)` per column, in order of first appearance.
    pub fn into_inferred(self) -> impl Iterator<Item = (String, Inferred)> {
        self.names.into_iter().zip(self.types)
    }

    /// The columns, every one nullable.
    pub fn into_columns(self) -> Vec<Column> {
        self.into_inferred()
            .map(|(name, inferred)| Column::new(&name, inferred.data_type()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inference_widens_and_falls_back_to_text() {
        let over = |values: &[&str]| {
            values
                .iter()
                .fold(Inferred::Unknown, |acc, v| acc.merge(infer_text(v, false)))
                .data_type()
        };
        assert_eq!(over(&["1", "2"]), DataType::Int64);
        assert_eq!(over(&["1", "2.5"]), DataType::Float64);
        assert_eq!(over(&["true", "FALSE"]), DataType::Boolean);
        assert_eq!(over(&["2024-01-02"]), DataType::Date32);
        assert_eq!(
            over(&["2024-01-02T03:04:05Z"]),
            DataType::TimestampMicros {
                timezone: Some("UTC".into())
            }
        );
        assert_eq!(
            over(&["2024-01-02", "2024-01-02 03:04:05"]),
            DataType::TimestampMicros { timezone: None }
        );
        assert_eq!(over(&["1", "x"]), DataType::Utf8);
        assert_eq!(over(&["nan", "inf"]), DataType::Utf8);
        assert_eq!(over(&[]), DataType::Utf8);
    }

    #[test]
    fn cells_parse_or_name_the_column_and_value() {
        let col = Column::new("n", DataType::Int8);
        assert_eq!(parse_cell(&col, Cell::Text("12")).unwrap(), Value::I64(12));
        let err = parse_cell(&col, Cell::Text("300")).unwrap_err();
        assert!(
            err.contains("\"n\"") && err.contains("300") && err.contains("out of range"),
            "{err}"
        );
        let col = Column::not_null(
            "d",
            DataType::Decimal128 {
                precision: 5,
                scale: 2,
            },
        );
        assert_eq!(
            parse_cell(&col, Cell::Text("1.5")).unwrap(),
            Value::I128(150)
        );
        assert!(
            parse_cell(&col, Cell::Null)
                .unwrap_err()
                .contains("not null")
        );
        let ts = Column::new("t", DataType::TimestampMicros { timezone: None });
        assert_eq!(
            parse_cell(&ts, Cell::Text("1970-01-01T00:00:01.5")).unwrap(),
            Value::Micros(1_500_000)
        );
    }

    #[test]
    fn json_columns_keep_first_appearance_order_and_merge_types() {
        let rows = serde_json::json!([
            {"id": 1, "name": null, "tags": ["a"]},
            {"name": "x", "id": 2.5, "at": "2024-01-02"},
            {"id": 3, "extra": {"k": 1}}
        ]);
        let mut sample = JsonColumns::new();
        assert!(sample.is_empty());
        for row in rows.as_array().unwrap() {
            sample.add(row.as_object().unwrap());
        }
        let columns = sample.into_columns();
        let got: Vec<(&str, &DataType)> = columns
            .iter()
            .map(|c| (c.name.as_str(), &c.data_type))
            .collect();
        assert_eq!(
            got,
            vec![
                ("id", &DataType::Float64),
                ("name", &DataType::Utf8),
                ("tags", &DataType::Utf8),
                ("at", &DataType::Date32),
                ("extra", &DataType::Utf8),
            ]
        );
        assert!(columns.iter().all(|c| c.nullable));
        assert_eq!(json_kind(&serde_json::json!([1])), "an array");
    }

    #[test]
    fn nested_json_reads_as_its_text() {
        let col = Column::new("c", DataType::Utf8);
        let nested = serde_json::json!({"id": 10});
        assert_eq!(
            parse_cell(&col, Cell::Json(&nested)).unwrap(),
            Value::Str("{\"id\":10}".to_owned())
        );
    }
}
