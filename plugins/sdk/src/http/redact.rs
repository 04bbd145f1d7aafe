//! URLs as errors and log lines show them: without userinfo or fragment, and with the values of
//! query parameters that look like credentials replaced by `***`.

use url::Url;

/// Parts of a query parameter's name that mark its value as a secret.
const SECRET_NAME_PARTS: [&str; 9] = [
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "auth",
    "signature",
    "credential",
    "session",
];

/// Whole query parameter names that mark a secret.
const SECRET_NAMES: [&str; 3] = ["sig", "pwd", "pass"];

/// `raw` with userinfo and fragment dropped and secret query values replaced by `***`
/// (`https://api.test/v1?api_key=***&page=2`). Works on the text, so it also redacts a URL that
/// does not parse.
pub fn redact_url(raw: &str) -> String {
    let without_fragment = raw.split('#').next().unwrap_or_default();
    let (head, query) = match without_fragment.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (without_fragment, None),
    };
    let head = drop_userinfo(head);
    match query {
        None => head,
        Some(query) => {
            let pairs: Vec<String> = query.split('&').map(redact_pair).collect();
            format!("{head}?{}", pairs.join("&"))
        }
    }
}

/// `scheme://host:port` with the port always written (the form of an `allowed_hosts` entry).
pub fn origin(url: &Url) -> String {
    let port = url
        .port_or_known_default()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    format!(
        "{}://{}{port}",
        url.scheme(),
        url.host_str().unwrap_or_default()
    )
}

/// Whether a query parameter of this name carries a secret (`api_key`, `access_token`,
/// `X-Amz-Signature`, `password`, `sig`, ...).
pub fn is_secret_name(name: &str) -> bool {
    let name = percent_decode(name).to_ascii_lowercase();
    SECRET_NAME_PARTS.iter().any(|part| name.contains(part))
        || SECRET_NAMES.contains(&name.as_str())
}

fn drop_userinfo(head: &str) -> String {
    let (prefix, rest) = if let Some(at) = head.find("://") {
        head.split_at(at + 3)
    } else if head.starts_with("//") {
        head.split_at(2)
    } else {
        return head.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => format!("{prefix}{}{path}", &authority[at + 1..]),
        None => head.to_owned(),
    }
}

fn redact_pair(pair: &str) -> String {
    match pair.split_once('=') {
        Some((name, value)) if !value.is_empty() && is_secret_name(name) => format!("{name}=***"),
        _ => pair.to_owned(),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_userinfo_and_fragments_are_dropped() {
        assert_eq!(
            redact_url("https://user:pw@api.test/v1/items?api_key=abc&page=2&access_token=x#frag"),
            "https://api.test/v1/items?api_key=***&page=2&access_token=***"
        );
        assert_eq!(
            redact_url("http://h/x?X-Amz-Signature=f00&Password=p&sig=s&q=key&empty_token="),
            "http://h/x?X-Amz-Signature=***&Password=***&sig=***&q=key&empty_token="
        );
        assert_eq!(
            redact_url("http://h/x?api%5Fkey=1"),
            "http://h/x?api%5Fkey=***"
        );
        assert_eq!(redact_url("http://h:8080/a/b"), "http://h:8080/a/b");
        assert_eq!(redact_url("not a url?token=t"), "not a url?token=***");
        assert_eq!(redact_url("//u:p@h/x"), "//h/x");
    }

    #[test]
    fn origins_always_carry_the_port() {
        let origin_of = |u: &str| origin(&Url::parse(u).unwrap());
        assert_eq!(
            origin_of("http://127.0.0.1:8080/x?y"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(origin_of("https://API.test/x"), "https://api.test:443");
        assert_eq!(origin_of("http://u:p@[::1]/"), "http://[::1]:80");
    }
}
