//! Filters of a scan request as SQL for PostgreSQL's `WHERE`, each with how far PostgreSQL's
//! semantics match the engine's.
//!
//! `exact` is claimed only where PostgreSQL returns exactly the rows the engine would keep:
//! comparisons and `IN` on integers, numerics, booleans, dates, timestamps and bytea; `=`, `<>`
//! and `IN` on text (byte equality under any deterministic collation); floats against a finite,
//! non-zero literal (PostgreSQL has -0 = 0 where Arrow orders -0 first; NaNs are read as
//! positive NaN, which both order above every number); `IS [NOT] NULL` on every column.
//!
//! `inexact` (the engine re-checks every row) is used only where PostgreSQL's answer is a
//! superset of the engine's: `<`, `<=`, `>`, `>=` on text are sent with `COLLATE "C"` (byte
//! order, the engine's order) but still re-checked, and `=` / `IN` on char(n), which
//! PostgreSQL compares ignoring trailing blanks. Everything else is `unsupported` and not sent:
//! `<>` and ranges on char(n), NULL literals, literals of another type than the column.
//! An `AND` whose parts are partly supported sends the supported parts, inexact; `OR` and
//! `NOT` need every part supported (and `NOT` an exact part).

use postgres_protocol::escape::escape_identifier;
use quarry_sdk::predicate::Expr;
use quarry_sdk::{CompareOp, Predicate, Pushdown, Scalar};

use crate::sql::{column_expr, literal};
use crate::types::{ColumnDef, PgKind};

/// A filter translated to SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub sql: String,
    pub exact: bool,
}

/// The filters of a request: SQL for those PostgreSQL applies, and the answer for each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushedFilters {
    pub sql: Vec<String>,
    pub answers: Vec<Pushdown>,
}

impl PushedFilters {
    /// Whether every filter is applied exactly, so a limit may be applied by PostgreSQL too.
    pub fn all_exact(&self) -> bool {
        self.answers.iter().all(|a| *a == Pushdown::Exact)
    }
}

/// Translates each filter against the table's mapped `columns`.
pub fn push_filters(filters: &[Predicate], columns: &[ColumnDef]) -> PushedFilters {
    let mut pushed = PushedFilters::default();
    for filter in filters {
        let translated = filter
            .to_expr()
            .ok()
            .and_then(|expr| translate(&expr, columns));
        match translated {
            Some(t) => {
                pushed.sql.push(t.sql);
                pushed.answers.push(if t.exact {
                    Pushdown::Exact
                } else {
                    Pushdown::Inexact
                });
            }
            None => pushed.answers.push(Pushdown::Unsupported),
        }
    }
    pushed
}

/// One filter as SQL, or `None` when PostgreSQL cannot apply it faithfully.
pub fn translate(expr: &Expr, columns: &[ColumnDef]) -> Option<Translated> {
    match expr {
        Expr::Compare { column, op, value } => {
            let column = columns.get(usize::try_from(*column).ok()?)?;
            compare(column, *op, value)
        }
        Expr::InList {
            column,
            values,
            negated,
        } => {
            let column = columns.get(usize::try_from(*column).ok()?)?;
            in_list(column, values, *negated)
        }
        Expr::IsNull(column) | Expr::IsNotNull(column) => {
            let column = columns.get(usize::try_from(*column).ok()?)?;
            let test = if matches!(expr, Expr::IsNull(_)) {
                "IS NULL"
            } else {
                "IS NOT NULL"
            };
            Some(Translated {
                sql: format!("{} {test}", escape_identifier(&column.name)),
                exact: true,
            })
        }
        Expr::And(parts) => {
            let translated: Vec<Option<Translated>> =
                parts.iter().map(|p| translate(p, columns)).collect();
            let all = translated.iter().all(Option::is_some);
            let kept: Vec<Translated> = translated.into_iter().flatten().collect();
            if kept.is_empty() {
                return None;
            }
            Some(Translated {
                exact: all && kept.iter().all(|t| t.exact),
                sql: join(&kept, "AND"),
            })
        }
        Expr::Or(parts) => {
            let kept = parts
                .iter()
                .map(|p| translate(p, columns))
                .collect::<Option<Vec<_>>>()?;
            if kept.is_empty() {
                return None;
            }
            Some(Translated {
                exact: kept.iter().all(|t| t.exact),
                sql: join(&kept, "OR"),
            })
        }
        Expr::Not(inner) => {
            let inner = translate(inner, columns)?;
            inner.exact.then(|| Translated {
                sql: format!("NOT ({})", inner.sql),
                exact: true,
            })
        }
    }
}

fn join(parts: &[Translated], connective: &str) -> String {
    parts
        .iter()
        .map(|t| format!("({})", t.sql))
        .collect::<Vec<_>>()
        .join(&format!(" {connective} "))
}

fn operator(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
    }
}

/// `column op literal`.
fn compare(column: &ColumnDef, op: CompareOp, value: &Scalar) -> Option<Translated> {
    let lit = literal(column, value)?;
    let expr = column_expr(column);
    let equality = matches!(op, CompareOp::Eq | CompareOp::Ne);
    let (sql, exact) = match column.kind {
        PgKind::Text if equality => (format!("{expr} {} {lit}", operator(op)), true),
        PgKind::Text => (
            format!("{expr} COLLATE \"C\" {} {lit}", operator(op)),
            false,
        ),
        PgKind::Bpchar if op == CompareOp::Eq => (format!("{expr} = {lit}"), false),
        PgKind::Bpchar => return None,
        _ => (format!("{expr} {} {lit}", operator(op)), true),
    };
    Some(Translated { sql, exact })
}

/// `column [NOT] IN (literals)`.
fn in_list(column: &ColumnDef, values: &[Scalar], negated: bool) -> Option<Translated> {
    if values.is_empty() || (negated && column.kind == PgKind::Bpchar) {
        return None;
    }
    let literals = values
        .iter()
        .map(|v| literal(column, v))
        .collect::<Option<Vec<_>>>()?;
    let not = if negated { "NOT " } else { "" };
    Some(Translated {
        sql: format!("{} {not}IN ({})", column_expr(column), literals.join(", ")),
        exact: column.kind != PgKind::Bpchar,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, kind: PgKind) -> ColumnDef {
        ColumnDef::nullable(name, kind)
    }

    fn columns() -> Vec<ColumnDef> {
        vec![
            column("id", PgKind::Int8),
            column("name", PgKind::Text),
            column("code", PgKind::Bpchar),
            column("score", PgKind::Float8),
            column("day", PgKind::Date),
        ]
    }

    fn text(s: &str) -> Scalar {
        Scalar::Utf8(s.to_owned())
    }

    fn one(expr: Expr) -> Option<Translated> {
        translate(&expr, &columns())
    }

    #[test]
    fn comparisons_are_exact_where_semantics_match() {
        let t = one(Expr::compare(0, CompareOp::Ge, Scalar::Int64(10))).unwrap();
        assert_eq!((t.sql.as_str(), t.exact), ("\"id\" >= 10", true));
        let t = one(Expr::compare(1, CompareOp::Eq, text("o'neil"))).unwrap();
        assert_eq!((t.sql.as_str(), t.exact), ("\"name\" = 'o''neil'", true));
        let t = one(Expr::compare(1, CompareOp::Lt, text("m"))).unwrap();
        assert_eq!(
            (t.sql.as_str(), t.exact),
            ("\"name\" COLLATE \"C\" < 'm'", false)
        );
        let t = one(Expr::compare(2, CompareOp::Eq, text("ab"))).unwrap();
        assert_eq!((t.sql.as_str(), t.exact), ("\"code\" = 'ab'", false));
        assert_eq!(one(Expr::compare(2, CompareOp::Ne, text("ab"))), None);
        let t = one(Expr::compare(3, CompareOp::Gt, Scalar::Float64(2.5))).unwrap();
        assert_eq!(
            (t.sql.as_str(), t.exact),
            ("\"score\" > '2.5e0'::float8", true)
        );
        assert_eq!(
            one(Expr::compare(3, CompareOp::Gt, Scalar::Float64(0.0))),
            None
        );
        let t = one(Expr::compare(4, CompareOp::Lt, Scalar::Date32(0))).unwrap();
        assert_eq!(
            (t.sql.as_str(), t.exact),
            ("\"day\" < DATE '1970-01-01'", true)
        );
        // A literal of another type, a NULL, a column that is not there: not pushed.
        assert_eq!(one(Expr::compare(0, CompareOp::Eq, text("1"))), None);
        assert_eq!(one(Expr::compare(0, CompareOp::Eq, Scalar::Null)), None);
        assert_eq!(one(Expr::compare(9, CompareOp::Eq, Scalar::Int64(1))), None);
    }

    #[test]
    fn lists_nulls_and_connectives() {
        let t = one(Expr::InList {
            column: 1,
            values: vec![text("a"), text("b")],
            negated: true,
        })
        .unwrap();
        assert_eq!(
            (t.sql.as_str(), t.exact),
            ("\"name\" NOT IN ('a', 'b')", true)
        );
        let t = one(Expr::IsNull(3)).unwrap();
        assert_eq!((t.sql.as_str(), t.exact), ("\"score\" IS NULL", true));

        // AND keeps its supported parts, inexact.
        let and = Expr::And(vec![
            Expr::compare(0, CompareOp::Gt, Scalar::Int64(1)),
            Expr::compare(0, CompareOp::Eq, text("x")),
        ]);
        let t = one(and).unwrap();
        assert_eq!((t.sql.as_str(), t.exact), ("(\"id\" > 1)", false));
        // OR needs all parts.
        let or = Expr::Or(vec![
            Expr::compare(0, CompareOp::Lt, Scalar::Int64(1)),
            Expr::compare(0, CompareOp::Eq, text("x")),
        ]);
        assert_eq!(one(or), None);
        let or = Expr::Or(vec![
            Expr::compare(0, CompareOp::Lt, Scalar::Int64(1)),
            Expr::IsNotNull(4),
        ]);
        let t = one(or).unwrap();
        assert_eq!(
            (t.sql.as_str(), t.exact),
            ("(\"id\" < 1) OR (\"day\" IS NOT NULL)", true)
        );
        // NOT only over an exact part.
        let t = one(Expr::Not(Box::new(Expr::IsNull(0)))).unwrap();
        assert_eq!((t.sql.as_str(), t.exact), ("NOT (\"id\" IS NULL)", true));
        let inexact = Expr::compare(1, CompareOp::Lt, text("m"));
        assert_eq!(one(Expr::Not(Box::new(inexact))), None);
    }

    #[test]
    fn each_filter_gets_an_answer_and_the_limit_needs_all_exact() {
        let filters = vec![
            Predicate::from(Expr::compare(0, CompareOp::Eq, Scalar::Int64(1))),
            Predicate::from(Expr::compare(1, CompareOp::Gt, text("a"))),
            Predicate::from(Expr::compare(0, CompareOp::Eq, Scalar::Null)),
        ];
        let pushed = push_filters(&filters, &columns());
        assert_eq!(
            pushed.answers,
            [Pushdown::Exact, Pushdown::Inexact, Pushdown::Unsupported]
        );
        assert_eq!(pushed.sql.len(), 2);
        assert!(!pushed.all_exact());
        assert!(push_filters(&filters[..1], &columns()).all_exact());
    }
}
