//! Arrow IPC encoding of batches, the data format that crosses the component boundary.
//!
//! Each batch travels as a complete IPC stream (schema message, one record batch message,
//! end-of-stream marker), so every `next` answer can be decoded on its own.

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;

use crate::{ConnectorError, Result};

/// Encodes one batch as an IPC stream.
pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>> {
    let capacity = batch.get_array_memory_size() + 1024;
    let mut writer = StreamWriter::try_new(Vec::with_capacity(capacity), &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    Ok(writer.into_inner()?)
}

/// Decodes an IPC stream holding exactly one batch (the inverse of [`encode`]).
pub fn decode(bytes: &[u8]) -> Result<RecordBatch> {
    let mut reader = StreamReader::try_new(bytes, None)?;
    let batch = reader
        .next()
        .ok_or_else(|| ConnectorError::internal("arrow ipc stream holds no batch"))??;
    if reader.next().is_some() {
        return Err(ConnectorError::internal(
            "arrow ipc stream holds more than one batch",
        ));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{
        BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
        Float64Builder, Int8Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
        TimestampMicrosecondBuilder, UInt8Builder, UInt16Builder, UInt32Builder, UInt64Builder,
    };
    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{DataType as ArrowType, TimeUnit};

    use super::*;
    use crate::{Column, DataType, DataTypeArrow, TableSchema, TableSchemaArrow};

    /// Three rows of the type: a small value, a null, an extreme value.
    fn sample(data_type: &ArrowType) -> ArrayRef {
        match data_type {
            ArrowType::Boolean => {
                let mut b = BooleanBuilder::new();
                b.extend([Some(true), None, Some(false)]);
                Arc::new(b.finish())
            }
            ArrowType::Int8 => {
                let mut b = Int8Builder::new();
                b.extend([Some(1), None, Some(i8::MIN)]);
                Arc::new(b.finish())
            }
            ArrowType::Int16 => {
                let mut b = Int16Builder::new();
                b.extend([Some(1), None, Some(i16::MIN)]);
                Arc::new(b.finish())
            }
            ArrowType::Int32 => {
                let mut b = Int32Builder::new();
                b.extend([Some(1), None, Some(i32::MIN)]);
                Arc::new(b.finish())
            }
            ArrowType::Int64 => {
                let mut b = Int64Builder::new();
                b.extend([Some(1), None, Some(i64::MIN)]);
                Arc::new(b.finish())
            }
            ArrowType::UInt8 => {
                let mut b = UInt8Builder::new();
                b.extend([Some(1), None, Some(u8::MAX)]);
                Arc::new(b.finish())
            }
            ArrowType::UInt16 => {
                let mut b = UInt16Builder::new();
                b.extend([Some(1), None, Some(u16::MAX)]);
                Arc::new(b.finish())
            }
            ArrowType::UInt32 => {
                let mut b = UInt32Builder::new();
                b.extend([Some(1), None, Some(u32::MAX)]);
                Arc::new(b.finish())
            }
            ArrowType::UInt64 => {
                let mut b = UInt64Builder::new();
                b.extend([Some(1), None, Some(u64::MAX)]);
                Arc::new(b.finish())
            }
            ArrowType::Float32 => {
                let mut b = Float32Builder::new();
                b.extend([Some(1.5), None, Some(f32::MAX)]);
                Arc::new(b.finish())
            }
            ArrowType::Float64 => {
                let mut b = Float64Builder::new();
                b.extend([Some(1.5), None, Some(f64::MIN_POSITIVE)]);
                Arc::new(b.finish())
            }
            ArrowType::Decimal128(p, s) => {
                let mut b = Decimal128Builder::new();
                b.extend([Some(12345), None, Some(-999_999_999_999_999)]);
                Arc::new(b.finish().with_precision_and_scale(*p, *s).unwrap())
            }
            ArrowType::Utf8 => {
                let mut b = StringBuilder::new();
                b.extend([Some("héllo"), None, Some("")]);
                Arc::new(b.finish())
            }
            ArrowType::Binary => {
                let mut b = BinaryBuilder::new();
                b.extend([Some(&[0u8, 255][..]), None, Some(&[][..])]);
                Arc::new(b.finish())
            }
            ArrowType::Date32 => {
                let mut b = Date32Builder::new();
                b.extend([Some(8035), None, Some(-1)]);
                Arc::new(b.finish())
            }
            ArrowType::Timestamp(TimeUnit::Microsecond, tz) => {
                let mut b = TimestampMicrosecondBuilder::new();
                b.extend([Some(1_700_000_000_000_000), None, Some(-1)]);
                Arc::new(b.finish().with_timezone_opt(tz.clone()))
            }
            other => panic!("no sample for {other}"),
        }
    }

    #[test]
    fn every_type_of_the_model_round_trips_through_ipc() {
        let types = quarry_contract::samples::every_data_type();
        let table = TableSchema::new(
            types
                .iter()
                .enumerate()
                .map(|(i, t)| Column::new(&format!("c{i}"), t.clone()))
                .collect(),
        );
        let schema = table.to_arrow();
        let columns = schema
            .fields()
            .iter()
            .map(|f| sample(f.data_type()))
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();

        let decoded = decode(&encode(&batch).unwrap()).unwrap();
        assert_eq!(decoded, batch);
        for (field, t) in decoded.schema().fields().iter().zip(&types) {
            assert_eq!(&DataType::from_arrow(field.data_type()).unwrap(), t);
        }
        assert_eq!(decoded.column(0).null_count(), 1);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"definitely not arrow").is_err());
        assert!(decode(&[]).is_err());
    }
}
