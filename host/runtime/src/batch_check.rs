//! A batch from a plugin, from Arrow IPC bytes to a checked `RecordBatch`.
//!
//! The contract says a batch is an IPC stream of one schema message and one record batch whose
//! columns are the declared ones (or the projected subset, in projection order). Everything is
//! checked: the byte cap before decoding, compression (refused: a compressed body could
//! expand far past the cap, so the contract's batches are uncompressed), the IPC structure and
//! buffers while decoding (arrow validates offsets and lengths, so a malicious buffer is an
//! error, not undefined behaviour; a panic of the decoder on crafted metadata is caught and is
//! an error too), then field names, types and nulls against the declared schema, and the row
//! count against what the host asked for. The returned batch carries exactly the declared
//! schema.

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
    refuse_compression(&bytes)?;
    let batch = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode(bytes))).map_err(
        |panic| {
            let reason = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            format!("invalid Arrow IPC: the decoder failed on it ({reason})")
        },
    )??;

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

/// The one record batch of an IPC stream.
fn decode(bytes: Vec<u8>) -> Result<RecordBatch, String> {
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
    batch.ok_or_else(|| "an IPC stream without a record batch".to_owned())
}

/// Walks the stream's messages (continuation, metadata length, flatbuffer, body) and refuses
/// any record or dictionary batch whose body is compressed. What does not parse is left to the
/// decoder, which reports it.
fn refuse_compression(bytes: &[u8]) -> Result<(), String> {
    let word = |at: usize| -> Option<u32> {
        let slice = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([slice[0], slice[1], slice[2], slice[3]]))
    };
    let mut at = 0usize;
    while let Some(mut length) = word(at) {
        at += 4;
        if length == u32::MAX {
            let Some(next) = word(at) else { break };
            length = next;
            at += 4;
        }
        if length == 0 {
            break;
        }
        let Some(metadata) = usize::try_from(length)
            .ok()
            .and_then(|length| bytes.get(at..at.checked_add(length)?))
        else {
            break;
        };
        let Ok(message) = arrow_ipc::root_as_message(metadata) else {
            break;
        };
        let compressed = message
            .header_as_record_batch()
            .is_some_and(|batch| batch.compression().is_some())
            || message
                .header_as_dictionary_batch()
                .and_then(|dictionary| dictionary.data())
                .is_some_and(|batch| batch.compression().is_some());
        if compressed {
            return Err(
                "compressed Arrow IPC is not accepted (a batch's body must be uncompressed, so \
                 the byte cap bounds what it decodes to)"
                    .into(),
            );
        }
        let Ok(body) = usize::try_from(message.bodyLength()) else {
            break;
        };
        let Some(next) = (at + metadata.len()).checked_add(body) else {
            break;
        };
        at = next;
    }
    Ok(())
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
    fn a_compressed_batch_is_refused_before_it_is_decompressed() {
        use arrow_ipc::CompressionType;
        use arrow_ipc::writer::IpcWriteOptions;
        let options = IpcWriteOptions::default()
            .try_with_compression(Some(CompressionType::LZ4_FRAME))
            .unwrap();
        let mut out = Vec::new();
        let b = batch(schema());
        let mut w = StreamWriter::try_new_with_options(&mut out, &b.schema(), options).unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        drop(w);
        let err = check_batch(out, &schema(), 10, 1 << 20).unwrap_err();
        assert!(
            err.contains("compressed Arrow IPC is not accepted"),
            "{err}"
        );
    }

    /// A buffer whose metadata points past the body: an error, never a panic or a short batch.
    #[test]
    fn a_buffer_offset_past_the_body_is_an_error() {
        let mut bytes = encode(&batch(schema()));
        // Corrupt every buffer offset/length pair of the record batch message: the flatbuffer
        // stays valid, the numbers point far outside the body.
        let needle = 3u64.to_le_bytes();
        let mut changed = 0;
        for at in 0..bytes.len().saturating_sub(8) {
            if bytes[at..at + 8] == needle {
                bytes[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
                changed += 1;
            }
        }
        assert!(changed > 0, "no length to corrupt");
        let err = check_batch(bytes, &schema(), 10, 1 << 20).unwrap_err();
        assert!(err.contains("invalid Arrow IPC"), "{err}");
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
