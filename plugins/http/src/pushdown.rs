//! Which filters reach the API, and the splits they make.
//!
//! `column = literal` and `column IN (…)` on a column that fills a url placeholder or has a
//! query parameter in `filters` are sent to the API and answered `exact`; each combination of
//! their values is one split (one request chain). Every other filter is `unsupported`, and the
//! engine checks it. The reader keeps the `exact` promise: a row without the column gets the
//! value asked for, and a row with another value is dropped ([`crate::page_reader`]).

use std::collections::BTreeMap;

use quarry_sdk::predicate::Expr;
use quarry_sdk::values::{Cell, parse_cell};
use quarry_sdk::{Column, CompareOp, ConnectorError, Predicate, Pushdown, Result, Scalar};

use crate::split::SplitPayload;
use crate::table_def::TableDef;
use crate::url_template::with_query_param;

/// Most splits (requested value combinations) one scan may plan.
pub const MAX_SPLITS: usize = 1000;

/// The filters a scan sends to the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedFilters {
    /// One answer per filter of the request, in order.
    pub answers: Vec<Pushdown>,
    /// Column → the values asked for, as text, without duplicates.
    pub values: BTreeMap<String, Vec<String>>,
}

/// Sorts a scan's filters into those sent to the API and the rest.
pub fn push_filters(table: &TableDef, columns: &[Column], filters: &[Predicate]) -> PushedFilters {
    let request_columns = table.request_columns();
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut answers = Vec::with_capacity(filters.len());
    for filter in filters {
        let (index, literals) = match filter.to_expr() {
            Ok(Expr::Compare {
                column,
                op: CompareOp::Eq,
                value,
            }) => (column, vec![value]),
            Ok(Expr::InList {
                column,
                values,
                negated: false,
            }) => (column, values),
            _ => {
                answers.push(Pushdown::Unsupported);
                continue;
            }
        };
        let texts = columns.get(index as usize).and_then(|column| {
            // One filter per column reaches the API; a second one is left to the engine.
            if !request_columns.contains(&column.name.as_str()) || values.contains_key(&column.name)
            {
                return None;
            }
            let texts = request_texts(column, &literals)?;
            Some((column.name.clone(), texts))
        });
        match texts {
            Some((name, texts)) => {
                values.insert(name, texts);
                answers.push(Pushdown::Exact);
            }
            None => answers.push(Pushdown::Unsupported),
        }
    }
    PushedFilters { answers, values }
}

/// The literals as the text sent to the API, when every one has a text form that reads back as
/// the column's type; duplicates removed.
fn request_texts(column: &Column, literals: &[Scalar]) -> Option<Vec<String>> {
    let mut texts: Vec<String> = Vec::new();
    for literal in literals {
        let text = scalar_text(literal)?;
        parse_cell(column, Cell::Text(&text)).ok()?;
        if !texts.contains(&text) {
            texts.push(text);
        }
    }
    Some(texts)
}

/// The splits of a scan: one per combination of the pushed values, each with its URL filled
/// and its filter parameters set. A placeholder without a value fails the scan, saying which
/// filter the query needs.
pub fn plan_splits(
    table: &TableDef,
    columns: &[Column],
    pushed: &PushedFilters,
) -> Result<Vec<SplitPayload>> {
    if let Some(missing) = table
        .url
        .placeholders()
        .into_iter()
        .find(|p| !pushed.values.contains_key(*p))
    {
        return Err(ConnectorError::unsupported(format!(
            "table \"{}\": its url needs a value for column \"{missing}\": add \
             `WHERE {missing} = value` (or `{missing} IN (…)`) to the query",
            table.name
        )));
    }
    let combinations = pushed
        .values
        .values()
        .try_fold(1usize, |n, v| n.checked_mul(v.len()))
        .filter(|n| *n <= MAX_SPLITS)
        .ok_or_else(|| {
            ConnectorError::unsupported(format!(
                "table \"{}\": the filters ask for more than {MAX_SPLITS} combinations of values \
                 (one request chain each)",
                table.name
            ))
        })?;
    let mut splits = Vec::with_capacity(combinations);
    for combination in 0..combinations {
        // The combination's value of each column, like digits of a mixed-radix number.
        let mut rest = combination;
        let mut fixed = Vec::with_capacity(pushed.values.len());
        for (column, values) in &pushed.values {
            fixed.push((column.clone(), values[rest % values.len()].clone()));
            rest /= values.len();
        }
        let placeholders: BTreeMap<String, String> = fixed.iter().cloned().collect();
        let mut url = table.url.fill(&placeholders).map_err(|reason| {
            ConnectorError::invalid_config(format!("table \"{}\": {reason}", table.name))
        })?;
        for (column, value) in &fixed {
            if let Some(param) = table.filters.get(column) {
                url = with_query_param(&url, param, value);
            }
        }
        splits.push(SplitPayload::new(url.to_string(), fixed, columns));
    }
    Ok(splits)
}

/// A literal as the text a URL carries; `None` for kinds that have none here (null, binary,
/// timestamps, non-finite floats).
pub fn scalar_text(scalar: &Scalar) -> Option<String> {
    match scalar {
        Scalar::Utf8(text) => Some(text.clone()),
        Scalar::Boolean(b) => Some(b.to_string()),
        Scalar::Int64(v) => Some(v.to_string()),
        Scalar::UInt64(v) => Some(v.to_string()),
        Scalar::Float64(v) if v.is_finite() => Some(v.to_string()),
        Scalar::Decimal128 { value, scale, .. } => decimal_text(*value, *scale),
        Scalar::Date32(days) => Some(date_text(*days)),
        _ => None,
    }
}

/// `12345` at scale 2 is `123.45`; a negative scale multiplies.
fn decimal_text(value: i128, scale: i8) -> Option<String> {
    if scale <= 0 {
        let factor = 10i128.checked_pow(u32::from(scale.unsigned_abs()))?;
        return value.checked_mul(factor).map(|v| v.to_string());
    }
    let scale = usize::from(scale.unsigned_abs());
    let digits = format!("{:0>width$}", value.unsigned_abs(), width = scale + 1);
    let (whole, fraction) = digits.split_at(digits.len() - scale);
    let sign = if value < 0 { "-" } else { "" };
    Some(format!("{sign}{whole}.{fraction}"))
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian; H. Hinnant's civil_from_days).
fn date_text(days: i32) -> String {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::table_def::parse_tables;

    fn table() -> (TableDef, Vec<Column>) {
        let mut tables = parse_tables(
            &json!({"items": {
                "url": "http://h/shops/{shop}/items",
                "columns": {"shop": "int64", "status": "utf8", "id": "int64", "day": "date"},
                "filters": {"status": "state", "day": "on"}
            }})
            .to_string(),
        )
        .unwrap();
        let table = tables.remove("items").unwrap();
        let columns = table.columns.clone().unwrap();
        (table, columns)
    }

    fn eq(column: u32, value: Scalar) -> Predicate {
        Expr::compare(column, CompareOp::Eq, value).into()
    }

    fn in_list(column: u32, values: Vec<Scalar>, negated: bool) -> Predicate {
        Expr::InList {
            column,
            values,
            negated,
        }
        .into()
    }

    #[test]
    fn equalities_and_in_lists_on_request_columns_are_exact() {
        let (table, columns) = table();
        let filters = vec![
            eq(0, Scalar::Int64(7)),
            in_list(
                1,
                vec![
                    Scalar::Utf8("open".into()),
                    Scalar::Utf8("held".into()),
                    Scalar::Utf8("open".into()),
                ],
                false,
            ),
            eq(2, Scalar::Int64(1)),
            Expr::compare(0, CompareOp::Gt, Scalar::Int64(1)).into(),
            in_list(1, vec![Scalar::Utf8("x".into())], true),
            eq(1, Scalar::Utf8("again".into())),
            eq(3, Scalar::Date32(19_723)),
        ];
        let pushed = push_filters(&table, &columns, &filters);
        use Pushdown::*;
        assert_eq!(
            pushed.answers,
            vec![
                Exact,
                Exact,
                Unsupported,
                Unsupported,
                Unsupported,
                Unsupported,
                Exact
            ]
        );
        assert_eq!(pushed.values["status"], vec!["open", "held"]);
        assert_eq!(pushed.values["day"], vec!["2024-01-01"]);

        let splits = plan_splits(&table, &columns, &pushed).unwrap();
        let urls: Vec<&str> = splits.iter().map(|s| s.url.as_str()).collect();
        assert_eq!(
            urls,
            vec![
                "http://h/shops/7/items?on=2024-01-01&state=open",
                "http://h/shops/7/items?on=2024-01-01&state=held",
            ]
        );
        assert_eq!(
            splits[1].fixed,
            vec![
                ("day".to_owned(), "2024-01-01".to_owned()),
                ("shop".to_owned(), "7".to_owned()),
                ("status".to_owned(), "held".to_owned()),
            ]
        );
        assert_eq!(splits[0].columns().unwrap(), columns);
    }

    #[test]
    fn a_placeholder_without_a_value_names_the_filter_the_query_needs() {
        let (table, columns) = table();
        let pushed = push_filters(&table, &columns, &[eq(1, Scalar::Utf8("open".into()))]);
        let err = plan_splits(&table, &columns, &pushed).unwrap_err();
        assert_eq!(
            err.message,
            "table \"items\": its url needs a value for column \"shop\": add `WHERE shop = \
             value` (or `shop IN (…)`) to the query"
        );
        // A literal that cannot fill the placeholder (a string for an int64 column) is not
        // pushed, so the same error follows.
        let pushed = push_filters(&table, &columns, &[eq(0, Scalar::Utf8("seven".into()))]);
        assert_eq!(pushed.answers, vec![Pushdown::Unsupported]);
        assert!(plan_splits(&table, &columns, &pushed).is_err());
    }

    #[test]
    fn an_empty_in_list_plans_nothing_and_too_many_combinations_fail() {
        let (table, columns) = table();
        let pushed = push_filters(&table, &columns, &[in_list(0, vec![], false)]);
        assert_eq!(pushed.answers, vec![Pushdown::Exact]);
        assert!(plan_splits(&table, &columns, &pushed).unwrap().is_empty());

        let many = |n: i64| (0..n).map(Scalar::Int64).collect::<Vec<_>>();
        let days = (0..40).map(Scalar::Date32).collect::<Vec<_>>();
        let pushed = push_filters(
            &table,
            &columns,
            &[in_list(0, many(30), false), in_list(3, days, false)],
        );
        let err = plan_splits(&table, &columns, &pushed).unwrap_err();
        assert!(err.message.contains("more than 1000"), "{err}");
    }

    #[test]
    fn literals_have_url_text() {
        let text = |s: Scalar| scalar_text(&s);
        assert_eq!(text(Scalar::Int64(-3)).as_deref(), Some("-3"));
        assert_eq!(text(Scalar::Boolean(true)).as_deref(), Some("true"));
        assert_eq!(text(Scalar::Float64(1.5)).as_deref(), Some("1.5"));
        assert_eq!(text(Scalar::Float64(f64::NAN)), None);
        let dec = |value, scale| Scalar::Decimal128 {
            value,
            precision: 10,
            scale,
        };
        assert_eq!(text(dec(12345, 2)).as_deref(), Some("123.45"));
        assert_eq!(text(dec(-5, 3)).as_deref(), Some("-0.005"));
        assert_eq!(text(dec(12, -2)).as_deref(), Some("1200"));
        assert_eq!(text(Scalar::Date32(0)).as_deref(), Some("1970-01-01"));
        assert_eq!(text(Scalar::Date32(-1)).as_deref(), Some("1969-12-31"));
        assert_eq!(text(Scalar::Date32(11_016)).as_deref(), Some("2000-02-29"));
        assert_eq!(text(Scalar::Null), None);
        assert_eq!(text(Scalar::TimestampMicros(0)), None);
    }
}
