//! Sizing batches to the host's request.
//!
//! The host asks for at most `max_rows` rows and about `max_bytes` bytes per batch. Readers
//! produce batches at their own natural size; the pacer hands them out in slices that fit,
//! keeping the rest for the next call, so connector authors need not care about the byte cap.

use arrow_array::RecordBatch;

use crate::Result;

/// Slices a reader's batches to the host's row and byte caps.
#[derive(Debug, Default)]
pub struct BatchPacer {
    pending: Option<RecordBatch>,
    /// Estimated bytes per row of the pending batch, measured when it was produced.
    bytes_per_row: usize,
}

impl BatchPacer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next slice of at most `max_rows` rows (at least one) and, where a row estimate allows,
    /// at most `max_bytes` bytes. `produce(max_rows)` is asked for a new batch when nothing is
    /// pending; empty batches it returns are skipped.
    pub fn next(
        &mut self,
        max_rows: usize,
        max_bytes: usize,
        mut produce: impl FnMut(usize) -> Result<Option<RecordBatch>>,
    ) -> Result<Option<RecordBatch>> {
        let max_rows = max_rows.max(1);
        let batch = match self.pending.take() {
            Some(batch) => batch,
            None => loop {
                match produce(max_rows)? {
                    None => return Ok(None),
                    Some(batch) if batch.num_rows() == 0 => continue,
                    Some(batch) => {
                        self.bytes_per_row =
                            batch.get_array_memory_size().div_ceil(batch.num_rows());
                        break batch;
                    }
                }
            },
        };
        let fit_by_bytes = (max_bytes / self.bytes_per_row.max(1)).max(1);
        let take = batch.num_rows().min(max_rows).min(fit_by_bytes);
        if take == batch.num_rows() {
            return Ok(Some(batch));
        }
        self.pending = Some(batch.slice(take, batch.num_rows() - take));
        Ok(Some(batch.slice(0, take)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, Int64Array};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch(start: i64, rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from_iter_values(start..start + rows))],
        )
        .unwrap()
    }

    fn drain(
        pacer: &mut BatchPacer,
        max_rows: usize,
        max_bytes: usize,
        source: Vec<RecordBatch>,
    ) -> Vec<RecordBatch> {
        let mut source = source.into_iter();
        let mut out = Vec::new();
        while let Some(b) = pacer
            .next(max_rows, max_bytes, |_| Ok(source.next()))
            .unwrap()
        {
            out.push(b);
        }
        out
    }

    fn values(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                a.values().to_vec()
            })
            .collect()
    }

    #[test]
    fn slices_to_the_row_cap_and_loses_nothing() {
        let out = drain(
            &mut BatchPacer::new(),
            3,
            usize::MAX,
            vec![batch(0, 7), batch(7, 0), batch(7, 2)],
        );
        assert_eq!(
            out.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
            vec![3, 3, 1, 2]
        );
        assert_eq!(values(&out), (0..9).collect::<Vec<_>>());
    }

    #[test]
    fn slices_to_the_byte_cap_but_never_below_one_row() {
        let out = drain(&mut BatchPacer::new(), 1000, 80, vec![batch(0, 100)]);
        assert!(out.len() > 1, "expected several slices, got {}", out.len());
        assert!(out.iter().all(|b| b.num_rows() <= 10));
        assert_eq!(values(&out), (0..100).collect::<Vec<_>>());

        let out = drain(&mut BatchPacer::new(), 1000, 0, vec![batch(0, 3)]);
        assert_eq!(out.len(), 3);
    }
}
