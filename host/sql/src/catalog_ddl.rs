//! Catalog DDL in Trino's syntax, parsed into a typed [`CatalogDdl`].
//!
//! ```sql
//! CREATE CATALOG name USING plugin [WITH ("key" = 'value', key = 'value', ...)]
//! ALTER CATALOG name SET PROPERTIES "key" = 'value', ...
//! DROP CATALOG [IF EXISTS] name
//! SHOW CATALOGS
//! SHOW SCHEMAS FROM catalog
//! SHOW TABLES FROM catalog.schema
//! ```
//!
//! Identifiers are bare (folded to lower case, as SQL does) or double-quoted (kept as written,
//! `""` for a quote); property values are single-quoted strings (`''` for a quote). A trailing
//! `;` is allowed. [`parse`] returns `Ok(None)` for any other statement, so the caller hands it
//! to DataFusion; `SHOW TABLES` without `FROM` is DataFusion's own.

use crate::error::{Error, Result};

/// One catalog statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogDdl {
    Create {
        name: String,
        plugin: String,
        properties: Vec<(String, String)>,
    },
    Alter {
        name: String,
        properties: Vec<(String, String)>,
    },
    Drop {
        name: String,
        if_exists: bool,
    },
    ShowCatalogs,
    ShowSchemas {
        catalog: String,
    },
    ShowTables {
        catalog: String,
        schema: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word, as written.
    Word(String),
    /// A double-quoted identifier, unquoted.
    Quoted(String),
    /// A single-quoted string, unquoted.
    Str(String),
    Punct(char),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("`{w}`"),
            Token::Quoted(q) => format!("\"{q}\""),
            Token::Str(s) => format!("'{s}'"),
            Token::Punct(c) => format!("`{c}`"),
        }
    }
}

fn tokenize(sql: &str) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '-' && sql_comment_follows(&mut chars.clone()) {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
        } else if c.is_alphanumeric() || c == '_' {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_alphanumeric() || c == '_' || c == '$' {
                    word.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(Token::Word(word));
        } else if c == '"' || c == '\'' {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    Some(q) if q == c => {
                        if chars.peek() == Some(&c) {
                            text.push(c);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    Some(other) => text.push(other),
                    None => {
                        return Err(Error::Ddl(format!(
                            "unterminated {} starting {c}{text}",
                            if c == '"' { "identifier" } else { "string" }
                        )));
                    }
                }
            }
            tokens.push(if c == '"' {
                Token::Quoted(text)
            } else {
                Token::Str(text)
            });
        } else {
            tokens.push(Token::Punct(c));
            chars.next();
        }
    }
    Ok(tokens)
}

/// Whether the first two words are those of a catalog statement.
fn starts_like_catalog_ddl(sql: &str) -> bool {
    let mut words = sql.split_whitespace().map(str::to_ascii_lowercase);
    matches!(
        (words.next().as_deref(), words.next().as_deref()),
        (Some("create" | "alter" | "drop"), Some("catalog"))
            | (Some("show"), Some("catalogs" | "schemas" | "tables"))
    )
}

fn sql_comment_follows(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    chars.next();
    chars.peek() == Some(&'-')
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword_at(&self, offset: usize, kw: &str) -> bool {
        matches!(self.tokens.get(self.pos + offset), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        let yes = self.keyword_at(0, kw);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<()> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{}`", kw.to_ascii_uppercase())))
        }
    }

    fn eat_punct(&mut self, p: char) -> bool {
        let yes = self.peek() == Some(&Token::Punct(p));
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect_punct(&mut self, p: char) -> Result<()> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{p}`")))
        }
    }

    fn unexpected(&self, wanted: &str) -> Error {
        match self.peek() {
            Some(t) => Error::Ddl(format!("expected {wanted}, found {}", t.describe())),
            None => Error::Ddl(format!("expected {wanted}, found the end of the statement")),
        }
    }

    fn identifier(&mut self, what: &str) -> Result<String> {
        match self.peek() {
            Some(Token::Word(w)) => {
                let w = w.to_lowercase();
                self.pos += 1;
                Ok(w)
            }
            Some(Token::Quoted(q)) if !q.is_empty() => {
                let q = q.clone();
                self.pos += 1;
                Ok(q)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn string(&mut self, what: &str) -> Result<String> {
        match self.peek() {
            Some(Token::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// `key = 'value' [, ...]`, no key twice.
    fn properties(&mut self) -> Result<Vec<(String, String)>> {
        let mut properties: Vec<(String, String)> = Vec::new();
        loop {
            let key = self.identifier("a property name")?;
            self.expect_punct('=')?;
            let value = self.string(&format!("a single-quoted value for property \"{key}\""))?;
            if properties.iter().any(|(k, _)| *k == key) {
                return Err(Error::Ddl(format!("property \"{key}\" is given twice")));
            }
            properties.push((key, value));
            if !self.eat_punct(',') {
                return Ok(properties);
            }
        }
    }

    fn end(&mut self) -> Result<()> {
        self.eat_punct(';');
        match self.next() {
            None => Ok(()),
            Some(t) => Err(Error::Ddl(format!(
                "unexpected {} after the end of the statement",
                t.describe()
            ))),
        }
    }
}

/// `sql` fit for a log: in `CREATE` and `ALTER CATALOG` every single-quoted value (where a
/// literal password would be) becomes `'***'`; any other statement is returned as it is.
pub fn redacted(sql: &str) -> String {
    let mut words = sql.split_whitespace().map(str::to_ascii_lowercase);
    let is_property_ddl = matches!(
        (words.next().as_deref(), words.next().as_deref()),
        (Some("create" | "alter"), Some("catalog"))
    );
    if !is_property_ddl {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            out.push(c);
            continue;
        }
        // A quoted value: skip to its closing quote (`''` is a quote inside it).
        while let Some(inner) = chars.next() {
            if inner == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    break;
                }
            }
        }
        out.push_str("'***'");
    }
    out
}

/// Parses `sql` if it is a catalog statement; `Ok(None)` if it is any other statement.
pub fn parse(sql: &str) -> Result<Option<CatalogDdl>> {
    let tokens = match tokenize(sql) {
        Ok(tokens) => tokens,
        Err(e) if starts_like_catalog_ddl(sql) => return Err(e),
        // Not ours: DataFusion reports its own syntax errors.
        Err(_) => return Ok(None),
    };
    let mut p = Parser { tokens, pos: 0 };
    let is = |p: &Parser, a: &str, b: &str| p.keyword_at(0, a) && p.keyword_at(1, b);
    let ddl = if is(&p, "create", "catalog") {
        p.pos += 2;
        let name = p.identifier("a catalog name")?;
        p.expect_keyword("using")?;
        let plugin = p.identifier("a plugin name")?;
        let properties = if p.eat_keyword("with") {
            p.expect_punct('(')?;
            if p.eat_punct(')') {
                Vec::new()
            } else {
                let props = p.properties()?;
                p.expect_punct(')')?;
                props
            }
        } else {
            Vec::new()
        };
        CatalogDdl::Create {
            name,
            plugin,
            properties,
        }
    } else if is(&p, "alter", "catalog") {
        p.pos += 2;
        let name = p.identifier("a catalog name")?;
        p.expect_keyword("set")?;
        p.expect_keyword("properties")?;
        let parenthesized = p.eat_punct('(');
        let properties = p.properties()?;
        if parenthesized {
            p.expect_punct(')')?;
        }
        CatalogDdl::Alter { name, properties }
    } else if is(&p, "drop", "catalog") {
        p.pos += 2;
        let if_exists = p.keyword_at(0, "if") && p.keyword_at(1, "exists");
        if if_exists {
            p.pos += 2;
        }
        let name = p.identifier("a catalog name")?;
        CatalogDdl::Drop { name, if_exists }
    } else if is(&p, "show", "catalogs") {
        p.pos += 2;
        CatalogDdl::ShowCatalogs
    } else if is(&p, "show", "schemas") {
        p.pos += 2;
        if !(p.eat_keyword("from") || p.eat_keyword("in")) {
            return Err(p.unexpected("`FROM catalog`"));
        }
        let catalog = p.identifier("a catalog name")?;
        CatalogDdl::ShowSchemas { catalog }
    } else if is(&p, "show", "tables") && (p.keyword_at(2, "from") || p.keyword_at(2, "in")) {
        p.pos += 3;
        let catalog = p.identifier("a catalog name")?;
        p.expect_punct('.')?;
        let schema = p.identifier("a schema name")?;
        CatalogDdl::ShowTables { catalog, schema }
    } else {
        return Ok(None);
    };
    p.end()?;
    Ok(Some(ddl))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(sql: &str) -> CatalogDdl {
        parse(sql).unwrap().unwrap()
    }

    fn err(sql: &str) -> String {
        parse(sql).unwrap_err().to_string()
    }

    #[test]
    fn create_with_quoted_and_bare_keys() {
        assert_eq!(
            ok(
                "CREATE CATALOG Sales USING postgres WITH (\"Host\" = 'db', port = '5432', \"x\" = 'it''s');"
            ),
            CatalogDdl::Create {
                name: "sales".into(),
                plugin: "postgres".into(),
                properties: vec![
                    ("Host".into(), "db".into()),
                    ("port".into(), "5432".into()),
                    ("x".into(), "it's".into()),
                ],
            }
        );
        assert_eq!(
            ok("create catalog \"My Cat\" using \"tpch@0.1.0\""),
            CatalogDdl::Create {
                name: "My Cat".into(),
                plugin: "tpch@0.1.0".into(),
                properties: vec![],
            }
        );
    }

    #[test]
    fn alter_drop_and_show() {
        assert_eq!(
            ok("ALTER CATALOG tpch SET PROPERTIES splits = '4', \"a\" = ''"),
            CatalogDdl::Alter {
                name: "tpch".into(),
                properties: vec![("splits".into(), "4".into()), ("a".into(), String::new())],
            }
        );
        assert_eq!(
            ok("DROP CATALOG IF EXISTS tpch"),
            CatalogDdl::Drop {
                name: "tpch".into(),
                if_exists: true
            }
        );
        assert_eq!(
            ok("drop catalog tpch;"),
            CatalogDdl::Drop {
                name: "tpch".into(),
                if_exists: false
            }
        );
        assert_eq!(ok("  SHOW CATALOGS ; "), CatalogDdl::ShowCatalogs);
        assert_eq!(
            ok("SHOW SCHEMAS FROM tpch"),
            CatalogDdl::ShowSchemas {
                catalog: "tpch".into()
            }
        );
        assert_eq!(
            ok("SHOW TABLES IN tpch.\"Tiny\""),
            CatalogDdl::ShowTables {
                catalog: "tpch".into(),
                schema: "Tiny".into()
            }
        );
    }

    #[test]
    fn other_statements_are_not_ours() {
        for sql in [
            "SELECT 1",
            "select * from tpch.tiny.nation where n_name = 'x'",
            "SHOW TABLES",
            "CREATE TABLE t (a int)",
            "DROP TABLE t",
            "select 1.5 + 2",
        ] {
            assert_eq!(parse(sql).unwrap(), None, "{sql}");
        }
    }

    #[test]
    fn errors_name_what_was_expected() {
        assert_eq!(
            err("CREATE CATALOG x WITH (a = 'b')"),
            "catalog ddl: expected `USING`, found `WITH`"
        );
        assert_eq!(
            err("CREATE CATALOG x USING p WITH (a = 5)"),
            "catalog ddl: expected a single-quoted value for property \"a\", found `5`"
        );
        assert_eq!(
            err("CREATE CATALOG x USING p WITH (a = 'b', a = 'c')"),
            "catalog ddl: property \"a\" is given twice"
        );
        assert_eq!(
            err("DROP CATALOG"),
            "catalog ddl: expected a catalog name, found the end of the statement"
        );
        assert_eq!(
            err("SHOW TABLES FROM tpch"),
            "catalog ddl: expected `.`, found the end of the statement"
        );
        assert_eq!(
            err("SHOW CATALOGS extra"),
            "catalog ddl: unexpected `extra` after the end of the statement"
        );
        assert_eq!(
            err("ALTER CATALOG x SET PROPERTIES a = 'unterminated"),
            "catalog ddl: unterminated string starting 'unterminated"
        );
        assert_eq!(parse("select 'unterminated").unwrap(), None);
    }

    #[test]
    fn property_values_are_redacted_for_logs() {
        assert_eq!(
            redacted(
                "CREATE CATALOG pg USING postgres WITH (\"password\" = 'it''s s3cret', host = 'db')"
            ),
            "CREATE CATALOG pg USING postgres WITH (\"password\" = '***', host = '***')"
        );
        assert_eq!(
            redacted("alter catalog pg set properties password = 'x'"),
            "alter catalog pg set properties password = '***'"
        );
        assert_eq!(redacted("SELECT 'a' FROM t"), "SELECT 'a' FROM t");
    }
}
