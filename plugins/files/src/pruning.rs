//! Row-group pruning from Parquet statistics.
//!
//! A filter is answered `inexact` when its shape lets statistics rule out row groups
//! (`column op literal`, `IN`, `IS [NOT] NULL` on a column with usable statistics, and AND/OR
//! of such), `unsupported` otherwise. Pruning never drops a row group that could hold a
//! matching row: any doubt (no statistics, a type we do not compare) keeps it, and the
//! engine re-checks every row.

use std::cmp::Ordering;

use quarry_sdk::predicate::Expr;
use quarry_sdk::{CompareOp, Scalar};

/// What the statistics of one row group say about one column.
#[derive(Debug, Clone, Default)]
pub struct ColumnStats {
    pub min: Option<Scalar>,
    pub max: Option<Scalar>,
    pub null_count: Option<u64>,
    pub rows: u64,
}

/// Can the statistics of one row group rule rows out for `expr`? `stats(column)` gives the
/// statistics of a table column, `None` when it has none we can use.
pub fn prunable(expr: &Expr, has_stats: &dyn Fn(u32) -> bool) -> bool {
    match expr {
        Expr::Compare { column, .. }
        | Expr::InList {
            column,
            negated: false,
            ..
        }
        | Expr::IsNull(column)
        | Expr::IsNotNull(column) => has_stats(*column),
        Expr::InList { negated: true, .. } | Expr::Not(_) => false,
        Expr::And(items) => items.iter().any(|e| prunable(e, has_stats)),
        Expr::Or(items) => !items.is_empty() && items.iter().all(|e| prunable(e, has_stats)),
    }
}

/// False only when no row of the row group can satisfy `expr`.
pub fn may_match(expr: &Expr, stats: &dyn Fn(u32) -> Option<ColumnStats>) -> bool {
    match expr {
        Expr::Compare { column, op, value } => {
            let Some(s) = stats(*column) else { return true };
            if value.is_null() || all_null(&s) {
                // `x op NULL` is never true, and neither is a comparison with only nulls.
                return false;
            }
            compare_may_match(&s, *op, value)
        }
        Expr::InList {
            column,
            values,
            negated: false,
        } => {
            let Some(s) = stats(*column) else { return true };
            if all_null(&s) {
                return false;
            }
            values
                .iter()
                .any(|v| !v.is_null() && compare_may_match(&s, CompareOp::Eq, v))
        }
        Expr::IsNull(column) => stats(*column)
            .and_then(|s| s.null_count)
            .is_none_or(|n| n > 0),
        Expr::IsNotNull(column) => stats(*column).is_none_or(|s| !all_null(&s)),
        Expr::And(items) => items.iter().all(|e| may_match(e, stats)),
        Expr::Or(items) => items.iter().any(|e| may_match(e, stats)),
        Expr::InList { negated: true, .. } | Expr::Not(_) => true,
    }
}

fn all_null(s: &ColumnStats) -> bool {
    s.null_count.is_some_and(|n| n >= s.rows && s.rows > 0)
}

fn compare_may_match(s: &ColumnStats, op: CompareOp, value: &Scalar) -> bool {
    let vs_min = s.min.as_ref().and_then(|m| m.compare(value));
    let vs_max = s.max.as_ref().and_then(|m| m.compare(value));
    match op {
        // min <= v <= max
        CompareOp::Eq => {
            vs_min.is_none_or(|o| o != Ordering::Greater)
                && vs_max.is_none_or(|o| o != Ordering::Less)
        }
        // Only a row group whose values all equal v fails `<> v`.
        CompareOp::Ne => !(vs_min == Some(Ordering::Equal) && vs_max == Some(Ordering::Equal)),
        CompareOp::Lt => vs_min.is_none_or(|o| o == Ordering::Less),
        CompareOp::Le => vs_min.is_none_or(|o| o != Ordering::Greater),
        CompareOp::Gt => vs_max.is_none_or(|o| o == Ordering::Greater),
        CompareOp::Ge => vs_max.is_none_or(|o| o != Ordering::Less),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(min: i64, max: i64, nulls: u64) -> ColumnStats {
        ColumnStats {
            min: Some(Scalar::Int64(min)),
            max: Some(Scalar::Int64(max)),
            null_count: Some(nulls),
            rows: 100,
        }
    }

    #[test]
    fn ranges_rule_out_row_groups() {
        let s = |_: u32| Some(stats(10, 20, 0));
        let cmp = |op, v| Expr::compare(0, op, Scalar::Int64(v));
        assert!(may_match(&cmp(CompareOp::Eq, 15), &s));
        assert!(!may_match(&cmp(CompareOp::Eq, 21), &s));
        assert!(!may_match(&cmp(CompareOp::Lt, 10), &s));
        assert!(may_match(&cmp(CompareOp::Le, 10), &s));
        assert!(!may_match(&cmp(CompareOp::Gt, 20), &s));
        assert!(may_match(&cmp(CompareOp::Ge, 20), &s));
        assert!(may_match(&cmp(CompareOp::Ne, 15), &s));
        assert!(!may_match(&cmp(CompareOp::Ne, 7), &|_| Some(stats(
            7, 7, 0
        ))));
        assert!(!may_match(
            &Expr::And(vec![cmp(CompareOp::Gt, 12), cmp(CompareOp::Gt, 20)]),
            &s
        ));
        assert!(may_match(
            &Expr::Or(vec![cmp(CompareOp::Gt, 30), cmp(CompareOp::Lt, 11)]),
            &s
        ));
        let in_list = Expr::InList {
            column: 0,
            values: vec![Scalar::Int64(1), Scalar::Int64(30)],
            negated: false,
        };
        assert!(!may_match(&in_list, &s));
        assert!(!may_match(&Expr::IsNull(0), &s));
        assert!(may_match(&Expr::IsNull(0), &|_| Some(stats(1, 2, 3))));
        // No statistics: keep the row group.
        assert!(may_match(&cmp(CompareOp::Eq, 99), &|_| None));
        // Floats against integer statistics compare too.
        assert!(!may_match(
            &Expr::compare(0, CompareOp::Gt, Scalar::Float64(20.5)),
            &s
        ));
    }

    #[test]
    fn only_shapes_statistics_can_use_are_prunable() {
        let yes = |_: u32| true;
        let no = |_: u32| false;
        let cmp = Expr::compare(0, CompareOp::Eq, Scalar::Int64(1));
        assert!(prunable(&cmp, &yes));
        assert!(!prunable(&cmp, &no));
        assert!(!prunable(&Expr::Not(Box::new(cmp.clone())), &yes));
        assert!(prunable(
            &Expr::And(vec![Expr::Not(Box::new(cmp.clone())), cmp.clone()]),
            &yes
        ));
        assert!(!prunable(
            &Expr::Or(vec![Expr::Not(Box::new(cmp.clone())), cmp]),
            &yes
        ));
    }
}
