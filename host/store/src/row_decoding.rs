//! Decoding the stored shapes from rows of either backend, written out rather than derived.
//!
//! sqlx's `FromRow` derive lives in its proc-macro crate, which compiles sqlx's drivers and
//! SQLite's C source a second time for the build host (ADR 0014). The impls are short; each
//! names its columns, so a renamed column fails to decode with the column's name.

use sqlx::types::Json;
use sqlx::{ColumnIndex, Decode, Row, Type};

/// Implements `sqlx::FromRow` for `$shape` on both backends' rows, with one body: `$row` is a
/// `&SqliteRow` in one impl and a `&PgRow` in the other.
macro_rules! from_row_on_both_backends {
    ($shape:ty, |$row:ident| $body:expr) => {
        impl sqlx::FromRow<'_, sqlx::sqlite::SqliteRow> for $shape {
            fn from_row($row: &sqlx::sqlite::SqliteRow) -> sqlx::Result<Self> {
                $body
            }
        }
        impl sqlx::FromRow<'_, sqlx::postgres::PgRow> for $shape {
            fn from_row($row: &sqlx::postgres::PgRow) -> sqlx::Result<Self> {
                $body
            }
        }
    };
}
pub(crate) use from_row_on_both_backends;

/// Column `name` of `row`, stored as JSON text.
pub(crate) fn json_column<'r, R, T>(row: &'r R, name: &str) -> sqlx::Result<T>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    Json<T>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(row.try_get::<Json<T>, _>(name)?.0)
}

/// Column `name` of `row`, stored as `S` and converted to `T` (a size kept as a signed integer,
/// a state kept as text).
pub(crate) fn converted_column<'r, R, S, T>(row: &'r R, name: &str) -> sqlx::Result<T>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    S: Decode<'r, R::Database> + Type<R::Database>,
    T: TryFrom<S>,
    T::Error: std::error::Error + Send + Sync + 'static,
{
    T::try_from(row.try_get::<S, _>(name)?).map_err(|error| sqlx::Error::ColumnDecode {
        index: name.to_owned(),
        source: Box::new(error),
    })
}
