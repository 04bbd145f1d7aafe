//! DataFusion filter expressions in the contract's neutral predicate form.
//!
//! The contract offers a connector `column op literal`, `[NOT] IN`, `IS [NOT] NULL` and
//! `AND`/`OR`/`NOT` over the table's own columns (see `wit/connector.wit`, `predicate`).
//! Anything else (functions, casts, arithmetic, column-to-column comparisons, NULL literals,
//! literals whose type does not match the column's) is not offered, and DataFusion evaluates
//! it itself. `BETWEEN` becomes `AND(>=, <=)`.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, expr::InList};
use quarry_runtime::{CompareOp, DataType, Predicate, PredicateNode, Scalar, TableSchema};

/// `expr` as a predicate over `table`'s columns, or `None` when it cannot be expressed.
pub fn to_predicate(expr: &Expr, table: &TableSchema) -> Option<Predicate> {
    let mut builder = Builder {
        table,
        nodes: Vec::new(),
    };
    let root = builder.add(expr)?;
    Some(Predicate {
        nodes: builder.nodes,
        root,
    })
}

struct Builder<'a> {
    table: &'a TableSchema,
    nodes: Vec<PredicateNode>,
}

impl Builder<'_> {
    fn push(&mut self, node: PredicateNode) -> Option<u32> {
        let index = u32::try_from(self.nodes.len()).ok()?;
        self.nodes.push(node);
        Some(index)
    }

    /// The index of the column `expr` names, with its type.
    fn column(&self, expr: &Expr) -> Option<(u32, &DataType)> {
        let Expr::Column(c) = expr else {
            return None;
        };
        let (i, column) = self
            .table
            .columns
            .iter()
            .enumerate()
            .find(|(_, col)| col.name == c.name)?;
        Some((u32::try_from(i).ok()?, &column.data_type))
    }

    fn add(&mut self, expr: &Expr) -> Option<u32> {
        match expr {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
                Operator::And | Operator::Or => {
                    let l = self.add(left)?;
                    let r = self.add(right)?;
                    self.push(if *op == Operator::And {
                        PredicateNode::And(vec![l, r])
                    } else {
                        PredicateNode::Or(vec![l, r])
                    })
                }
                _ => {
                    let op = compare_op(*op)?;
                    let node = match (self.column(left), self.column(right)) {
                        (Some((column, ty)), None) => PredicateNode::Compare {
                            column,
                            op,
                            value: literal(right, ty)?,
                        },
                        (None, Some((column, ty))) => PredicateNode::Compare {
                            column,
                            op: flip(op),
                            value: literal(left, ty)?,
                        },
                        _ => return None,
                    };
                    self.push(node)
                }
            },
            Expr::Not(inner) => {
                let i = self.add(inner)?;
                self.push(PredicateNode::Not(i))
            }
            Expr::IsNull(inner) => {
                let (column, _) = self.column(inner)?;
                self.push(PredicateNode::IsNull(column))
            }
            Expr::IsNotNull(inner) => {
                let (column, _) = self.column(inner)?;
                self.push(PredicateNode::IsNotNull(column))
            }
            Expr::InList(InList {
                expr,
                list,
                negated,
            }) => {
                let (column, ty) = self.column(expr)?;
                let values = list
                    .iter()
                    .map(|v| literal(v, ty))
                    .collect::<Option<Vec<_>>>()?;
                self.push(PredicateNode::InList {
                    column,
                    values,
                    negated: *negated,
                })
            }
            Expr::Between(Between {
                expr,
                negated,
                low,
                high,
            }) => {
                let (column, ty) = self.column(expr)?;
                let (low, high) = (literal(low, ty)?, literal(high, ty)?);
                let ge = self.push(PredicateNode::Compare {
                    column,
                    op: CompareOp::Ge,
                    value: low,
                })?;
                let le = self.push(PredicateNode::Compare {
                    column,
                    op: CompareOp::Le,
                    value: high,
                })?;
                let both = self.push(PredicateNode::And(vec![ge, le]))?;
                if *negated {
                    self.push(PredicateNode::Not(both))
                } else {
                    Some(both)
                }
            }
            _ => None,
        }
    }
}

fn compare_op(op: Operator) -> Option<CompareOp> {
    Some(match op {
        Operator::Eq => CompareOp::Eq,
        Operator::NotEq => CompareOp::Ne,
        Operator::Lt => CompareOp::Lt,
        Operator::LtEq => CompareOp::Le,
        Operator::Gt => CompareOp::Gt,
        Operator::GtEq => CompareOp::Ge,
        _ => return None,
    })
}

/// `a op b` as `b op' a`.
fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        same => same,
    }
}

/// A non-null literal of a type that reads unambiguously as the column's type.
fn literal(expr: &Expr, column: &DataType) -> Option<Scalar> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    let signed = |v: i64| match column {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            Some(Scalar::Int64(v))
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            u64::try_from(v).ok().map(Scalar::UInt64)
        }
        _ => None,
    };
    let unsigned = |v: u64| match column {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            i64::try_from(v).ok().map(Scalar::Int64)
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            Some(Scalar::UInt64(v))
        }
        _ => None,
    };
    match (value, column) {
        (ScalarValue::Boolean(Some(b)), DataType::Boolean) => Some(Scalar::Boolean(*b)),
        (ScalarValue::Int8(Some(v)), _) => signed(i64::from(*v)),
        (ScalarValue::Int16(Some(v)), _) => signed(i64::from(*v)),
        (ScalarValue::Int32(Some(v)), _) => signed(i64::from(*v)),
        (ScalarValue::Int64(Some(v)), _) => signed(*v),
        (ScalarValue::UInt8(Some(v)), _) => unsigned(u64::from(*v)),
        (ScalarValue::UInt16(Some(v)), _) => unsigned(u64::from(*v)),
        (ScalarValue::UInt32(Some(v)), _) => unsigned(u64::from(*v)),
        (ScalarValue::UInt64(Some(v)), _) => unsigned(*v),
        (ScalarValue::Float32(Some(v)), DataType::Float32 | DataType::Float64) => {
            Some(Scalar::Float64(f64::from(*v)))
        }
        (ScalarValue::Float64(Some(v)), DataType::Float32 | DataType::Float64) => {
            Some(Scalar::Float64(*v))
        }
        (
            ScalarValue::Decimal128(Some(v), precision, scale),
            DataType::Decimal128 {
                scale: column_scale,
                ..
            },
        ) if scale == column_scale => Some(Scalar::Decimal128 {
            value: *v,
            precision: *precision,
            scale: *scale,
        }),
        (
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            DataType::Utf8,
        ) => Some(Scalar::Utf8(s.clone())),
        (
            ScalarValue::Binary(Some(b))
            | ScalarValue::LargeBinary(Some(b))
            | ScalarValue::BinaryView(Some(b)),
            DataType::Binary,
        ) => Some(Scalar::Binary(b.clone())),
        (ScalarValue::Date32(Some(d)), DataType::Date32) => Some(Scalar::Date32(*d)),
        (ScalarValue::TimestampMicrosecond(Some(t), _), DataType::TimestampMicros { .. }) => {
            Some(Scalar::TimestampMicros(*t))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::{col, lit};
    use quarry_runtime::Column;

    use super::*;

    fn table() -> TableSchema {
        let column = |name: &str, data_type| Column {
            name: name.to_owned(),
            data_type,
            nullable: false,
            doc: None,
        };
        TableSchema {
            columns: vec![
                column("k", DataType::Int64),
                column("name", DataType::Utf8),
                column(
                    "price",
                    DataType::Decimal128 {
                        precision: 15,
                        scale: 2,
                    },
                ),
            ],
            row_count: None,
        }
    }

    #[test]
    fn comparisons_either_way_round() {
        let p = to_predicate(&lit(5i64).lt(col("k")), &table()).unwrap();
        assert_eq!(
            p.nodes,
            [PredicateNode::Compare {
                column: 0,
                op: CompareOp::Gt,
                value: Scalar::Int64(5)
            }]
        );
        assert_eq!(p.root, 0);
    }

    #[test]
    fn connectives_between_and_in() {
        let e = col("k")
            .between(lit(1i32), lit(9i32))
            .or(col("name").in_list(vec![lit("a"), lit("b")], true));
        let p = to_predicate(&e, &table()).unwrap();
        assert_eq!(p.nodes.len(), 5);
        assert_eq!(p.nodes[4], PredicateNode::Or(vec![2, 3]));
        assert_eq!(
            p.nodes[3],
            PredicateNode::InList {
                column: 1,
                values: vec![Scalar::Utf8("a".into()), Scalar::Utf8("b".into())],
                negated: true
            }
        );
    }

    #[test]
    fn refuses_what_the_contract_cannot_say() {
        let t = table();
        // column to column, unknown column, function, null literal, mismatched scale
        assert!(to_predicate(&col("k").eq(col("k")), &t).is_none());
        assert!(to_predicate(&col("nope").eq(lit(1i64)), &t).is_none());
        assert!(to_predicate(&(col("k") + lit(1i64)).eq(lit(2i64)), &t).is_none());
        assert!(to_predicate(&col("k").eq(lit(ScalarValue::Int64(None))), &t).is_none());
        let wrong_scale = lit(ScalarValue::Decimal128(Some(5), 15, 3));
        assert!(to_predicate(&col("price").gt(wrong_scale), &t).is_none());
        let right_scale = lit(ScalarValue::Decimal128(Some(5), 15, 2));
        assert!(to_predicate(&col("price").gt(right_scale), &t).is_some());
        // a string literal against an integer column is left to the engine
        assert!(to_predicate(&col("k").eq(lit("1")), &t).is_none());
    }
}
