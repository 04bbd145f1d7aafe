//! Filters in the contract's neutral predicate form, and helpers to read and evaluate them: the
//! contract crate's types, here under the names connectors have always imported them by.
//!
//! On the wire a predicate is a flat list of nodes (WIT types cannot be recursive); connectors
//! read it through [`Predicate::to_expr`], which checks the node indices and gives a tree
//! ([`Expr`]) that is easy to match on. [`Expr::eval`] evaluates a tree against one row with
//! SQL's three-valued logic, for connectors that filter row by row and want to claim `exact`
//! pushdown. [`Expr::integer_range`] extracts a range on one column for pruning. A predicate that
//! is not a tree converts into an `unsupported` [`crate::ConnectorError`].

pub use quarry_contract::predicate::MAX_DEPTH;
pub use quarry_contract::{CompareOp, Expr, Predicate, PredicateError, PredicateNode, Scalar};
