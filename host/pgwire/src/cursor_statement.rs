//! The cursor statements, read with sqlparser's PostgreSQL tokenizer (so quoting and comments
//! follow PostgreSQL's rules):
//!
//! - `DECLARE name [ASENSITIVE | INSENSITIVE] [NO SCROLL] CURSOR [WITH | WITHOUT HOLD] FOR
//!   query`: the query is kept as the client wrote it;
//! - `FETCH` and `MOVE [direction] [FROM | IN] name`, where direction is `NEXT`, `count`,
//!   `ALL`, `FORWARD`, `FORWARD count` or `FORWARD ALL`;
//! - `CLOSE name | ALL`.
//!
//! Cursors only go forward: `SCROLL` and the backward or absolute directions are refused by
//! name, as is anything else this module does not know. So is `BINARY`: a client asks for
//! binary rows through the protocol's result formats instead, which Describe then reports
//! truthfully.

use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, Word};

use crate::{StatementError, StatementErrorCode};

/// A cursor statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CursorStatement {
    Declare(CursorDeclaration),
    /// `FETCH` (rows sent) or `MOVE` (rows skipped, only counted).
    Fetch {
        cursor: String,
        count: FetchCount,
        move_only: bool,
    },
    /// `CLOSE name`, or `CLOSE ALL` (`None`).
    Close(Option<String>),
}

/// What `DECLARE` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CursorDeclaration {
    pub(crate) name: String,
    /// The query after `FOR`, as written.
    pub(crate) query: String,
    /// `WITH HOLD`: the cursor outlives the transaction.
    pub(crate) hold: bool,
}

/// How many rows a `FETCH` or `MOVE` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FetchCount {
    Rows(u64),
    All,
}

impl FetchCount {
    /// Whether `taken` rows are all this count asks for.
    pub(crate) fn satisfied_by(self, taken: u64) -> bool {
        match self {
            FetchCount::Rows(count) => taken >= count,
            FetchCount::All => false,
        }
    }
}

impl CursorStatement {
    /// `sql` as a cursor statement; `None` when it is not one, an error when it is one this
    /// front end does not support or cannot read.
    pub(crate) fn recognize(sql: &str) -> Option<Result<CursorStatement, StatementError>> {
        let first = sql.split_whitespace().next()?.to_ascii_lowercase();
        let first = first.trim_end_matches(';');
        if !matches!(first, "declare" | "fetch" | "move" | "close") {
            return None;
        }
        let tokens = match Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location() {
            Ok(tokens) => tokens,
            Err(error) => {
                return Some(Err(syntax(format!(
                    "cannot read the {} statement: {error}",
                    first.to_ascii_uppercase()
                ))));
            }
        };
        let mut words = Words::new(sql, tokens);
        Some(match first {
            "declare" => declare(&mut words).map(CursorStatement::Declare),
            "close" => close(&mut words),
            _ => fetch(&mut words, first == "move"),
        })
    }
}

fn declare(words: &mut Words<'_>) -> Result<CursorDeclaration, StatementError> {
    words.keyword("declare")?;
    let name = words.identifier("a cursor name after DECLARE")?;
    if words.optional("binary") {
        return Err(not_supported(
            "BINARY cursors are not supported: ask for binary results in the FETCH's result \
             formats (extended query protocol) instead",
        ));
    }
    let _ = words.optional("asensitive") || words.optional("insensitive");
    if words.optional("scroll") {
        return Err(not_supported(
            "SCROLL cursors are not supported: Quarry's cursors only go forward",
        ));
    }
    if words.optional("no") {
        words.keyword("scroll")?;
    }
    words.keyword("cursor")?;
    let hold = if words.optional("with") {
        words.keyword("hold")?;
        true
    } else {
        if words.optional("without") {
            words.keyword("hold")?;
        }
        false
    };
    words.keyword("for")?;
    let query = words.rest();
    if query.is_empty() {
        return Err(syntax("DECLARE … CURSOR FOR needs a query".to_owned()));
    }
    Ok(CursorDeclaration { name, query, hold })
}

fn fetch(words: &mut Words<'_>, move_only: bool) -> Result<CursorStatement, StatementError> {
    let verb = if move_only { "MOVE" } else { "FETCH" };
    words.keyword(if move_only { "move" } else { "fetch" })?;
    let count = match words.peek() {
        Some(Token::Number(number, _)) => {
            let count = parse_count(number)?;
            words.advance();
            FetchCount::Rows(count)
        }
        Some(Token::Minus) => return Err(forward_only(verb, "a negative count")),
        Some(Token::Word(word)) if word.quote_style.is_none() => {
            match word.value.to_ascii_lowercase().as_str() {
                "next" => {
                    words.advance();
                    FetchCount::Rows(1)
                }
                "all" => {
                    words.advance();
                    FetchCount::All
                }
                "forward" => {
                    words.advance();
                    match words.peek() {
                        Some(Token::Number(number, _)) => {
                            let count = parse_count(number)?;
                            words.advance();
                            FetchCount::Rows(count)
                        }
                        Some(Token::Word(word))
                            if word.quote_style.is_none()
                                && word.value.eq_ignore_ascii_case("all") =>
                        {
                            words.advance();
                            FetchCount::All
                        }
                        _ => FetchCount::Rows(1),
                    }
                }
                direction @ ("prior" | "first" | "last" | "absolute" | "relative" | "backward") => {
                    return Err(forward_only(verb, &direction.to_ascii_uppercase()));
                }
                _ => FetchCount::Rows(1),
            }
        }
        _ => FetchCount::Rows(1),
    };
    let _ = words.optional("from") || words.optional("in");
    let cursor = words.identifier(&format!("a cursor name in {verb}"))?;
    words.end()?;
    Ok(CursorStatement::Fetch {
        cursor,
        count,
        move_only,
    })
}

fn close(words: &mut Words<'_>) -> Result<CursorStatement, StatementError> {
    words.keyword("close")?;
    if words.optional("all") {
        words.end()?;
        return Ok(CursorStatement::Close(None));
    }
    let cursor = words.identifier("a cursor name or ALL after CLOSE")?;
    words.end()?;
    Ok(CursorStatement::Close(Some(cursor)))
}

fn parse_count(number: &str) -> Result<u64, StatementError> {
    number
        .parse()
        .map_err(|_| syntax(format!("\"{number}\" is not a row count")))
}

fn forward_only(verb: &str, what: &str) -> StatementError {
    not_supported(format!(
        "{verb} with {what} is not supported: Quarry's cursors only go forward"
    ))
}

fn syntax(message: String) -> StatementError {
    StatementError::new(StatementErrorCode::Syntax, message)
}

fn not_supported(message: impl Into<String>) -> StatementError {
    StatementError::new(StatementErrorCode::NotSupported, message)
}

/// The statement's tokens without whitespace and comments, read front to back.
struct Words<'a> {
    sql: &'a str,
    tokens: Vec<TokenWithSpan>,
    next: usize,
}

impl<'a> Words<'a> {
    fn new(sql: &'a str, tokens: Vec<TokenWithSpan>) -> Self {
        let tokens = tokens
            .into_iter()
            .filter(|token| !matches!(token.token, Token::Whitespace(_)))
            .collect();
        Words {
            sql,
            tokens,
            next: 0,
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens
            .get(self.next)
            .map(|token| &token.token)
            .filter(|token| !matches!(token, Token::EOF))
    }

    fn advance(&mut self) {
        self.next += 1;
    }

    /// Takes the keyword `word` if it comes next.
    fn optional(&mut self, word: &str) -> bool {
        let found = matches!(
            self.peek(),
            Some(Token::Word(Word { value, quote_style: None, .. }))
                if value.eq_ignore_ascii_case(word)
        );
        if found {
            self.advance();
        }
        found
    }

    fn keyword(&mut self, word: &str) -> Result<(), StatementError> {
        if self.optional(word) {
            return Ok(());
        }
        Err(syntax(format!(
            "expected {} {}",
            word.to_ascii_uppercase(),
            self.found()
        )))
    }

    /// An identifier, folded to lower case unless quoted, as PostgreSQL does.
    fn identifier(&mut self, what: &str) -> Result<String, StatementError> {
        let name = match self.peek() {
            Some(Token::Word(Word {
                value,
                quote_style: None,
                ..
            })) => value.to_lowercase(),
            Some(Token::Word(Word {
                value,
                quote_style: Some('"'),
                ..
            })) => value.clone(),
            _ => return Err(syntax(format!("expected {what} {}", self.found()))),
        };
        self.advance();
        Ok(name)
    }

    /// Nothing but an optional semicolon is left.
    fn end(&mut self) -> Result<(), StatementError> {
        while matches!(self.peek(), Some(Token::SemiColon)) {
            self.advance();
        }
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(syntax(format!("unexpected {}", self.found()))),
        }
    }

    /// The text from the next token to the end, without a trailing semicolon.
    fn rest(&self) -> String {
        let Some(token) = self.tokens.get(self.next) else {
            return String::new();
        };
        let start = byte_offset(self.sql, token.span.start);
        self.sql[start..]
            .trim()
            .trim_end_matches(';')
            .trim_end()
            .to_owned()
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(token) => format!("at \"{token}\""),
            None => "at the end of the statement".to_owned(),
        }
    }
}

/// Where a tokenizer location (1-based line, 1-based column in characters) is in `sql`.
fn byte_offset(sql: &str, location: Location) -> usize {
    let mut line = 1;
    let mut column = 1;
    for (offset, character) in sql.char_indices() {
        if line == location.line && column == location.column {
            return offset;
        }
        if character == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    sql.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(sql: &str) -> CursorStatement {
        match CursorStatement::recognize(sql) {
            Some(Ok(statement)) => statement,
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn refused(sql: &str) -> StatementError {
        match CursorStatement::recognize(sql) {
            Some(Err(error)) => error,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn declare_keeps_the_query_as_written() {
        assert_eq!(
            read(
                "DECLARE \"Pg3 c\" NO SCROLL CURSOR WITHOUT HOLD FOR\n  select 'for' AS x -- note\n;"
            ),
            CursorStatement::Declare(CursorDeclaration {
                name: "Pg3 c".into(),
                query: "select 'for' AS x -- note".into(),
                hold: false,
            })
        );
        assert_eq!(
            read("declare C cursor with hold for select 1"),
            CursorStatement::Declare(CursorDeclaration {
                name: "c".into(),
                query: "select 1".into(),
                hold: true,
            })
        );
        // Multi-byte text before FOR does not shift the query.
        assert_eq!(
            read("declare \"é\" cursor for select 'ü'"),
            CursorStatement::Declare(CursorDeclaration {
                name: "é".into(),
                query: "select 'ü'".into(),
                hold: false,
            })
        );
    }

    #[test]
    fn fetch_and_move_read_the_forward_directions() {
        let fetch = |count, cursor: &str| CursorStatement::Fetch {
            cursor: cursor.into(),
            count,
            move_only: false,
        };
        assert_eq!(
            read("FETCH FORWARD 100 FROM \"c\""),
            fetch(FetchCount::Rows(100), "c")
        );
        assert_eq!(read("fetch c"), fetch(FetchCount::Rows(1), "c"));
        assert_eq!(read("fetch next in C;"), fetch(FetchCount::Rows(1), "c"));
        assert_eq!(read("fetch all from c"), fetch(FetchCount::All, "c"));
        assert_eq!(read("fetch forward all c"), fetch(FetchCount::All, "c"));
        assert_eq!(read("fetch 7 c"), fetch(FetchCount::Rows(7), "c"));
        assert_eq!(
            read("MOVE FORWARD 5 IN c"),
            CursorStatement::Fetch {
                cursor: "c".into(),
                count: FetchCount::Rows(5),
                move_only: true
            }
        );
    }

    #[test]
    fn close_one_or_all() {
        assert_eq!(
            read("CLOSE \"c\""),
            CursorStatement::Close(Some("c".into()))
        );
        assert_eq!(read("close all;"), CursorStatement::Close(None));
    }

    #[test]
    fn backward_scrolling_and_garbage_are_refused_by_name() {
        let error = refused("FETCH BACKWARD 1 FROM c");
        assert_eq!(error.code, StatementErrorCode::NotSupported);
        assert!(error.message.contains("BACKWARD"), "{error}");
        assert_eq!(
            refused("fetch -1 from c").code,
            StatementErrorCode::NotSupported
        );
        assert_eq!(
            refused("declare c scroll cursor for select 1").code,
            StatementErrorCode::NotSupported
        );
        assert_eq!(
            refused("declare c binary cursor for select 1").code,
            StatementErrorCode::NotSupported
        );
        let error = refused("declare c cursor select 1");
        assert_eq!(error.code, StatementErrorCode::Syntax);
        assert!(error.message.contains("expected FOR"), "{error}");
        assert_eq!(refused("close").code, StatementErrorCode::Syntax);
        assert_eq!(
            refused("fetch 1 from c extra").code,
            StatementErrorCode::Syntax
        );
        assert!(CursorStatement::recognize("select 1").is_none());
        assert!(CursorStatement::recognize("closer look").is_none());
    }
}
