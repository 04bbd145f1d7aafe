//! The rewrites PostgreSQL clients' introspection queries need before DataFusion can plan them:
//! `x = ANY (ARRAY[…])`, `'t'::regclass`, `pg_catalog.`-qualified functions, unqualified
//! `pg_class`, `COLLATE`, `OPERATOR(pg_catalog.~)` and the like (`datafusion-pg-catalog`'s rules).
//!
//! Only a statement that names PostgreSQL's catalog (a `pg_catalog` relation or function, or an
//! oid-alias type such as `regclass`) is rewritten. Some of those rules answer approximately (a
//! correlated subquery in a select list becomes NULL), which a catalog browser tolerates and a
//! query over data must never get: every other statement is planned exactly as written.
//!
//! One rule of our own runs first: a function name cast to `regproc` (`'pg_catalog.array_in'::
//! regproc`, which the JDBC driver compares with `pg_type.typinput` to look up a type) becomes
//! the bare name, because `datafusion-pg-catalog` keeps its `regproc` columns as function names;
//! its own rule would turn the cast into an oid, which never equals a name.

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use datafusion::sql::sqlparser::ast::{
    DataType, Expr, Value, ValueWithSpan, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use datafusion_pg_catalog::pg_catalog::PG_CATALOG_TABLES;
use datafusion_pg_catalog::pg_catalog::oid_field::{OID_ALIAS_TYPE_NAMES, kind};
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;

/// `sql` as DataFusion should plan it: rewritten when it names PostgreSQL's catalog, otherwise
/// as it is. A statement the PostgreSQL parser cannot read, or that holds several statements, is
/// left as it is, for the engine to report.
pub fn rewrite_client_sql(sql: &str) -> Cow<'_, str> {
    if !names_pg_catalog(sql) {
        return Cow::Borrowed(sql);
    }
    static PARSER: OnceLock<PostgresCompatibilityParser> = OnceLock::new();
    let parser = PARSER.get_or_init(PostgresCompatibilityParser::new);
    let sql = regproc_casts_to_names(sql);
    match parser.parse(&sql) {
        Ok(statements) if statements.len() == 1 => Cow::Owned(statements[0].to_string()),
        _ => sql,
    }
}

/// `sql` with every string cast to `regproc` (`'pg_catalog.array_in'::regproc`) replaced by the
/// function's unqualified name (`'array_in'`), as `datafusion-pg-catalog`'s `regproc` columns
/// (`pg_type.typinput`, `pg_aggregate.aggfnoid`, …) hold it. Unchanged, and not reformatted
/// (the library matches some whole client queries by their tokens), when it has no such cast.
fn regproc_casts_to_names(sql: &str) -> Cow<'_, str> {
    let Ok(mut statements) = Parser::parse_sql(&PostgreSqlDialect {}, sql) else {
        return Cow::Borrowed(sql);
    };
    let mut replaced = false;
    for statement in &mut statements {
        let _ = visit_expressions_mut(statement, |expr| {
            if let Expr::Cast {
                expr: operand,
                data_type,
                ..
            } = expr
                && is_regproc(data_type)
                && let Expr::Value(ValueWithSpan {
                    value: Value::SingleQuotedString(name),
                    ..
                }) = operand.as_ref()
            {
                let name = name.strip_prefix("pg_catalog.").unwrap_or(name).to_owned();
                *expr = Expr::value(Value::SingleQuotedString(name));
                replaced = true;
            }
            ControlFlow::<()>::Continue(())
        });
    }
    match (replaced, statements.as_slice()) {
        (true, [statement]) => Cow::Owned(statement.to_string()),
        _ => Cow::Borrowed(sql),
    }
}

/// `regproc` or `pg_catalog.regproc`, in any case.
fn is_regproc(data_type: &DataType) -> bool {
    let name = data_type.to_string().to_ascii_lowercase();
    name.strip_prefix("pg_catalog.").unwrap_or(&name) == "regproc"
}

/// Whether a word of `sql` (not a string literal or a quoted name) is `pg_catalog`, a
/// `pg_catalog` table or an oid-alias type.
fn names_pg_catalog(sql: &str) -> bool {
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else {
        return false;
    };
    tokens.iter().any(|token| match token {
        Token::Word(word) if word.quote_style.is_none() => {
            let word = word.value.to_ascii_lowercase();
            // The oid-alias types (`regclass`, …) but not `oid`, which user tables may name a
            // column.
            word == "pg_catalog"
                || PG_CATALOG_TABLES.contains(&word.as_str())
                || (word != kind::OID && OID_ALIAS_TYPE_NAMES.contains(&word.as_str()))
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_queries_are_rewritten_and_others_are_not() {
        let sql =
            "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relkind = ANY (ARRAY['r', 'v'])";
        let rewritten = rewrite_client_sql(sql);
        assert!(matches!(rewritten, Cow::Owned(_)), "{rewritten}");
        assert!(!rewritten.contains("ANY"), "{rewritten}");

        let cast = rewrite_client_sql("SELECT 'tpch.tiny.nation'::regclass");
        assert!(matches!(cast, Cow::Owned(_)), "{cast}");

        // A query over data keeps its correlated subquery, which a catalog rule would drop.
        let data = "SELECT o.id, (SELECT max(l.x) FROM c.s.l l WHERE l.id = o.id) FROM c.s.o o";
        assert!(matches!(rewrite_client_sql(data), Cow::Borrowed(s) if s == data));
        // A name in a string is not a catalog reference.
        let text = "SELECT 'pg_class' AS name";
        assert!(matches!(rewrite_client_sql(text), Cow::Borrowed(_)));
        // What the PostgreSQL parser cannot read is left for the engine to report.
        let ddl = "CREATE CATALOG x USING tpch WITH (pg_class = '1')";
        assert_eq!(rewrite_client_sql(ddl), ddl);
    }

    #[test]
    fn a_name_cast_to_regproc_is_the_name_regproc_columns_hold() {
        // The JDBC driver's type lookup (TypeInfoCache) for a type it does not know.
        let sql = "SELECT typinput='pg_catalog.array_in'::regproc as is_array, typname \
                   FROM pg_catalog.pg_type WHERE pg_type.oid = $1";
        let rewritten = rewrite_client_sql(sql);
        assert!(rewritten.contains("typinput = 'array_in'"), "{rewritten}");
        assert!(!rewritten.to_lowercase().contains("regproc"), "{rewritten}");

        assert_eq!(
            regproc_casts_to_names("SELECT 'textin'::pg_catalog.regproc"),
            "SELECT 'textin'"
        );
        // Other casts, and a statement without one, are left as they are, formatting and all.
        let regclass = "SELECT  'pg_class'::regclass";
        assert!(matches!(regproc_casts_to_names(regclass), Cow::Borrowed(s) if s == regclass));
        let column = "SELECT typinput::regproc FROM pg_catalog.pg_type";
        assert!(matches!(regproc_casts_to_names(column), Cow::Borrowed(_)));
    }
}
