//! Scan requests, splits, pushdown answers and scan plans (`scan-request`, `split`,
//! `pushdown`, `scan-plan`).

use crate::Predicate;

/// What the engine wants from a table. Projection, filters and limit are hints the connector
/// may honour; its [`ScanPlan`] says which filters it did.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScanRequest {
    pub schema: String,
    pub table: String,
    /// Column indices into the table's full column list, in the order batches carry them;
    /// `None` is every column.
    pub projection: Option<Vec<u32>>,
    /// Conjuncts: a row must satisfy all of them.
    pub filters: Vec<Predicate>,
    /// At most this many rows are needed from the whole scan. Set only when the engine will not
    /// filter the rows further (no filters, or every filter exact).
    pub limit: Option<u64>,
}

impl ScanRequest {
    /// A request for every column and row of `schema.table`.
    pub fn table(schema: impl Into<String>, table: impl Into<String>) -> Self {
        ScanRequest {
            schema: schema.into(),
            table: table.into(),
            ..ScanRequest::default()
        }
    }
}

/// One unit of scan work. `payload` is the connector's own encoding, opaque to the host, and
/// must be self-contained: it may be read on another worker in a fresh instance.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Split {
    pub payload: Vec<u8>,
    /// Rows this split will produce, when known (before filters). A hint the engine plans
    /// joins with (summed over the scan), never a count it trusts.
    pub estimated_rows: Option<u64>,
}

/// How a connector treats one filter of a scan request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Pushdown {
    /// Every returned row satisfies the filter; the engine does not re-check it.
    Exact,
    /// The filter is used to skip data; the engine re-checks every row.
    Inexact,
    /// The filter is ignored.
    Unsupported,
}

/// The answer to a scan request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScanPlan {
    pub splits: Vec<Split>,
    /// One entry per filter of the request, in the same order.
    pub filters: Vec<Pushdown>,
}

impl ScanPlan {
    /// A plan that ignores every filter of `request`.
    pub fn ignoring_filters(request: &ScanRequest, splits: Vec<Split>) -> Self {
        Self {
            splits,
            filters: vec![Pushdown::Unsupported; request.filters.len()],
        }
    }
}
