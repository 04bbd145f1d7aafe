//! Filters in the contract's neutral form (`predicate`, `predicate-node`, `compare-op`).
//!
//! WIT types cannot be recursive, so on the wire a predicate is a flat list of nodes whose
//! connectives refer to their children by index. [`Predicate::to_expr`] checks the indices and
//! gives the tree ([`Expr`]) that connectors match on; `Predicate::from(&expr)` flattens one.

use std::cmp::Ordering;

use crate::{Expr, Scalar};

/// Deepest predicate tree [`Predicate::to_expr`] accepts; deeper ones are refused rather than
/// risking the reader's stack.
pub const MAX_DEPTH: usize = 64;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    /// Whether `a op b` holds when `a` compares to `b` as `ordering`.
    pub fn holds(self, ordering: Ordering) -> bool {
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PredicateNode {
    /// `column op value`; `column` indexes the table's full column list (not the projection).
    Compare {
        column: u32,
        op: CompareOp,
        value: Scalar,
    },
    /// `column [NOT] IN (values)`.
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

/// A boolean expression over one table's columns as it crosses the boundary: `nodes[root]` is
/// the whole expression.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Predicate {
    pub nodes: Vec<PredicateNode>,
    pub root: u32,
}

/// Why a flat predicate is not a tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PredicateError {
    #[error("predicate node {index} out of range ({len} nodes)")]
    NodeOutOfRange { index: u32, len: usize },
    #[error("predicate deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

impl Predicate {
    /// The predicate as a tree. Fails on an index out of range or a tree deeper than
    /// [`MAX_DEPTH`], which also rules out cycles.
    pub fn to_expr(&self) -> Result<Expr, PredicateError> {
        self.node_to_expr(self.root, 0)
    }

    fn node_to_expr(&self, index: u32, depth: usize) -> Result<Expr, PredicateError> {
        if depth > MAX_DEPTH {
            return Err(PredicateError::TooDeep);
        }
        let node = self
            .nodes
            .get(index as usize)
            .ok_or(PredicateError::NodeOutOfRange {
                index,
                len: self.nodes.len(),
            })?;
        let children = |indices: &[u32]| -> Result<Vec<Expr>, PredicateError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
                .to_string()
                .contains("node 5")
        );
        let cycle = Predicate {
            nodes: vec![PredicateNode::Not(0)],
            root: 0,
        };
        assert!(cycle.to_expr().unwrap_err().to_string().contains("deeper"));
    }
}
