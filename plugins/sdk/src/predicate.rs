//! Filters in the contract's neutral predicate form, and helpers to read and evaluate them.
//!
//! On the wire a predicate is a flat list of nodes (WIT types cannot be recursive); connectors
//! read it through [`Predicate::to_expr`], which checks the node indices and gives a tree
//! ([`Expr`]) that is easy to match on. [`Expr::eval`] evaluates a tree against one row with
//! SQL's three-valued logic, for connectors that filter row by row and want to claim `exact`
//! pushdown. [`Expr::integer_range`] extracts a range on one column for pruning.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

use crate::{ConnectorError, Result};

/// Deepest predicate tree [`Predicate::to_expr`] accepts; deeper ones are refused rather than
/// risking the connector's stack.
pub const MAX_DEPTH: usize = 64;

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Null,
    Boolean(bool),
    Int64(i64),
    UInt64(u64),
    Float64(f64),
    /// An unscaled value with its precision and scale.
    Decimal128 {
        value: i128,
        precision: u8,
        scale: i8,
    },
    Utf8(String),
    Binary(Vec<u8>),
    /// Days since 1970-01-01.
    Date32(i32),
    /// Microseconds since the epoch.
    TimestampMicros(i64),
}

impl Scalar {
    pub fn is_null(&self) -> bool {
        matches!(self, Scalar::Null)
    }

    /// The value as an `i64` when it is an integer (or a date/timestamp) that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Scalar::Int64(v) | Scalar::TimestampMicros(v) => Some(*v),
            Scalar::UInt64(v) => i64::try_from(*v).ok(),
            Scalar::Date32(v) => Some(i64::from(*v)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Utf8(s) => Some(s),
            _ => None,
        }
    }

    /// Compares two non-null values of compatible kinds; `None` when either is null or the
    /// kinds cannot be compared (a string with a number, say).
    pub fn compare(&self, other: &Scalar) -> Option<Ordering> {
        use Scalar::*;
        match (self, other) {
            (Boolean(a), Boolean(b)) => Some(a.cmp(b)),
            (Int64(a), Int64(b)) => Some(a.cmp(b)),
            (UInt64(a), UInt64(b)) => Some(a.cmp(b)),
            (Int64(a), UInt64(b)) => Some(i128::from(*a).cmp(&i128::from(*b))),
            (UInt64(a), Int64(b)) => Some(i128::from(*a).cmp(&i128::from(*b))),
            (Float64(a), Float64(b)) => a.partial_cmp(b),
            (Float64(a), Int64(b)) => a.partial_cmp(&(*b as f64)),
            (Int64(a), Float64(b)) => (*a as f64).partial_cmp(b),
            (
                Decimal128 {
                    value: a,
                    scale: sa,
                    ..
                },
                Decimal128 {
                    value: b,
                    scale: sb,
                    ..
                },
            ) => compare_decimals(*a, *sa, *b, *sb),
            (Decimal128 { value, scale, .. }, Int64(b)) => {
                compare_decimals(*value, *scale, i128::from(*b), 0)
            }
            (Int64(a), Decimal128 { value, scale, .. }) => {
                compare_decimals(i128::from(*a), 0, *value, *scale)
            }
            (Utf8(a), Utf8(b)) => Some(a.cmp(b)),
            (Binary(a), Binary(b)) => Some(a.cmp(b)),
            (Date32(a), Date32(b)) => Some(a.cmp(b)),
            (TimestampMicros(a), TimestampMicros(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

fn compare_decimals(a: i128, scale_a: i8, b: i128, scale_b: i8) -> Option<Ordering> {
    let scale = scale_a.max(scale_b);
    let rescale = |v: i128, s: i8| -> Option<i128> {
        let factor = 10i128.checked_pow(u32::try_from(i32::from(scale) - i32::from(s)).ok()?)?;
        v.checked_mul(factor)
    };
    Some(rescale(a, scale_a)?.cmp(&rescale(b, scale_b)?))
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            CompareOp::Eq => ordering == Ordering::Equal,
            CompareOp::Ne => ordering != Ordering::Equal,
            CompareOp::Lt => ordering == Ordering::Less,
            CompareOp::Le => ordering != Ordering::Greater,
            CompareOp::Gt => ordering == Ordering::Greater,
            CompareOp::Ge => ordering != Ordering::Less,
        }
    }
}

/// One node of a flat predicate; connectives refer to other nodes by index.
#[derive(Debug, Clone, PartialEq)]
pub enum PredicateNode {
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
    And(Vec<u32>),
    Or(Vec<u32>),
    Not(u32),
}

/// A predicate as it crosses the boundary: `nodes[root]` is the whole expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    pub nodes: Vec<PredicateNode>,
    pub root: u32,
}

impl Predicate {
    /// The predicate as a tree. Fails (`unsupported`) on an index out of range or a tree deeper
    /// than [`MAX_DEPTH`], which also rules out cycles.
    pub fn to_expr(&self) -> Result<Expr> {
        self.node_to_expr(self.root, 0)
    }

    fn node_to_expr(&self, index: u32, depth: usize) -> Result<Expr> {
        if depth > MAX_DEPTH {
            return Err(ConnectorError::unsupported(format!(
                "predicate deeper than {MAX_DEPTH} levels"
            )));
        }
        let node = self.nodes.get(index as usize).ok_or_else(|| {
            ConnectorError::unsupported(format!(
                "predicate node {index} out of range ({} nodes)",
                self.nodes.len()
            ))
        })?;
        let children = |indices: &[u32]| -> Result<Vec<Expr>> {
            indices
                .iter()
                .map(|&i| self.node_to_expr(i, depth + 1))
                .collect()
        };
        Ok(match node {
            PredicateNode::Compare { column, op, value } => Expr::Compare {
                column: *column,
                op: *op,
                value: value.clone(),
            },
            PredicateNode::InList {
                column,
                values,
                negated,
            } => Expr::InList {
                column: *column,
                values: values.clone(),
                negated: *negated,
            },
            PredicateNode::IsNull(column) => Expr::IsNull(*column),
            PredicateNode::IsNotNull(column) => Expr::IsNotNull(*column),
            PredicateNode::And(items) => Expr::And(children(items)?),
            PredicateNode::Or(items) => Expr::Or(children(items)?),
            PredicateNode::Not(item) => Expr::Not(Box::new(self.node_to_expr(*item, depth + 1)?)),
        })
    }
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

impl Expr {
    /// `column op value`.
    pub fn compare(column: u32, op: CompareOp, value: Scalar) -> Self {
        Expr::Compare { column, op, value }
    }

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
    fn flat_form_round_trips_to_a_tree() {
        let expr = Expr::Or(vec![
            Expr::And(vec![
                Expr::compare(0, CompareOp::Ge, Scalar::Int64(3)),
                Expr::Not(Box::new(Expr::IsNull(1))),
            ]),
            Expr::InList {
                column: 2,
                values: vec![Scalar::Utf8("a".into()), Scalar::Utf8("b".into())],
                negated: false,
            },
        ]);
        let flat = Predicate::from(&expr);
        assert_eq!(flat.nodes.len(), 6);
        assert_eq!(flat.to_expr().unwrap(), expr);
        assert_eq!(
            expr.columns().into_iter().collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn bad_indices_and_cycles_are_refused() {
        let out_of_range = Predicate {
            nodes: vec![PredicateNode::Not(5)],
            root: 0,
        };
        assert!(
            out_of_range
                .to_expr()
                .unwrap_err()
                .message
                .contains("node 5")
        );
        let cycle = Predicate {
            nodes: vec![PredicateNode::Not(0)],
            root: 0,
        };
        assert!(cycle.to_expr().unwrap_err().message.contains("deeper"));
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
    fn decimals_compare_across_scales_and_with_integers() {
        let a = Scalar::Decimal128 {
            value: 150,
            precision: 15,
            scale: 2,
        };
        let b = Scalar::Decimal128 {
            value: 15,
            precision: 15,
            scale: 1,
        };
        assert_eq!(a.compare(&b), Some(Ordering::Equal));
        assert_eq!(a.compare(&Scalar::Int64(2)), Some(Ordering::Less));
        assert_eq!(Scalar::Utf8("1".into()).compare(&Scalar::Int64(1)), None);
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
