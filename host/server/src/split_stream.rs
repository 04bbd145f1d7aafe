//! The body of a worker's split scan (`POST /v1/worker/scan`): Arrow IPC in frames that can also
//! say "the scan failed, and why" and "the scan is complete".
//!
//! Why frames around Arrow IPC rather than a bare IPC stream: an error in the middle of a split
//! (a bad row in a file, a plugin trap, a sandbox limit) happens after the 200 status went out,
//! and a bare stream could only be cut off, losing the reason. A frame is one kind byte, a
//! little-endian `u32` length and that many bytes:
//!
//! - `B`: one record batch as a complete Arrow IPC stream (schema message, batch, end marker),
//!   readable by any Arrow implementation on its own;
//! - `E`: the scan failed; the payload is the UTF-8 reason; nothing follows;
//! - `Z`: the scan is complete; nothing follows;
//! - `K`: the worker is still reading the split (sent every [`ALIVE_INTERVAL`] while no batch is
//!   ready), so the reader can tell a slow split from a stalled or stopped worker: a body that
//!   sends nothing for [`STALL_TIMEOUT`] is given up on.
//!
//! A body that ends without `E` or `Z` was cut off (the worker died or the connection broke),
//! and the reader says so instead of returning the rows it got: a split is all or nothing.

use std::io::Cursor;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use bytes::{Buf, Bytes, BytesMut};

/// The media type of a split-scan body.
pub const CONTENT_TYPE: &str = "application/vnd.quarry.split-stream";

const BATCH: u8 = b'B';
const ERROR: u8 = b'E';
const END: u8 = b'Z';
const ALIVE: u8 = b'K';

/// How often a worker says it is still reading a split while no batch is ready.
pub const ALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// A split body silent for this long (four missed `K` frames) comes from a stalled worker.
pub const STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
const HEADER: usize = 5;
/// No legitimate frame comes near this; a larger length means the body is corrupt.
const MAX_FRAME: usize = 1 << 30;

/// Encodes one batch as a `B` frame.
pub fn batch_frame(batch: &RecordBatch) -> Result<Bytes, arrow_schema::ArrowError> {
    let mut ipc = Vec::new();
    {
        let mut writer = StreamWriter::try_new(&mut ipc, &batch.schema())?;
        writer.write(batch)?;
        writer.finish()?;
    }
    Ok(frame(BATCH, &ipc))
}

/// Encodes the failure `reason` as an `E` frame.
pub fn error_frame(reason: &str) -> Bytes {
    frame(ERROR, reason.as_bytes())
}

/// The `Z` frame.
pub fn end_frame() -> Bytes {
    frame(END, &[])
}

/// The `K` frame.
pub fn alive_frame() -> Bytes {
    frame(ALIVE, &[])
}

fn frame(kind: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&[kind]);
    // Payloads are batches the runtime already capped in size, far below 4 GiB.
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
    out.freeze()
}

/// What a reader found in the body so far.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Batch(RecordBatch),
    /// The worker's reason for failing the scan.
    Failed(String),
    End,
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("the split stream is corrupt: {0}")]
    Corrupt(String),
    #[error("the split stream ended without its end marker (the worker stopped mid-split)")]
    Truncated,
}

/// Turns body chunks into frames, whatever the chunk boundaries.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buffer: BytesMut,
    finished: bool,
}

impl FrameDecoder {
    /// Adds the next chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete frame, if the buffered bytes hold one. After `Failed` or `End`,
    /// nothing more is returned.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        loop {
            match self.next_any_frame()? {
                Some(Ok(frame)) => return Ok(Some(frame)),
                // `K`: nothing to hand out; look at what follows.
                Some(Err(())) => {}
                None => return Ok(None),
            }
        }
    }

    /// The next frame of any kind; `Err(())` for a `K` frame.
    #[allow(clippy::result_unit_err)]
    fn next_any_frame(&mut self) -> Result<Option<Result<Frame, ()>>, DecodeError> {
        if self.finished || self.buffer.len() < HEADER {
            return Ok(None);
        }
        let kind = self.buffer[0];
        let len = u32::from_le_bytes([
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
            self.buffer[4],
        ]) as usize;
        if len > MAX_FRAME {
            return Err(DecodeError::Corrupt(format!("frame of {len} bytes")));
        }
        if self.buffer.len() < HEADER + len {
            return Ok(None);
        }
        self.buffer.advance(HEADER);
        let payload = self.buffer.split_to(len).freeze();
        match kind {
            BATCH => decode_batch(payload).map(|b| Some(Ok(Frame::Batch(b)))),
            ALIVE => Ok(Some(Err(()))),
            ERROR => {
                self.finished = true;
                Ok(Some(Ok(Frame::Failed(
                    String::from_utf8_lossy(&payload).into_owned(),
                ))))
            }
            END => {
                self.finished = true;
                Ok(Some(Ok(Frame::End)))
            }
            other => Err(DecodeError::Corrupt(format!(
                "unknown frame kind 0x{other:02x}"
            ))),
        }
    }

    /// Checks that the body, now over, ended properly.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.finished {
            Ok(())
        } else {
            Err(DecodeError::Truncated)
        }
    }
}

fn decode_batch(payload: Bytes) -> Result<RecordBatch, DecodeError> {
    let corrupt = |e: arrow_schema::ArrowError| DecodeError::Corrupt(e.to_string());
    let mut reader = StreamReader::try_new(Cursor::new(payload), None).map_err(corrupt)?;
    match reader.next() {
        Some(batch) => batch.map_err(corrupt),
        None => Err(DecodeError::Corrupt(
            "a batch frame holds no batch".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch(n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![n, n + 1])),
                Arc::new(StringArray::from(vec![Some("a"), None])),
            ],
        )
        .unwrap()
    }

    fn body(frames: &[Bytes]) -> Vec<u8> {
        frames.iter().flat_map(|f| f.iter().copied()).collect()
    }

    fn decode_in_chunks(body: &[u8], chunk: usize) -> (Vec<Frame>, Result<(), DecodeError>) {
        let mut decoder = FrameDecoder::default();
        let mut frames = Vec::new();
        for piece in body.chunks(chunk) {
            decoder.push(piece);
            while let Some(frame) = decoder.next_frame().unwrap() {
                frames.push(frame);
            }
        }
        let end = decoder.finish();
        (frames, end)
    }

    #[test]
    fn batches_and_the_end_marker_survive_any_chunking() {
        let body = body(&[
            alive_frame(),
            batch_frame(&batch(1)).unwrap(),
            alive_frame(),
            alive_frame(),
            batch_frame(&batch(10)).unwrap(),
            end_frame(),
        ]);
        for chunk in [1, 3, 7, 64, body.len()] {
            let (frames, end) = decode_in_chunks(&body, chunk);
            assert_eq!(
                frames,
                vec![Frame::Batch(batch(1)), Frame::Batch(batch(10)), Frame::End],
                "chunk size {chunk}"
            );
            assert_eq!(end, Ok(()));
        }
    }

    #[test]
    fn an_error_frame_carries_the_reason() {
        let body = body(&[
            batch_frame(&batch(1)).unwrap(),
            error_frame("bad row at line 7"),
        ]);
        let (frames, end) = decode_in_chunks(&body, 5);
        assert_eq!(
            frames,
            vec![
                Frame::Batch(batch(1)),
                Frame::Failed("bad row at line 7".to_owned())
            ]
        );
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn a_body_cut_off_is_truncated_not_complete() {
        let full = body(&[batch_frame(&batch(1)).unwrap(), end_frame()]);
        // Cut inside the end marker, and right after the batch.
        for cut in [full.len() - 2, full.len() - HEADER] {
            let (frames, end) = decode_in_chunks(&full[..cut], 4);
            assert_eq!(frames, vec![Frame::Batch(batch(1))]);
            assert_eq!(end, Err(DecodeError::Truncated));
        }
    }

    #[test]
    fn garbage_is_corrupt() {
        let mut decoder = FrameDecoder::default();
        decoder.push(&[b'Q', 0, 0, 0, 0]);
        assert!(matches!(
            decoder.next_frame(),
            Err(DecodeError::Corrupt(message)) if message.contains("0x51")
        ));
    }
}
