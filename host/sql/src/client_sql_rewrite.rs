//! The rewrites PostgreSQL clients' introspection queries need before DataFusion can plan them:
//! `x = ANY (ARRAY[…])`, `'t'::regclass`, `pg_catalog.`-qualified functions, unqualified
//! `pg_class`, `COLLATE`, `OPERATOR(pg_catalog.~)` and the like (`datafusion-pg-catalog`'s rules).
//!
//! Only a statement that names PostgreSQL's catalog (a `pg_catalog` relation or function, or an
//! oid-alias type such as `regclass`) is rewritten. Some of those rules answer approximately (a
//! correlated subquery in a select list becomes NULL), which a catalog browser tolerates and a
//! query over data must never get: every other statement is planned exactly as written.

use std::borrow::Cow;
use std::sync::OnceLock;

use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
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
    match parser.parse(sql) {
        Ok(statements) if statements.len() == 1 => Cow::Owned(statements[0].to_string()),
        _ => Cow::Borrowed(sql),
    }
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
}
