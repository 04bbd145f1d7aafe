//! A table's `url`: an absolute http(s) URL whose path and query may hold `{column}`
//! placeholders, filled (percent-encoded) from the scan's equality filters; and the query
//! parameter edits that filters and pagination make to a URL.

use std::collections::BTreeMap;

use quarry_sdk::http::{Url, origin, redact_url};
use url::form_urlencoded;

/// A parsed `url` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate {
    text: String,
    parts: Vec<Part>,
    origin: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Column(String),
}

impl UrlTemplate {
    /// Parses and checks a template: balanced braces, placeholders only in the path or query
    /// (never in the scheme, host or port, so a table has one origin), and, filled with a
    /// sample value, an absolute http(s) URL without credentials or fragment.
    pub fn parse(raw: &str) -> Result<UrlTemplate, String> {
        let raw = raw.trim();
        // Messages show the url redacted: an api key may sit in its query.
        let text = &redact_url(raw);
        let mut parts = Vec::new();
        let mut rest = raw;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(format!("url {text:?}: \"}}\" without a matching \"{{\""));
            }
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("url {text:?}: \"{{\" without a matching \"}}\""))?;
            let name = after[..close].trim();
            if name.is_empty() || name.contains('{') {
                return Err(format!(
                    "url {text:?}: a placeholder must be a column name in braces, like {{region}}"
                ));
            }
            parts.push(Part::Column(name.to_owned()));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }

        let fixed_prefix = raw.split('{').next().unwrap_or_default();
        let scheme_end = fixed_prefix.find("://").ok_or_else(|| {
            format!("url {text:?} is not absolute (expected http://host[:port]/path)")
        })?;
        let has_placeholders = parts.iter().any(|p| matches!(p, Part::Column(_)));
        if has_placeholders && !fixed_prefix[scheme_end + 3..].contains(['/', '?']) {
            return Err(format!(
                "url {text:?}: placeholders may stand only in the path or query, not in the \
                 scheme, host or port"
            ));
        }
        let template = UrlTemplate {
            text: raw.to_owned(),
            parts,
            origin: String::new(),
        };
        let sample = template.render(&|_| Some("x".to_owned()))?;
        let url = Url::parse(&sample).map_err(|err| format!("url {text:?} is not valid: {err}"))?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(format!(
                "url {text:?}: only http and https urls with a host are supported"
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "url {text:?}: credentials in the url are not allowed; use the auth_header \
                 property"
            ));
        }
        if url.fragment().is_some() {
            return Err(format!(
                "url {text:?}: a fragment (#…) is never sent; remove it"
            ));
        }
        Ok(UrlTemplate {
            origin: origin(&url),
            ..template
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `scheme://host:port` of every URL the template gives.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The placeholder columns, each once, in order of appearance.
    pub fn placeholders(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for part in &self.parts {
            if let Part::Column(name) = part
                && !names.contains(&name.as_str())
            {
                names.push(name);
            }
        }
        names
    }

    /// The URL with every placeholder filled from `values` (column → text, percent-encoded
    /// here); the error names a placeholder without a value.
    pub fn fill(&self, values: &BTreeMap<String, String>) -> Result<Url, String> {
        let text = self.render(&|name| values.get(name).map(|v| encode_component(v)))?;
        Url::parse(&text)
            .map_err(|err| format!("url {:?} is not valid: {err}", redact_url(&self.text)))
    }

    fn render(&self, value: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
        let mut out = String::with_capacity(self.text.len());
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Column(name) => out.push_str(
                    &value(name).ok_or_else(|| format!("no value for placeholder {{{name}}}"))?,
                ),
            }
        }
        Ok(out)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a value is safe in a
/// path segment and in a query parameter alike.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `url` with query parameter `name` set to `value`: earlier values of that name are removed,
/// the other parameters are kept as written.
pub fn with_query_param(url: &Url, name: &str, value: &str) -> Url {
    let mut pairs: Vec<String> = url
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && pair_name(pair) != name)
        .map(str::to_owned)
        .collect();
    pairs.push(format!(
        "{}={}",
        encode_component(name),
        encode_component(value)
    ));
    let mut out = url.clone();
    out.set_query(Some(&pairs.join("&")));
    out
}

/// The decoded name of one `name=value` query pair.
fn pair_name(pair: &str) -> String {
    form_urlencoded::parse(pair.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn placeholders_fill_encoded_in_path_and_query() {
        let t =
            UrlTemplate::parse("http://127.0.0.1:8080/shops/{shop}/items?region={region}").unwrap();
        assert_eq!(t.placeholders(), vec!["shop", "region"]);
        assert_eq!(t.origin(), "http://127.0.0.1:8080");
        let url = t
            .fill(&values(&[("shop", "a/b c"), ("region", "eu&x=1")]))
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/shops/a%2Fb%20c/items?region=eu%26x%3D1"
        );
        let err = t.fill(&values(&[("shop", "s")])).unwrap_err();
        assert!(err.contains("{region}"), "{err}");

        let fixed = UrlTemplate::parse(" https://api.test/v1/items ").unwrap();
        assert!(fixed.placeholders().is_empty());
        assert_eq!(fixed.origin(), "https://api.test:443");
        assert_eq!(
            fixed.fill(&BTreeMap::new()).unwrap().as_str(),
            "https://api.test/v1/items"
        );
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        let cases = [
            ("api.test/items", "not absolute"),
            ("http://{host}/items", "only in the path or query"),
            ("http://api.test:{port}/items", "only in the path or query"),
            ("http://api.test/items/{", "without a matching"),
            ("http://api.test/items/}", "without a matching"),
            ("http://api.test/items/{}", "column name in braces"),
            ("ftp://api.test/items", "only http and https"),
            ("http://user:pw@api.test/items", "credentials"),
            ("http://api.test/items#top", "fragment"),
            ("http://exa mple.test/", "not valid"),
        ];
        let err = UrlTemplate::parse("http://api.test/{x?api_key=k3y").unwrap_err();
        assert!(!err.contains("k3y"), "{err}");
        for (text, expected) in cases {
            let err = UrlTemplate::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn query_params_are_replaced_and_others_kept_as_written() {
        let url = Url::parse("http://h/x?a=1&page=3&b=x%20y&page=4").unwrap();
        assert_eq!(
            with_query_param(&url, "page", "5").as_str(),
            "http://h/x?a=1&b=x%20y&page=5"
        );
        let bare = Url::parse("http://h/x").unwrap();
        assert_eq!(
            with_query_param(&bare, "status", "open now").as_str(),
            "http://h/x?status=open%20now"
        );
    }
}
