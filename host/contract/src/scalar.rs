//! Literals in predicates (`scalar`), and how two of them compare.
//!
//! Integers of every width travel as `Int64` / `UInt64` and floats as `Float64`; the column's
//! declared type says how to read them.

use std::cmp::Ordering;

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Scalar {
    Null,
    Boolean(bool),
    Int64(i64),
    UInt64(u64),
    Float64(f64),
    /// An unscaled 128-bit value with its precision and scale.
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

/// Compares two unscaled decimals after bringing them to the larger scale; `None` when that
/// overflows.
fn compare_decimals(a: i128, scale_a: i8, b: i128, scale_b: i8) -> Option<Ordering> {
    let scale = scale_a.max(scale_b);
    let rescale = |v: i128, s: i8| -> Option<i128> {
        let factor = 10i128.checked_pow(u32::try_from(i32::from(scale) - i32::from(s)).ok()?)?;
        v.checked_mul(factor)
    };
    Some(rescale(a, scale_a)?.cmp(&rescale(b, scale_b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
