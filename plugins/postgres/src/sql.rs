//! SQL text: quoted identifiers, literals of the contract's scalars for a column's type, and
//! the scan statement of one split.
//!
//! Identifiers are always double-quoted and strings always escaped by `postgres-protocol`'s
//! `escape_identifier` / `escape_literal` (libpq's rules, safe under either setting of
//! `standard_conforming_strings`); dates and timestamps are typed literals
//! (`DATE '2024-01-31'`), bytes are `decode('hex digits', 'hex')`.

use postgres_protocol::escape::{escape_identifier, escape_literal};
use quarry_sdk::Scalar;

use crate::types::{ColumnDef, PgKind};

/// `"schema"."table"`.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", escape_identifier(schema), escape_identifier(table))
}

/// The column as selected and filtered: `"name"`, or `"name"::text` for columns read as text.
pub fn column_expr(column: &ColumnDef) -> String {
    if column.as_text {
        format!("{}::text", escape_identifier(&column.name))
    } else {
        escape_identifier(&column.name)
    }
}

/// `value` as a SQL literal of `column`'s type, or `None` when the pair has no faithful
/// literal (NULL, a type that does not match, a date outside years 1 to 9999, a float that is
/// zero or not finite, text holding NUL).
pub fn literal(column: &ColumnDef, value: &Scalar) -> Option<String> {
    match (column.kind, value) {
        (PgKind::Bool, Scalar::Boolean(b)) => Some(if *b { "TRUE" } else { "FALSE" }.to_owned()),
        (PgKind::Int2 | PgKind::Int4 | PgKind::Int8, Scalar::Int64(v)) => Some(v.to_string()),
        (PgKind::Int2 | PgKind::Int4 | PgKind::Int8, Scalar::UInt64(v)) => Some(v.to_string()),
        // Zero is left out: PostgreSQL has -0 = 0, Arrow orders -0 before 0.
        (PgKind::Float4 | PgKind::Float8, Scalar::Float64(v)) if v.is_finite() && *v != 0.0 => {
            Some(format!("'{v:e}'::float8"))
        }
        (PgKind::Numeric { .. }, Scalar::Int64(v)) => Some(format!("'{v}'::numeric")),
        (PgKind::Numeric { .. }, Scalar::UInt64(v)) => Some(format!("'{v}'::numeric")),
        (PgKind::Numeric { .. }, Scalar::Decimal128 { value, scale, .. }) => {
            Some(format!("'{}'::numeric", decimal_text(*value, *scale)))
        }
        (PgKind::Text | PgKind::Bpchar, Scalar::Utf8(s)) if !s.contains('\0') => {
            Some(escape_literal(s))
        }
        (PgKind::Bytea, Scalar::Binary(bytes)) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            Some(format!("decode('{hex}', 'hex')"))
        }
        (PgKind::Date, Scalar::Date32(days)) => {
            let (year, month, day) = civil_from_days(i64::from(*days));
            (1..=9999)
                .contains(&year)
                .then(|| format!("DATE '{year:04}-{month:02}-{day:02}'"))
        }
        (PgKind::Timestamp, Scalar::TimestampMicros(micros)) => {
            timestamp_text(*micros).map(|text| format!("TIMESTAMP '{text}'"))
        }
        (PgKind::Timestamptz, Scalar::TimestampMicros(micros)) => {
            timestamp_text(*micros).map(|text| format!("TIMESTAMPTZ '{text}+00'"))
        }
        _ => None,
    }
}

/// An unscaled decimal as text: 12345 at scale 2 is `123.45`, at scale -2 `1234500`.
pub fn decimal_text(value: i128, scale: i8) -> String {
    let digits = value.unsigned_abs().to_string();
    let sign = if value < 0 { "-" } else { "" };
    if scale <= 0 {
        let zeros = "0".repeat(usize::from(scale.unsigned_abs()));
        return if value == 0 {
            "0".to_owned()
        } else {
            format!("{sign}{digits}{zeros}")
        };
    }
    let scale = usize::from(scale.unsigned_abs());
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` of microseconds since 1970, or `None` outside years 1-9999.
pub fn timestamp_text(micros: i64) -> Option<String> {
    const DAY: i64 = 86_400_000_000;
    let (year, month, day) = civil_from_days(micros.div_euclid(DAY));
    if !(1..=9999).contains(&year) {
        return None;
    }
    let in_day = micros.rem_euclid(DAY);
    let seconds = in_day / 1_000_000;
    let fraction = in_day % 1_000_000;
    Some(format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{fraction:06}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    ))
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift to 0000-03-01 so leap days end each 400-year era's years.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// The statement of one split: the projected columns of `schema.table`, rows in the ctid page
/// range `pages` (start inclusive, end exclusive, either open), the pushed filters, the limit.
pub fn scan_statement(
    schema: &str,
    table: &str,
    columns: &[ColumnDef],
    pages: (Option<u64>, Option<u64>),
    filters: &[String],
    limit: Option<u64>,
) -> String {
    let select = columns
        .iter()
        .map(column_expr)
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = if select.is_empty() {
        // `SELECT FROM t`: rows with no columns, for count(*).
        format!("SELECT FROM {}", qualified(schema, table))
    } else {
        format!("SELECT {select} FROM {}", qualified(schema, table))
    };
    let mut conditions = Vec::new();
    if let Some(start) = pages.0 {
        conditions.push(format!("ctid >= '({start},0)'::tid"));
    }
    if let Some(end) = pages.1 {
        conditions.push(format!("ctid < '({end},0)'::tid"));
    }
    conditions.extend(filters.iter().map(|f| format!("({f})")));
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    if let Some(limit) = limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, kind: PgKind) -> ColumnDef {
        ColumnDef::nullable(name, kind)
    }

    #[test]
    fn identifiers_and_strings_are_quoted_and_escaped() {
        assert_eq!(qualified("Sales", "a\"b"), "\"Sales\".\"a\"\"b\"");
        let text = column("t", PgKind::Text);
        assert_eq!(
            literal(&text, &Scalar::Utf8("it's".to_owned())).unwrap(),
            "'it''s'"
        );
        // A backslash makes it an E'' string, right under either standard_conforming_strings.
        assert_eq!(
            literal(&text, &Scalar::Utf8("a\\b".to_owned())).unwrap(),
            " E'a\\\\b'"
        );
        assert_eq!(literal(&text, &Scalar::Utf8("a\0b".to_owned())), None);
        let mut uuid = column("id", PgKind::Text);
        uuid.as_text = true;
        assert_eq!(column_expr(&uuid), "\"id\"::text");
    }

    #[test]
    fn scalars_become_typed_literals() {
        let date = column("d", PgKind::Date);
        assert_eq!(
            literal(&date, &Scalar::Date32(19_723)).unwrap(),
            "DATE '2024-01-01'"
        );
        assert_eq!(
            literal(&date, &Scalar::Date32(-719_162)).unwrap(),
            "DATE '0001-01-01'"
        );
        assert_eq!(literal(&date, &Scalar::Date32(-719_163)), None);
        let ts = column("t", PgKind::Timestamptz);
        assert_eq!(
            literal(&ts, &Scalar::TimestampMicros(-1)).unwrap(),
            "TIMESTAMPTZ '1969-12-31 23:59:59.999999+00'"
        );
        let ts = column("t", PgKind::Timestamp);
        assert_eq!(
            literal(&ts, &Scalar::TimestampMicros(1_709_210_096_000_123)).unwrap(),
            "TIMESTAMP '2024-02-29 12:34:56.000123'"
        );
        let num = column(
            "n",
            PgKind::Numeric {
                precision: 10,
                scale: 2,
            },
        );
        let dec = |value, scale| Scalar::Decimal128 {
            value,
            precision: 10,
            scale,
        };
        assert_eq!(literal(&num, &dec(-5, 2)).unwrap(), "'-0.05'::numeric");
        assert_eq!(literal(&num, &dec(12, -2)).unwrap(), "'1200'::numeric");
        assert_eq!(literal(&num, &dec(12345, 2)).unwrap(), "'123.45'::numeric");
        let int = column("i", PgKind::Int4);
        assert_eq!(literal(&int, &Scalar::Int64(-3)).unwrap(), "-3");
        assert_eq!(literal(&int, &Scalar::Utf8("3".to_owned())), None);
        assert_eq!(literal(&int, &Scalar::Null), None);
        let float = column("f", PgKind::Float8);
        assert_eq!(
            literal(&float, &Scalar::Float64(1.5)).unwrap(),
            "'1.5e0'::float8"
        );
        assert_eq!(literal(&float, &Scalar::Float64(0.0)), None);
        assert_eq!(literal(&float, &Scalar::Float64(f64::NAN)), None);
        let bytes = column("b", PgKind::Bytea);
        assert_eq!(
            literal(&bytes, &Scalar::Binary(vec![0xde, 0x01])).unwrap(),
            "decode('de01', 'hex')"
        );
    }

    #[test]
    fn a_split_statement_has_its_page_range_filters_and_limit() {
        let columns = [column("id", PgKind::Int8), column("name", PgKind::Text)];
        assert_eq!(
            scan_statement("public", "t", &columns, (None, None), &[], None),
            "SELECT \"id\", \"name\" FROM \"public\".\"t\""
        );
        assert_eq!(
            scan_statement(
                "public",
                "t",
                &columns[..1],
                (Some(10), Some(20)),
                &["\"id\" > 5".to_owned()],
                Some(7)
            ),
            "SELECT \"id\" FROM \"public\".\"t\" WHERE ctid >= '(10,0)'::tid AND \
             ctid < '(20,0)'::tid AND (\"id\" > 5) LIMIT 7"
        );
        assert_eq!(
            scan_statement("s", "t", &[], (None, Some(3)), &[], None),
            "SELECT FROM \"s\".\"t\" WHERE ctid < '(3,0)'::tid"
        );
    }
}
