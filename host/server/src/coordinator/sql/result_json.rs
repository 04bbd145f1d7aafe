//! A query result as JSON: `{"columns": [{"name", "type"}], "rows": [[...]], "row_count"}`.
//!
//! Integers and floats are JSON numbers (a non-finite float is a string), booleans are
//! booleans, NULL is null; decimals, dates, timestamps, text and everything else are the strings
//! Arrow's display formatting gives, so no precision is lost. Column types are SQL type names.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{ArrowError, DataType, Schema};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Map, Number, Value, json};

/// `schema` and `batches` as the JSON result.
pub fn to_json(schema: &Schema, batches: &[RecordBatch]) -> Result<Value, ArrowError> {
    let columns: Vec<Value> = schema
        .fields()
        .iter()
        .map(|f| json!({ "name": f.name(), "type": sql_type(f.data_type()) }))
        .collect();
    let mut rows: Vec<Value> = Vec::new();
    let options = FormatOptions::default();
    for batch in batches {
        let mut table: Vec<Vec<Value>> =
            vec![Vec::with_capacity(batch.num_columns()); batch.num_rows()];
        for column in batch.columns() {
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
            for (row, values) in table.iter_mut().enumerate() {
                values.push(value(column.as_ref(), row, &formatter));
            }
        }
        rows.extend(table.into_iter().map(Value::Array));
    }
    let mut out = Map::new();
    out.insert("columns".into(), Value::Array(columns));
    out.insert("row_count".into(), json!(rows.len()));
    out.insert("rows".into(), Value::Array(rows));
    Ok(Value::Object(out))
}

fn value(array: &dyn Array, row: usize, formatter: &ArrayFormatter<'_>) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    let float = |v: f64| Number::from_f64(v).map_or_else(|| json!(v.to_string()), Value::Number);
    match array.data_type() {
        DataType::Boolean => json!(array.as_boolean().value(row)),
        DataType::Int8 => json!(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => json!(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => json!(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => json!(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => json!(array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => json!(array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => json!(array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => json!(array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float16 => float(f64::from(array.as_primitive::<Float16Type>().value(row))),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        _ => Value::String(formatter.value(row).to_string()),
    }
}

/// The SQL name of an Arrow type, as Trino and PostgreSQL spell it.
pub fn sql_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Null => "unknown".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 | DataType::UInt8 => "smallint".into(),
        DataType::Int32 | DataType::UInt16 => "integer".into(),
        DataType::Int64 | DataType::UInt32 => "bigint".into(),
        DataType::UInt64 => "decimal(20,0)".into(),
        DataType::Float16 | DataType::Float32 => "real".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "varchar".into(),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "varbinary".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, None) => "timestamp".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time".into(),
        DataType::Interval(_) | DataType::Duration(_) => "interval".into(),
        other => other.to_string().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, StringArray,
    };
    use arrow_schema::Field;

    use super::*;

    #[test]
    fn values_keep_their_json_kind_and_decimals_their_digits() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("price", DataType::Decimal128(15, 2), true),
            Field::new("x", DataType::Float64, true),
            Field::new("flag", DataType::Boolean, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("day", DataType::Date32, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(7), None])),
                Arc::new(
                    Decimal128Array::from(vec![Some(123_456), None])
                        .with_precision_and_scale(15, 2)
                        .unwrap(),
                ),
                Arc::new(Float64Array::from(vec![Some(0.5), Some(f64::NAN)])),
                Arc::new(BooleanArray::from(vec![Some(true), None])),
                Arc::new(StringArray::from(vec![Some("a\"b"), None])),
                Arc::new(Date32Array::from(vec![Some(10_000), None])),
            ],
        )
        .unwrap();
        let json = to_json(&schema, &[batch]).unwrap();
        assert_eq!(json["row_count"], 2);
        assert_eq!(
            json["columns"][1],
            json!({"name": "price", "type": "decimal(15,2)"})
        );
        assert_eq!(json["columns"][4]["type"], "varchar");
        assert_eq!(
            json["rows"][0],
            json!([7, "1234.56", 0.5, true, "a\"b", "1997-05-19"])
        );
        assert_eq!(
            json["rows"][1],
            json!([null, null, "NaN", null, null, null])
        );
    }
}
