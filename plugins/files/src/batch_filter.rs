//! Rows the pushed filters rule out, dropped inside the connector before a batch leaves it.
//!
//! Filters stay answered `inexact`: the engine checks every row it gets again, so a filter here
//! may keep rows it could have dropped but must never drop a row that could match. Each
//! conjunct is compiled once per split against the served column types and evaluated per batch
//! with arrow's kernels and SQL's three-valued logic; a row is dropped when some conjunct is
//! false or null for it. A conjunct that cannot be evaluated exactly (a column not in the
//! batch, a literal that does not convert to the column's type without loss, a type arrow does
//! not compare) is left to the engine. A batch that keeps most of its rows is passed on whole:
//! copying it would cost more than the engine's own filter, which runs anyway.

use std::sync::Arc;

use arrow_arith::boolean::{and_kleene, is_not_null, is_null, not, or_kleene};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array,
    Int64Array, RecordBatch, Scalar as ArrowScalar, StringArray, TimestampMicrosecondArray,
    UInt64Array, new_null_array,
};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_ord::cmp;
use arrow_schema::{ArrowError, DataType as ArrowType, Schema, TimeUnit};
use arrow_select::filter::{filter_record_batch, prep_null_mask_filter};
use quarry_sdk::predicate::Expr;
use quarry_sdk::{CompareOp, Scalar};

/// A batch keeping at least this many rows in every `PASS_WHOLE_OF` is passed on whole.
const PASS_WHOLE_KEPT: usize = 4;
const PASS_WHOLE_OF: usize = 5;

/// A predicate compiled against a batch's schema: column positions and literals as arrays of
/// the column's type.
#[derive(Debug)]
enum Node {
    Compare {
        position: usize,
        op: CompareOp,
        literal: ArrayRef,
    },
    InList {
        position: usize,
        literals: Vec<ArrayRef>,
        negated: bool,
    },
    IsNull(usize),
    IsNotNull(usize),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

/// The conjuncts of a split's pushed filters that can be evaluated on its batches.
#[derive(Debug)]
pub struct BatchFilter {
    conjuncts: Vec<Node>,
}

/// What filtering one batch did.
pub struct Filtered {
    pub batch: RecordBatch,
    /// Rows dropped.
    pub dropped: usize,
}

impl BatchFilter {
    /// Compiles the filters for batches of `schema`, whose columns are the table's columns
    /// `projection` (table column indices, in batch order). `None` when no filter can be
    /// evaluated on such batches.
    pub fn new(filters: &[Expr], projection: &[usize], schema: &Schema) -> Option<BatchFilter> {
        let position = |column: u32| projection.iter().position(|&p| p == column as usize);
        let conjuncts: Vec<Node> = filters
            .iter()
            .filter_map(|f| compile(f, &position, schema))
            .collect();
        (!conjuncts.is_empty()).then_some(BatchFilter { conjuncts })
    }

    /// The rows of `batch` that may match every conjunct, or the whole batch when most may.
    /// A kernel error keeps the whole batch: the engine's filter decides then.
    pub fn apply(&self, batch: RecordBatch) -> Filtered {
        let rows = batch.num_rows();
        let Ok(mask) = self.mask(&batch) else {
            return Filtered { batch, dropped: 0 };
        };
        let kept = mask.true_count();
        if kept * PASS_WHOLE_OF >= rows * PASS_WHOLE_KEPT {
            return Filtered { batch, dropped: 0 };
        }
        match filter_record_batch(&batch, &mask) {
            Ok(filtered) => Filtered {
                batch: filtered,
                dropped: rows - kept,
            },
            Err(_) => Filtered { batch, dropped: 0 },
        }
    }

    /// True where every conjunct is true; null counts as false.
    fn mask(&self, batch: &RecordBatch) -> Result<BooleanArray, ArrowError> {
        let all = fold(&self.conjuncts, batch, true, and_kleene)?;
        Ok(if all.null_count() > 0 {
            prep_null_mask_filter(&all)
        } else {
            all
        })
    }
}

fn compile(expr: &Expr, position: &dyn Fn(u32) -> Option<usize>, schema: &Schema) -> Option<Node> {
    let column_type = |column: u32| {
        let p = position(column)?;
        Some((p, schema.field(p).data_type()))
    };
    Some(match expr {
        Expr::Compare { column, op, value } => {
            let (position, target) = column_type(*column)?;
            Node::Compare {
                position,
                op: *op,
                literal: literal(value, target)?,
            }
        }
        Expr::InList {
            column,
            values,
            negated,
        } => {
            let (position, target) = column_type(*column)?;
            Node::InList {
                position,
                literals: values
                    .iter()
                    .map(|v| literal(v, target))
                    .collect::<Option<_>>()?,
                negated: *negated,
            }
        }
        Expr::IsNull(column) => Node::IsNull(column_type(*column)?.0),
        Expr::IsNotNull(column) => Node::IsNotNull(column_type(*column)?.0),
        Expr::And(items) => Node::And(
            items
                .iter()
                .map(|e| compile(e, position, schema))
                .collect::<Option<_>>()?,
        ),
        Expr::Or(items) => Node::Or(
            items
                .iter()
                .map(|e| compile(e, position, schema))
                .collect::<Option<_>>()?,
        ),
        Expr::Not(item) => Node::Not(Box::new(compile(item, position, schema)?)),
    })
}

/// A literal as a one-row array of the column's type, when it converts without loss and the
/// comparison means what the engine's does: numbers with numbers, text with text, bytes with
/// bytes, dates with dates, microsecond timestamps with microsecond timestamps.
fn literal(value: &Scalar, target: &ArrowType) -> Option<ArrayRef> {
    let natural: ArrayRef = match value {
        Scalar::Null => return Some(new_null_array(target, 1)),
        Scalar::Boolean(b) => Arc::new(BooleanArray::from(vec![*b])),
        Scalar::Int64(v) => Arc::new(Int64Array::from(vec![*v])),
        Scalar::UInt64(v) => Arc::new(UInt64Array::from(vec![*v])),
        Scalar::Float64(v) => Arc::new(Float64Array::from(vec![*v])),
        Scalar::Decimal128 {
            value,
            precision,
            scale,
        } => Arc::new(
            Decimal128Array::from(vec![*value])
                .with_precision_and_scale(*precision, *scale)
                .ok()?,
        ),
        Scalar::Utf8(s) => Arc::new(StringArray::from(vec![s.as_str()])),
        Scalar::Binary(b) => Arc::new(BinaryArray::from(vec![b.as_slice()])),
        Scalar::Date32(d) => Arc::new(Date32Array::from(vec![*d])),
        Scalar::TimestampMicros(t) => {
            // The instant itself; a cast would read a naive value as local time in the zone.
            return match target {
                ArrowType::Timestamp(TimeUnit::Microsecond, zone) => Some(Arc::new(
                    TimestampMicrosecondArray::from(vec![*t]).with_timezone_opt(zone.clone()),
                )),
                _ => None,
            };
        }
    };
    let from = natural.data_type();
    if from == target {
        return Some(natural);
    }
    let comparable = (from.is_numeric() && target.is_numeric())
        || (is_text(from) && is_text(target))
        || (is_bytes(from) && is_bytes(target));
    if !comparable {
        return None;
    }
    let strict = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let converted = cast_with_options(&natural, target, &strict).ok()?;
    let back = cast_with_options(&converted, from, &strict).ok()?;
    (converted.null_count() == 0 && back.as_ref() == natural.as_ref()).then_some(converted)
}

fn is_text(t: &ArrowType) -> bool {
    matches!(
        t,
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View
    )
}

fn is_bytes(t: &ArrowType) -> bool {
    matches!(
        t,
        ArrowType::Binary | ArrowType::LargeBinary | ArrowType::BinaryView
    )
}

fn eval(node: &Node, batch: &RecordBatch) -> Result<BooleanArray, ArrowError> {
    match node {
        Node::Compare {
            position,
            op,
            literal,
        } => compare(batch.column(*position), *op, literal),
        Node::InList {
            position,
            literals,
            negated,
        } => {
            let column = batch.column(*position);
            let mut any: Option<BooleanArray> = None;
            for literal in literals {
                let equal = compare(column, CompareOp::Eq, literal)?;
                any = Some(match any {
                    None => equal,
                    Some(acc) => or_kleene(&acc, &equal)?,
                });
            }
            // `x IN ()` is false for every row, and `x NOT IN ()` true.
            let any = any.unwrap_or_else(|| BooleanArray::from(vec![false; batch.num_rows()]));
            if *negated { not(&any) } else { Ok(any) }
        }
        Node::IsNull(position) => is_null(batch.column(*position)),
        Node::IsNotNull(position) => is_not_null(batch.column(*position)),
        Node::And(items) => fold(items, batch, true, and_kleene),
        Node::Or(items) => fold(items, batch, false, or_kleene),
        Node::Not(item) => not(&eval(item, batch)?),
    }
}

/// AND or OR of the items; `empty` is the answer for no items.
fn fold(
    items: &[Node],
    batch: &RecordBatch,
    empty: bool,
    combine: fn(&BooleanArray, &BooleanArray) -> Result<BooleanArray, ArrowError>,
) -> Result<BooleanArray, ArrowError> {
    let mut acc: Option<BooleanArray> = None;
    for item in items {
        let value = eval(item, batch)?;
        acc = Some(match acc {
            None => value,
            Some(a) => combine(&a, &value)?,
        });
    }
    Ok(acc.unwrap_or_else(|| BooleanArray::from(vec![empty; batch.num_rows()])))
}

fn compare(
    column: &ArrayRef,
    op: CompareOp,
    literal: &ArrayRef,
) -> Result<BooleanArray, ArrowError> {
    let rhs = ArrowScalar::new(Arc::clone(literal));
    let lhs = column.as_ref();
    match op {
        CompareOp::Eq => cmp::eq(&lhs, &rhs),
        CompareOp::Ne => cmp::neq(&lhs, &rhs),
        CompareOp::Lt => cmp::lt(&lhs, &rhs),
        CompareOp::Le => cmp::lt_eq(&lhs, &rhs),
        CompareOp::Gt => cmp::gt(&lhs, &rhs),
        CompareOp::Ge => cmp::gt_eq(&lhs, &rhs),
    }
}

#[cfg(test)]
mod tests {
    use arrow_schema::Field;

    use super::*;

    fn batch() -> RecordBatch {
        let day = |d: &str| {
            // Days since the epoch of a few fixed dates, for readability.
            match d {
                "1994-01-01" => 8766,
                "1994-06-01" => 8917,
                "1995-01-01" => 9131,
                _ => unreachable!(),
            }
        };
        RecordBatch::try_from_iter([
            (
                "shipdate",
                Arc::new(Date32Array::from(vec![
                    Some(day("1994-01-01")),
                    Some(day("1994-06-01")),
                    Some(day("1995-01-01")),
                    None,
                    Some(day("1994-06-01")),
                ])) as ArrayRef,
            ),
            (
                "discount",
                Arc::new(
                    Decimal128Array::from(vec![Some(5), Some(6), Some(7), Some(6), None])
                        .with_precision_and_scale(15, 2)
                        .unwrap(),
                ) as ArrayRef,
            ),
            (
                "flag",
                Arc::new(StringArray::from(vec!["R", "A", "N", "R", "R"])) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    /// Columns 0, 1, 2 of the table in batch order 0, 1, 2.
    fn filter(filters: &[Expr], b: &RecordBatch) -> Option<BatchFilter> {
        BatchFilter::new(filters, &[0, 1, 2], &b.schema())
    }

    fn flags(b: &RecordBatch) -> Vec<String> {
        let a = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        a.iter().map(|v| v.unwrap_or("-").to_owned()).collect()
    }

    #[test]
    fn conjuncts_drop_rows_that_are_false_or_null() {
        let b = batch();
        let f = filter(
            &[
                Expr::compare(0, CompareOp::Ge, Scalar::Date32(8766)),
                Expr::compare(0, CompareOp::Lt, Scalar::Date32(9131)),
                // 0.06 as written by the engine: a decimal of another precision.
                Expr::compare(
                    1,
                    CompareOp::Le,
                    Scalar::Decimal128 {
                        value: 6,
                        precision: 3,
                        scale: 2,
                    },
                ),
            ],
            &b,
        )
        .unwrap();
        let out = f.apply(b);
        // Row 3 has no date, row 4 no discount: null drops them; row 2 is out of range.
        assert_eq!(flags(&out.batch), ["R", "A"]);
        assert_eq!(out.dropped, 3);
    }

    #[test]
    fn in_lists_or_and_not_follow_three_valued_logic() {
        let b = batch();
        let f = filter(
            &[Expr::Or(vec![
                Expr::InList {
                    column: 2,
                    values: vec![Scalar::Utf8("A".into()), Scalar::Utf8("N".into())],
                    negated: false,
                },
                Expr::Not(Box::new(Expr::IsNotNull(0))),
            ])],
            &b,
        )
        .unwrap();
        assert_eq!(flags(&f.apply(b.clone()).batch), ["A", "N", "R"]);

        // NOT IN with a null in the list is never true.
        let f = filter(
            &[Expr::InList {
                column: 2,
                values: vec![Scalar::Utf8("A".into()), Scalar::Null],
                negated: true,
            }],
            &b,
        )
        .unwrap();
        let out = f.apply(b);
        assert_eq!(out.batch.num_rows(), 0);
        assert_eq!(out.dropped, 5);
    }

    #[test]
    fn an_integer_literal_meets_a_decimal_column_only_when_exact() {
        let b = batch();
        // 0 < discount: every row but the null one; most rows pass, so the batch goes whole.
        let f = filter(&[Expr::compare(1, CompareOp::Gt, Scalar::Int64(0))], &b).unwrap();
        let out = f.apply(b.clone());
        assert_eq!((out.batch.num_rows(), out.dropped), (5, 0));

        // 0.065 has no exact value at scale 2: the conjunct is left to the engine.
        let inexact = Expr::compare(
            1,
            CompareOp::Lt,
            Scalar::Decimal128 {
                value: 65,
                precision: 4,
                scale: 3,
            },
        );
        assert!(filter(&[inexact], &b).is_none());
    }

    #[test]
    fn what_cannot_be_evaluated_exactly_is_left_to_the_engine() {
        let b = batch();
        // A column outside the batch, text against a date, a timestamp against a date.
        assert!(BatchFilter::new(&[Expr::IsNull(7)], &[0, 1, 2], &b.schema()).is_none());
        assert!(
            filter(
                &[Expr::compare(
                    0,
                    CompareOp::Eq,
                    Scalar::Utf8("1994-01-01".into())
                )],
                &b
            )
            .is_none()
        );
        assert!(
            filter(
                &[Expr::compare(0, CompareOp::Eq, Scalar::TimestampMicros(0))],
                &b
            )
            .is_none()
        );
        // An AND with one part that cannot be evaluated is left whole; the other conjunct
        // still applies.
        let f = filter(
            &[
                Expr::And(vec![Expr::IsNull(7), Expr::IsNull(0)]),
                Expr::compare(2, CompareOp::Eq, Scalar::Utf8("N".into())),
            ],
            &b,
        )
        .unwrap();
        assert_eq!(flags(&f.apply(b).batch), ["N"]);
    }

    #[test]
    fn columns_are_found_by_table_index_in_a_reordered_projection() {
        let b = batch();
        // The batch holds table columns 5, 9, 2 in that order.
        let f = BatchFilter::new(
            &[Expr::compare(2, CompareOp::Eq, Scalar::Utf8("A".into()))],
            &[5, 9, 2],
            &Schema::new(vec![
                Field::new("a", ArrowType::Date32, true),
                Field::new("b", ArrowType::Decimal128(15, 2), true),
                Field::new("c", ArrowType::Utf8, true),
            ]),
        )
        .unwrap();
        assert_eq!(flags(&f.apply(b).batch), ["A"]);
    }
}
