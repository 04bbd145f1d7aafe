//! A predicate as a tree, and what a connector does with one: [`Expr::eval`] evaluates it
//! against one row with SQL's three-valued logic (for connectors that filter row by row and claim
//! `exact` pushdown), [`Expr::integer_range`] extracts a range on one column for pruning.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

use crate::{CompareOp, Predicate, PredicateNode, Scalar};

/// A predicate as a tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Compare {
        column: u32,
        op: CompareOp,
        value: Scalar,
    },
    InList {
        column: u32,
        values: Vec<Scalar>,
        negated: bool,
    },
    IsNull(u32),
    IsNotNull(u32),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

impl From<&Expr> for Predicate {
    fn from(expr: &Expr) -> Self {
        let mut nodes = Vec::new();
        let root = expr.flatten_into(&mut nodes);
        Predicate { nodes, root }
    }
}

impl From<Expr> for Predicate {
    fn from(expr: Expr) -> Self {
        Predicate::from(&expr)
    }
}

impl Expr {
    /// `column op value`.
    pub fn compare(column: u32, op: CompareOp, value: Scalar) -> Self {
        Expr::Compare { column, op, value }
    }

    /// Appends this tree's nodes after its children's and returns its own index.
    fn flatten_into(&self, nodes: &mut Vec<PredicateNode>) -> u32 {
        let node = match self {
            Expr::Compare { column, op, value } => PredicateNode::Compare {
                column: *column,
                op: *op,
                value: value.clone(),
            },
            Expr::InList {
                column,
                values,
                negated,
            } => PredicateNode::InList {
                column: *column,
                values: values.clone(),
                negated: *negated,
            },
            Expr::IsNull(c) => PredicateNode::IsNull(*c),
            Expr::IsNotNull(c) => PredicateNode::IsNotNull(*c),
            Expr::And(items) => {
                PredicateNode::And(items.iter().map(|e| e.flatten_into(nodes)).collect())
            }
            Expr::Or(items) => {
                PredicateNode::Or(items.iter().map(|e| e.flatten_into(nodes)).collect())
            }
            Expr::Not(item) => PredicateNode::Not(item.flatten_into(nodes)),
        };
        nodes.push(node);
        u32::try_from(nodes.len() - 1).unwrap_or(u32::MAX)
    }

    /// Every column index the expression reads.
    pub fn columns(&self) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns(&self, out: &mut BTreeSet<u32>) {
        match self {
            Expr::Compare { column, .. }
            | Expr::InList { column, .. }
            | Expr::IsNull(column)
            | Expr::IsNotNull(column) => {
                out.insert(*column);
            }
            Expr::And(items) | Expr::Or(items) => {
                items.iter().for_each(|e| e.collect_columns(out));
            }
            Expr::Not(item) => item.collect_columns(out),
        }
    }

    /// Evaluates the expression for one row, with SQL semantics: `Some(true)`, `Some(false)`,
    /// or `None` for unknown (a comparison with NULL). A row passes a filter only on
    /// `Some(true)`. `value(column)` returns the row's value of a column.
    pub fn eval(&self, value: &dyn Fn(u32) -> Scalar) -> Option<bool> {
        match self {
            Expr::Compare {
                column,
                op,
                value: literal,
            } => {
                let v = value(*column);
                if v.is_null() || literal.is_null() {
                    return None;
                }
                v.compare(literal).map(|ordering| op.holds(ordering))
            }
            Expr::InList {
                column,
                values,
                negated,
            } => {
                let v = value(*column);
                if v.is_null() {
                    return None;
                }
                let mut saw_null = false;
                for candidate in values {
                    if candidate.is_null() {
                        saw_null = true;
                    } else if v.compare(candidate) == Some(Ordering::Equal) {
                        return Some(!negated);
                    }
                }
                if saw_null { None } else { Some(*negated) }
            }
            Expr::IsNull(column) => Some(value(*column).is_null()),
            Expr::IsNotNull(column) => Some(!value(*column).is_null()),
            Expr::And(items) => {
                let mut result = Some(true);
                for item in items {
                    match item.eval(value) {
                        Some(false) => return Some(false),
                        None => result = None,
                        Some(true) => {}
                    }
                }
                result
            }
            Expr::Or(items) => {
                let mut result = Some(false);
                for item in items {
                    match item.eval(value) {
                        Some(true) => return Some(true),
                        None => result = None,
                        Some(false) => {}
                    }
                }
                result
            }
            Expr::Not(item) => item.eval(value).map(|b| !b),
        }
    }

    /// The range of integer values of `column` that can satisfy this expression, from the
    /// comparisons with integer literals found in it and its AND-ed parts; anything else
    /// leaves the range open. A connector uses it to skip data (and answers `inexact`).
    pub fn integer_range(&self, column: u32) -> (Bound<i64>, Bound<i64>) {
        let mut lower = Bound::Unbounded;
        let mut upper = Bound::Unbounded;
        self.narrow_range(column, &mut lower, &mut upper);
        (lower, upper)
    }

    fn narrow_range(&self, column: u32, lower: &mut Bound<i64>, upper: &mut Bound<i64>) {
        match self {
            Expr::And(items) => items
                .iter()
                .for_each(|e| e.narrow_range(column, lower, upper)),
            Expr::Compare {
                column: c,
                op,
                value,
            } if *c == column => {
                let Some(v) = value.as_i64() else { return };
                match op {
                    CompareOp::Eq => {
                        tighten_lower(lower, Bound::Included(v));
                        tighten_upper(upper, Bound::Included(v));
                    }
                    CompareOp::Gt => tighten_lower(lower, Bound::Excluded(v)),
                    CompareOp::Ge => tighten_lower(lower, Bound::Included(v)),
                    CompareOp::Lt => tighten_upper(upper, Bound::Excluded(v)),
                    CompareOp::Le => tighten_upper(upper, Bound::Included(v)),
                    CompareOp::Ne => {}
                }
            }
            _ => {}
        }
    }
}

/// Normalises a lower bound to the smallest admitted value.
fn lower_value(bound: Bound<i64>) -> Option<i128> {
    match bound {
        Bound::Included(v) => Some(i128::from(v)),
        Bound::Excluded(v) => Some(i128::from(v) + 1),
        Bound::Unbounded => None,
    }
}

/// Normalises an upper bound to the largest admitted value.
fn upper_value(bound: Bound<i64>) -> Option<i128> {
    match bound {
        Bound::Included(v) => Some(i128::from(v)),
        Bound::Excluded(v) => Some(i128::from(v) - 1),
        Bound::Unbounded => None,
    }
}

fn tighten_lower(current: &mut Bound<i64>, candidate: Bound<i64>) {
    if lower_value(*current).is_none_or(|c| lower_value(candidate).is_some_and(|n| n > c)) {
        *current = candidate;
    }
}

fn tighten_upper(current: &mut Bound<i64>, candidate: Bound<i64>) {
    if upper_value(*current).is_none_or(|c| upper_value(candidate).is_some_and(|n| n < c)) {
        *current = candidate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: Vec<Scalar>) -> impl Fn(u32) -> Scalar {
        move |c| values[c as usize].clone()
    }

    #[test]
    fn eval_follows_three_valued_logic() {
        let gt = Expr::compare(0, CompareOp::Gt, Scalar::Int64(10));
        assert_eq!(gt.eval(&row(vec![Scalar::Int64(11)])), Some(true));
        assert_eq!(gt.eval(&row(vec![Scalar::Int64(10)])), Some(false));
        assert_eq!(gt.eval(&row(vec![Scalar::Null])), None);

        let and = Expr::And(vec![gt.clone(), Expr::IsNull(1)]);
        assert_eq!(and.eval(&row(vec![Scalar::Null, Scalar::Null])), None);
        assert_eq!(
            and.eval(&row(vec![Scalar::Int64(1), Scalar::Null])),
            Some(false)
        );
        let or = Expr::Or(vec![gt.clone(), Expr::IsNull(1)]);
        assert_eq!(or.eval(&row(vec![Scalar::Null, Scalar::Null])), Some(true));
        assert_eq!(Expr::Not(Box::new(gt)).eval(&row(vec![Scalar::Null])), None);

        let not_in = Expr::InList {
            column: 0,
            values: vec![Scalar::Utf8("x".into()), Scalar::Null],
            negated: true,
        };
        assert_eq!(
            not_in.eval(&row(vec![Scalar::Utf8("x".into())])),
            Some(false)
        );
        // x NOT IN ('x', NULL) is false, y NOT IN ('x', NULL) is unknown.
        assert_eq!(not_in.eval(&row(vec![Scalar::Utf8("y".into())])), None);
    }

    #[test]
    fn integer_range_takes_the_tightest_bounds_of_conjuncts() {
        let expr = Expr::And(vec![
            Expr::compare(0, CompareOp::Ge, Scalar::Int64(5)),
            Expr::compare(0, CompareOp::Gt, Scalar::Int64(7)),
            Expr::compare(0, CompareOp::Lt, Scalar::Int64(100)),
            Expr::compare(0, CompareOp::Le, Scalar::Int64(120)),
            Expr::compare(1, CompareOp::Eq, Scalar::Int64(1)),
        ]);
        assert_eq!(
            expr.integer_range(0),
            (Bound::Excluded(7), Bound::Excluded(100))
        );
        assert_eq!(
            expr.integer_range(1),
            (Bound::Included(1), Bound::Included(1))
        );
        // An OR says nothing about a single range.
        let or = Expr::Or(vec![Expr::compare(0, CompareOp::Eq, Scalar::Int64(1))]);
        assert_eq!(or.integer_range(0), (Bound::Unbounded, Bound::Unbounded));
    }
}
