//! Rows the scan's filters rule out, dropped in the plugin before they are encoded and copied
//! out of the sandbox.
//!
//! Every filter in a scan request is a conjunct of the query's `WHERE` that the engine was told
//! this connector takes (`inexact` for Parquet: the engine checks every row it receives again),
//! so dropping a row that fails one is always right, and costs the engine nothing to redo. What
//! it saves is the work after decoding: the Arrow IPC encoding, the copy out of the sandbox, the
//! host's checks, the engine's own filter over rows that cannot match.
//!
//! A filter is evaluated only where the answer is exact: a comparison whose literal converts to
//! the column's type without loss, with SQL's three-valued logic (`NULL` is not true, so its row
//! goes). Anything else (a float column, a literal that does not fit, a column not projected)
//! is left to the engine: that filter drops nothing here.

use std::sync::Arc;

use arrow_arith::boolean::{and_kleene, is_not_null, is_null, not, or_kleene};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Int64Array,
    RecordBatch, Scalar as ArrowScalar, StringArray, TimestampMicrosecondArray, new_null_array,
};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_ord::cmp;
use arrow_schema::{DataType as ArrowType, TimeUnit};
use quarry_sdk::predicate::Expr;
use quarry_sdk::{CompareOp, Scalar};

/// The filters of one scan, over the columns of its batches.
#[derive(Debug, Clone)]
pub struct RowFilter {
    filters: Vec<Expr>,
    /// Table column index → its position in the batch, for the projected columns.
    projection: Vec<usize>,
}

impl RowFilter {
    /// The filters over batches of the table columns `projection` (in batch order); `None`
    /// when there are none.
    pub fn new(filters: &[Expr], projection: &[usize]) -> Option<RowFilter> {
        (!filters.is_empty()).then(|| RowFilter {
            filters: filters.to_vec(),
            projection: projection.to_vec(),
        })
    }

    /// `batch` without the rows some filter rules out.
    pub fn apply(&self, batch: RecordBatch) -> RecordBatch {
        let mut keep: Option<BooleanArray> = None;
        for filter in &self.filters {
            let Some(mask) = self.mask(filter, &batch) else {
                continue;
            };
            keep = Some(match keep {
                None => mask,
                Some(before) => match and_kleene(&before, &mask) {
                    Ok(both) => both,
                    Err(_) => before,
                },
            });
        }
        let Some(keep) = keep else { return batch };
        if keep.true_count() == batch.num_rows() {
            return batch;
        }
        arrow_select::filter::filter_record_batch(&batch, &keep).unwrap_or(batch)
    }

    /// Where `expr` is true, false or unknown; `None` when it cannot be evaluated exactly here.
    fn mask(&self, expr: &Expr, batch: &RecordBatch) -> Option<BooleanArray> {
        match expr {
            Expr::Compare { column, op, value } => {
                let array = self.column(batch, *column)?;
                compare(array, *op, value)
            }
            Expr::InList {
                column,
                values,
                negated,
            } => {
                let array = self.column(batch, *column)?;
                let mut any: Option<BooleanArray> = None;
                for value in values {
                    let equal = compare(array, CompareOp::Eq, value)?;
                    any = Some(match any {
                        None => equal,
                        Some(before) => or_kleene(&before, &equal).ok()?,
                    });
                }
                let any = any?;
                if *negated { not(&any).ok() } else { Some(any) }
            }
            Expr::IsNull(column) => is_null(self.column(batch, *column)?.as_ref()).ok(),
            Expr::IsNotNull(column) => is_not_null(self.column(batch, *column)?.as_ref()).ok(),
            Expr::And(items) => self.fold(items, batch, |a, b| and_kleene(a, b).ok()),
            Expr::Or(items) => self.fold(items, batch, |a, b| or_kleene(a, b).ok()),
            Expr::Not(inner) => not(&self.mask(inner, batch)?).ok(),
        }
    }

    /// All of `items` combined with `combine`; `None` if any one cannot be evaluated (an AND
    /// could drop less, but this keeps `NOT (a AND b)` exact).
    fn fold(
        &self,
        items: &[Expr],
        batch: &RecordBatch,
        combine: impl Fn(&BooleanArray, &BooleanArray) -> Option<BooleanArray>,
    ) -> Option<BooleanArray> {
        let mut out: Option<BooleanArray> = None;
        for item in items {
            let mask = self.mask(item, batch)?;
            out = Some(match out {
                None => mask,
                Some(before) => combine(&before, &mask)?,
            });
        }
        out
    }

    fn column<'a>(&self, batch: &'a RecordBatch, table_column: u32) -> Option<&'a ArrayRef> {
        let table_column = usize::try_from(table_column).ok()?;
        let position = self.projection.iter().position(|&c| c == table_column)?;
        (position < batch.num_columns()).then(|| batch.column(position))
    }
}

/// `array op value`, where `value` converts to the array's type without loss.
fn compare(array: &ArrayRef, op: CompareOp, value: &Scalar) -> Option<BooleanArray> {
    let literal = ArrowScalar::new(literal(value, array.data_type())?);
    let result = match op {
        CompareOp::Eq => cmp::eq(array, &literal),
        CompareOp::Ne => cmp::neq(array, &literal),
        CompareOp::Lt => cmp::lt(array, &literal),
        CompareOp::Le => cmp::lt_eq(array, &literal),
        CompareOp::Gt => cmp::gt(array, &literal),
        CompareOp::Ge => cmp::gt_eq(array, &literal),
    };
    result.ok()
}

/// `value` as a one-element array of `target`, if it is exactly representable there.
fn literal(value: &Scalar, target: &ArrowType) -> Option<ArrayRef> {
    let array: ArrayRef = match (value, target) {
        (Scalar::Null, _) => new_null_array(target, 1),
        (Scalar::Boolean(b), ArrowType::Boolean) => Arc::new(BooleanArray::from(vec![*b])),
        (Scalar::Int64(_) | Scalar::UInt64(_), t) if t.is_integer() => {
            let wide: ArrayRef = match value {
                Scalar::Int64(v) => Arc::new(Int64Array::from(vec![*v])),
                _ => Arc::new(arrow_array::UInt64Array::from(vec![u64_of(value)?])),
            };
            // Not `safe`: a literal that does not fit the column's type is an error here (and
            // the filter is left to the engine), never a NULL that would drop every row.
            let options = CastOptions {
                safe: false,
                ..CastOptions::default()
            };
            cast_with_options(&wide, t, &options).ok()?
        }
        (Scalar::Int64(v), ArrowType::Decimal128(precision, scale)) => {
            decimal(i128::from(*v), 0, *precision, *scale)?
        }
        (
            Scalar::Decimal128 {
                value: v, scale: s, ..
            },
            ArrowType::Decimal128(precision, scale),
        ) => decimal(*v, *s, *precision, *scale)?,
        (Scalar::Utf8(s), ArrowType::Utf8) => Arc::new(StringArray::from(vec![s.as_str()])),
        (Scalar::Binary(b), ArrowType::Binary) => Arc::new(BinaryArray::from(vec![b.as_slice()])),
        (Scalar::Date32(d), ArrowType::Date32) => Arc::new(Date32Array::from(vec![*d])),
        (Scalar::TimestampMicros(t), ArrowType::Timestamp(TimeUnit::Microsecond, tz)) => {
            Arc::new(TimestampMicrosecondArray::from(vec![*t]).with_timezone_opt(tz.clone()))
        }
        _ => return None,
    };
    (array.data_type() == target).then_some(array)
}

fn u64_of(value: &Scalar) -> Option<u64> {
    match value {
        Scalar::UInt64(v) => Some(*v),
        _ => None,
    }
}

/// The decimal `value` at `scale_of_value`, at the column's scale: only by scaling up (adding
/// zeros), which is exact; a literal with more fractional digits than the column is left alone.
fn decimal(value: i128, scale_of_value: i8, precision: u8, scale: i8) -> Option<ArrayRef> {
    let up = u32::try_from(i32::from(scale) - i32::from(scale_of_value)).ok()?;
    let scaled = value.checked_mul(10i128.checked_pow(up)?)?;
    let array = Decimal128Array::from(vec![scaled])
        .with_precision_and_scale(precision, scale)
        .ok()?;
    array.validate_decimal_precision(precision).ok()?;
    Some(Arc::new(array))
}

#[cfg(test)]
mod tests {
    use arrow_array::{Float64Array, Int32Array};
    use arrow_schema::{Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("q", ArrowType::Int32, true),
            Field::new("price", ArrowType::Decimal128(15, 2), false),
            Field::new("flag", ArrowType::Utf8, false),
            Field::new("f", ArrowType::Float64, false),
        ]));
        let price = Decimal128Array::from(vec![500, 1500, 2500, 3500])
            .with_precision_and_scale(15, 2)
            .unwrap_or_else(|e| panic!("{e}"));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(vec![Some(1), None, Some(30), Some(24)])),
                Arc::new(price),
                Arc::new(StringArray::from(vec!["A", "N", "R", "A"])),
                Arc::new(Float64Array::from(vec![0.1, 0.2, 0.3, 0.4])),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The first column of what `filters` keep of `batch()` read with table columns 10..14.
    fn kept(filters: Vec<Expr>) -> Vec<Option<i32>> {
        let filter = RowFilter::new(&filters, &[10, 11, 12, 13]).unwrap_or_else(|| panic!());
        let out = filter.apply(batch());
        let q = out.column(0).as_any().downcast_ref::<Int32Array>().cloned();
        q.map(|a| a.iter().collect()).unwrap_or_default()
    }

    #[test]
    fn comparisons_drop_what_cannot_match_and_nulls() {
        let lt = Expr::compare(10, CompareOp::Lt, Scalar::Int64(25));
        assert_eq!(kept(vec![lt.clone()]), [Some(1), Some(24)]);
        let not_lt = Expr::Not(Box::new(lt));
        assert_eq!(kept(vec![not_lt]), [Some(30)]);
        // A decimal literal at a lower scale is scaled up; 15.00 <= price.
        let price = Expr::compare(
            11,
            CompareOp::Ge,
            Scalar::Decimal128 {
                value: 150,
                precision: 3,
                scale: 1,
            },
        );
        let flag = Expr::InList {
            column: 12,
            values: vec![Scalar::Utf8("A".into()), Scalar::Utf8("R".into())],
            negated: false,
        };
        assert_eq!(kept(vec![price, flag]), [Some(30), Some(24)]);
        assert_eq!(kept(vec![Expr::IsNull(10)]), [None]);
    }

    #[test]
    fn what_cannot_be_evaluated_exactly_drops_nothing() {
        let everything = vec![Some(1), None, Some(30), Some(24)];
        // An integer literal too big for the column's type.
        let big = Expr::compare(10, CompareOp::Lt, Scalar::Int64(i64::MAX));
        assert_eq!(kept(vec![big]), everything);
        // More fractional digits than the column has.
        let fine = Expr::compare(
            11,
            CompareOp::Lt,
            Scalar::Decimal128 {
                value: 1,
                precision: 5,
                scale: 4,
            },
        );
        assert_eq!(kept(vec![fine]), everything);
        // A float column, a column not in the batch, a type that does not match.
        let float = Expr::compare(13, CompareOp::Lt, Scalar::Float64(0.25));
        let absent = Expr::compare(99, CompareOp::Eq, Scalar::Int64(1));
        let mismatch = Expr::compare(12, CompareOp::Eq, Scalar::Int64(1));
        assert_eq!(kept(vec![float, absent, mismatch]), everything);
    }
}
