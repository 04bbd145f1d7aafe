//! A batch from a plugin, from Arrow IPC bytes to a checked `RecordBatch`.
//!
//! The contract says a batch is an IPC stream of one schema message and one record batch whose
//! columns are the declared ones (or the projected subset, in projection order). Everything is
//! checked: the byte cap before decoding, the IPC structure and buffers while decoding (arrow
//! validates offsets and lengths, so a malicious buffer is an error, not undefined behaviour),
//! then field names, types and nulls against the declared schema, and the row count against
//! what the host asked for. The returned batch carries exactly the declared schema.

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;
use arrow_schema::SchemaRef;

use crate::error::ByteSize;

/// Decodes and checks one batch; the error is the reason, for [`crate::Error::InvalidOutput`].
pub fn check_batch(
    bytes: Vec<u8>,
    expected: &SchemaRef,
    max_rows: u32,
    max_batch_bytes: u64,
) -> Result<RecordBatch, String> {
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if len > max_batch_bytes {
        return Err(format!(
            "batch of {} is over the cap of {}",
            ByteSize(len),
            ByteSize(max_batch_bytes)
        ));
    }
    let mut buffer = Buffer::from_vec(bytes);
    let mut decoder = StreamDecoder::new();
    let mut batch = None;
    while !buffer.is_empty() {
        match decoder.decode(&mut buffer) {
            Ok(Some(b)) => {
                if batch.is_some() {
                    return Err("more than one record batch in one IPC stream".into());
                }
                batch = Some(b);
            }
            Ok(None) => {
                if !buffer.is_empty() {
                    // The decoder consumed nothing and wants more: truncated input.
                    break;
                }
            }
            Err(e) => return Err(format!("invalid Arrow IPC: {e}")),
        }
    }
    decoder
        .finish()
        .map_err(|e| format!("invalid Arrow IPC: {e}"))?;
    let batch = batch.ok_or("an IPC stream without a record batch")?;

    let got = batch.schema();
    if got.fields().len() != expected.fields().len() {
        return Err(format!(
            "schema mismatch: {} columns, expected {} ({})",
            got.fields().len(),
            expected.fields().len(),
            field_list(expected)
        ));
    }
    for (i, (g, e)) in got.fields().iter().zip(expected.fields()).enumerate() {
        if g.name() != e.name() || g.data_type() != e.data_type() {
            return Err(format!(
                "schema mismatch at column {i}: got \"{}\" {}, expected \"{}\" {}",
                g.name(),
                g.data_type(),
                e.name(),
                e.data_type()
            ));
        }
        if !e.is_nullable() && batch.column(i).null_count() > 0 {
            return Err(format!(
                "column \"{}\" is declared not null but has {} nulls",
                e.name(),
                batch.column(i).null_count()
            ));
        }
    }
    if batch.num_rows() > max_rows as usize {
        return Err(format!(
            "batch of {} rows, the host asked for at most {max_rows}",
            batch.num_rows()
        ));
    }
    // With the row count given, a batch of no columns (`SELECT count(*)`) keeps its rows.
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(expected.clone(), batch.columns().to_vec(), &options)
        .map_err(|e| format!("schema mismatch: {e}"))
}

fn field_list(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("\"{}\" {}", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use arrow_ipc::writer::StreamWriter;
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn encode(batch: &RecordBatch) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
        w.write(batch).unwrap();
        w.finish().unwrap();
        drop(w);
        out
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]))
    }

    fn batch(schema: SchemaRef) -> RecordBatch {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
        ];
        RecordBatch::try_new(schema, cols).unwrap()
    }

    #[test]
    fn accepts_a_matching_batch() {
        let b = check_batch(encode(&batch(schema())), &schema(), 10, 1 << 20).unwrap();
        assert_eq!(b.num_rows(), 3);
    }

    #[test]
    fn refuses_garbage_mismatch_and_size() {
        let err = check_batch(vec![1, 2, 3, 4, 5, 6, 7, 8, 9], &schema(), 10, 1 << 20).unwrap_err();
        assert!(err.contains("invalid Arrow IPC"), "{err}");
        let other = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let err = check_batch(encode(&batch(schema())), &other, 10, 1 << 20).unwrap_err();
        assert!(err.contains("schema mismatch at column 0"), "{err}");
        let err = check_batch(encode(&batch(schema())), &schema(), 10, 16).unwrap_err();
        assert!(err.contains("over the cap of 16 bytes"), "{err}");
        let err = check_batch(encode(&batch(schema())), &schema(), 2, 1 << 20).unwrap_err();
        assert!(err.contains("at most 2"), "{err}");
        let err = check_batch(Vec::new(), &schema(), 10, 1 << 20).unwrap_err();
        assert!(err.contains("without a record batch"), "{err}");
    }

    #[test]
    fn a_batch_of_no_columns_keeps_its_row_count() {
        let empty = Arc::new(Schema::empty());
        let options = RecordBatchOptions::new().with_row_count(Some(7));
        let rows = RecordBatch::try_new_with_options(empty.clone(), Vec::new(), &options).unwrap();
        let b = check_batch(encode(&rows), &(empty as SchemaRef), 10, 1 << 20).unwrap();
        assert_eq!(b.num_rows(), 7);
        assert_eq!(b.num_columns(), 0);
    }
}
