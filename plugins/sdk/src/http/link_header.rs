//! The `rel="next"` target of `Link` response headers (RFC 8288), as paginated APIs send it:
//! `Link: <https://api.test/items?page=3>; rel="next", <https://api.test/items?page=9>; rel="last"`.

/// The target of the first link whose `rel` includes `next`, over every `Link` header value in
/// order; relative targets are returned as they are (resolve them against the request URL).
pub fn next_link<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    values
        .into_iter()
        .flat_map(parse_links)
        .find(|(_, rels)| rels.iter().any(|r| r.eq_ignore_ascii_case("next")))
        .map(|(target, _)| target)
}

/// `(target, rel values)` of each link-value of one header value. Parsing stops at the first
/// malformed link-value; the links before it are kept.
fn parse_links(value: &str) -> Vec<(String, Vec<String>)> {
    let mut links = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some(after) = rest.strip_prefix('<') else {
            return links;
        };
        let Some(end) = after.find('>') else {
            return links;
        };
        let target = after[..end].trim().to_owned();
        rest = &after[end + 1..];
        let mut rels = Vec::new();
        // Parameters: `; name=value` or `; name="quoted value"` or `; name`.
        loop {
            rest = rest.trim_start();
            let Some(after) = rest.strip_prefix(';') else {
                break;
            };
            let after = after.trim_start();
            let name_end = after
                .find(|c: char| c == '=' || c == ';' || c == ',' || c.is_whitespace())
                .unwrap_or(after.len());
            let name = &after[..name_end];
            rest = after[name_end..].trim_start();
            let Some(after) = rest.strip_prefix('=') else {
                continue;
            };
            let after = after.trim_start();
            let param_value = if let Some(quoted) = after.strip_prefix('"') {
                let (text, consumed) = read_quoted(quoted);
                rest = &quoted[consumed..];
                text
            } else {
                let end = after.find([';', ',']).unwrap_or(after.len());
                rest = &after[end..];
                after[..end].trim().to_owned()
            };
            if name.eq_ignore_ascii_case("rel") {
                rels.extend(param_value.split_whitespace().map(str::to_owned));
            }
        }
        links.push((target, rels));
        if !rest.trim_start().starts_with(',') {
            return links;
        }
    }
}

/// The text of a quoted string whose opening quote is already consumed, and the bytes consumed
/// including the closing quote.
fn read_quoted(text: &str) -> (String, usize) {
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => {
                out.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            '"' => return (out, i + 1),
            _ => out.push(c),
        }
    }
    (out, text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_link_among_others() {
        let github = r#"<https://api.test/items?page=1>; rel="prev", <https://api.test/items?page=3>; rel="next", <https://api.test/items?page=9>; rel="last""#;
        assert_eq!(
            next_link([github]).as_deref(),
            Some("https://api.test/items?page=3")
        );
        assert_eq!(
            next_link(["</p?a=1,2>; title=\"x, y; z\"; rel=\"start NEXT\""]).as_deref(),
            Some("/p?a=1,2")
        );
        assert_eq!(
            next_link(["<a>; rel=last", "<b>;rel=next"]).as_deref(),
            Some("b")
        );
        assert_eq!(next_link(["<a>; rel=\"prev\""]), None);
        assert_eq!(next_link(["garbage"]), None);
        assert_eq!(next_link(["<a>; rel=next", "<b"]).as_deref(), Some("a"));
        assert_eq!(next_link(Vec::<&str>::new()), None);
    }
}
