//! Scan requests, splits and plans.

use crate::Predicate;

/// What the engine wants from a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRequest {
    pub schema: String,
    pub table: String,
    /// Column indices into the table's columns, in output order; `None` is every column.
    pub projection: Option<Vec<u32>>,
    /// Conjuncts: a row must satisfy all of them.
    pub filters: Vec<Predicate>,
    /// At most this many rows are needed in total.
    pub limit: Option<u64>,
}

impl ScanRequest {
    /// A request for every column and row of `schema.table`.
    pub fn full(schema: &str, table: &str) -> Self {
        Self {
            schema: schema.to_owned(),
            table: table.to_owned(),
            projection: None,
            filters: Vec::new(),
            limit: None,
        }
    }
}

/// One unit of scan work; `payload` is the connector's own encoding and must be self-contained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub payload: Vec<u8>,
    pub estimated_rows: Option<u64>,
}

/// How a connector treats one filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushdown {
    /// Every returned row satisfies the filter.
    Exact,
    /// The filter is used to skip data; rows are re-checked by the engine.
    Inexact,
    /// The filter is ignored.
    Unsupported,
}

/// The answer to a scan request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPlan {
    pub splits: Vec<Split>,
    /// One entry per filter of the request, in order.
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
