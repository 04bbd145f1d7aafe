//! Splits a simple-protocol query string into its statements at top-level `;`.
//!
//! The split is lexical, not a parse, so statements the engine's parser does not know (Quarry's
//! `CREATE CATALOG`) pass through untouched. Semicolons inside quotes (`'…'`, `"…"`,
//! `$tag$…$tag$`) and comments (`-- …`, nested `/* … */`) do not split.

/// The non-empty statements of `sql`, trimmed, without their terminating `;`.
pub(crate) fn split_statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        at = match bytes[at] {
            b'\'' | b'"' => skip_quoted(bytes, at, bytes[at]),
            b'-' if bytes.get(at + 1) == Some(&b'-') => skip_line_comment(bytes, at),
            b'/' if bytes.get(at + 1) == Some(&b'*') => skip_block_comment(bytes, at),
            b'$' => skip_dollar_quoted(sql, at),
            b';' => {
                push_statement(&mut statements, &sql[start..at]);
                start = at + 1;
                at + 1
            }
            _ => at + 1,
        };
    }
    push_statement(&mut statements, &sql[start.min(sql.len())..]);
    statements
}

fn push_statement<'a>(statements: &mut Vec<&'a str>, statement: &'a str) {
    if !is_blank(statement) {
        statements.push(statement.trim());
    }
}

/// True when a statement holds only whitespace and comments.
fn is_blank(statement: &str) -> bool {
    let bytes = statement.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        at = match bytes[at] {
            b'-' if bytes.get(at + 1) == Some(&b'-') => skip_line_comment(bytes, at),
            b'/' if bytes.get(at + 1) == Some(&b'*') => skip_block_comment(bytes, at),
            byte if byte.is_ascii_whitespace() => at + 1,
            _ => return false,
        };
    }
    true
}

/// Past the closing quote; a doubled quote is an escaped one.
fn skip_quoted(bytes: &[u8], open: usize, quote: u8) -> usize {
    let mut at = open + 1;
    while at < bytes.len() {
        if bytes[at] == quote {
            if bytes.get(at + 1) == Some(&quote) {
                at += 2;
                continue;
            }
            return at + 1;
        }
        at += 1;
    }
    bytes.len()
}

fn skip_line_comment(bytes: &[u8], open: usize) -> usize {
    bytes[open..]
        .iter()
        .position(|byte| *byte == b'\n')
        .map_or(bytes.len(), |newline| open + newline + 1)
}

fn skip_block_comment(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0;
    let mut at = open;
    while at + 1 < bytes.len() {
        match (bytes[at], bytes[at + 1]) {
            (b'/', b'*') => {
                depth += 1;
                at += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                at += 2;
                if depth == 0 {
                    return at;
                }
            }
            _ => at += 1,
        }
    }
    bytes.len()
}

/// `$tag$ … $tag$` (tag possibly empty); a `$` that does not open one (`$1`) is skipped alone.
fn skip_dollar_quoted(sql: &str, open: usize) -> usize {
    let rest = &sql[open + 1..];
    let tag_length = rest
        .bytes()
        .take_while(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
        .count();
    let opens = rest.as_bytes().get(tag_length) == Some(&b'$')
        && !rest.as_bytes().first().is_some_and(u8::is_ascii_digit);
    if !opens {
        return open + 1;
    }
    let delimiter = &sql[open..open + tag_length + 2];
    let body = open + delimiter.len();
    sql[body..]
        .find(delimiter)
        .map_or(sql.len(), |end| body + end + delimiter.len())
}

#[cfg(test)]
mod tests {
    use super::split_statements;

    #[test]
    fn splits_at_top_level_semicolons_only() {
        assert_eq!(
            split_statements(
                "select 1; select 'a;b' ;select \"x;\" -- c;\n; /* d; */ select $$;$$"
            ),
            vec![
                "select 1",
                "select 'a;b'",
                "select \"x;\" -- c;",
                "/* d; */ select $$;$$"
            ]
        );
        assert_eq!(
            split_statements("select $1;select 2"),
            vec!["select $1", "select 2"]
        );
        assert!(split_statements(" ; ;-- only a comment\n").is_empty());
        assert!(split_statements("").is_empty());
    }
}
