//! Splits: ranges of a table's heap pages, read by `ctid` range, and the payload that carries
//! one split's statement to whichever worker reads it.
//!
//! A table of `pages` heap pages gets `ceil(pages / split_pages)` splits, at most `max_splits`;
//! the first range is open below and the last open above, so rows on pages added since the size
//! was read are still covered. Views, foreign and partitioned tables, small tables and servers
//! before PostgreSQL 14 (which has no TID range scan, so every split would read the whole
//! table) get one split.

use serde::{Deserialize, Serialize};

use crate::types::ColumnDef;

/// What a worker needs to read one split: no catalog lookups on the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPayload {
    pub schema: String,
    pub table: String,
    /// The statement, with its ctid range, filters and limit.
    pub sql: String,
    /// The projected columns, in output order.
    pub columns: Vec<ColumnDef>,
}

/// Page ranges `[start, end)` for a table of `pages` pages; `None` is open.
pub fn page_ranges(
    pages: u64,
    split_pages: u64,
    max_splits: u64,
) -> Vec<(Option<u64>, Option<u64>)> {
    let wanted = pages
        .div_ceil(split_pages.max(1))
        .clamp(1, max_splits.max(1));
    if wanted == 1 {
        return vec![(None, None)];
    }
    let step = pages.div_ceil(wanted);
    (0..wanted)
        .map(|i| {
            let start = (i > 0).then(|| i * step);
            let end = (i + 1 < wanted).then(|| (i + 1) * step);
            (start, end)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tables_get_one_open_split() {
        assert_eq!(page_ranges(0, 100, 8), [(None, None)]);
        assert_eq!(page_ranges(100, 100, 8), [(None, None)]);
    }

    #[test]
    fn large_tables_are_cut_into_contiguous_ranges_capped_by_max_splits() {
        assert_eq!(
            page_ranges(250, 100, 8),
            [(None, Some(84)), (Some(84), Some(168)), (Some(168), None)]
        );
        let capped = page_ranges(1_000_000, 100, 4);
        assert_eq!(capped.len(), 4);
        assert_eq!(capped[0], (None, Some(250_000)));
        assert_eq!(capped[3], (Some(750_000), None));
        // Each range starts where the one before ends.
        for pair in capped.windows(2) {
            assert_eq!(pair[0].1, pair[1].0);
        }
    }
}
