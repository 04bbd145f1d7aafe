//! How a table's pages follow one another: a next link in the body, the `Link` header, a page
//! number or an offset; or one request when the table has no `pagination`.

use quarry_sdk::http::{Url, next_link, redact_url};
use quarry_sdk::values::json_kind;
use serde::Deserialize;
use serde_json::Value as Json;

use crate::url_template::with_query_param;

/// A table's pagination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pagination {
    /// One request.
    None,
    /// The next page's URL (absolute or relative) is in the body at this JSON pointer; absent,
    /// null or empty ends the table.
    NextLink { pointer: String },
    /// The next page is the `Link: <…>; rel="next"` response header (RFC 8288).
    LinkHeader,
    /// Page numbers in a query parameter, from `first`.
    Page {
        param: String,
        first: u64,
        size: Option<PageSize>,
    },
    /// Row offsets in a query parameter, from 0.
    Offset {
        param: String,
        size: Option<PageSize>,
    },
}

/// The rows per page of page-number and offset pagination: a page with fewer ends the table.
/// With `param`, the size is also sent as that query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSize {
    pub param: Option<String>,
    pub rows: u64,
}

/// The `pagination` object as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPagination {
    next_link: Option<String>,
    link_header: Option<bool>,
    page_param: Option<String>,
    first_page: Option<u64>,
    offset_param: Option<String>,
    size_param: Option<String>,
    page_size: Option<u64>,
}

/// What the reader saw of the page it just read.
#[derive(Debug)]
pub struct PageSeen<'a> {
    /// The URL that answered (after redirects): relative links resolve against it.
    pub url: &'a Url,
    pub body: &'a Json,
    /// The values of the `Link` response headers.
    pub link_headers: Vec<&'a str>,
    /// Rows on this page.
    pub rows: usize,
    /// Pages read so far, this one included.
    pub pages: u64,
    /// Rows read so far, this one included.
    pub rows_total: u64,
}

impl Pagination {
    /// Parses a `pagination` object; the error says what is wrong with it.
    pub fn parse(value: &Json) -> Result<Pagination, String> {
        let raw: RawPagination =
            serde_json::from_value(value.clone()).map_err(|err| format!("pagination: {err}"))?;
        let kinds: Vec<&str> = [
            ("next_link", raw.next_link.is_some()),
            ("link_header", raw.link_header.is_some()),
            ("page_param", raw.page_param.is_some()),
            ("offset_param", raw.offset_param.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        match kinds.as_slice() {
            [] => {
                return Err(
                    "pagination needs one of next_link, link_header, page_param or \
                     offset_param"
                        .to_owned(),
                );
            }
            [_] => {}
            many => {
                return Err(format!(
                    "pagination mixes {}; choose one",
                    many.join(" and ")
                ));
            }
        }
        let sized = raw.size_param.is_some() || raw.page_size.is_some();
        if raw.page_param.is_none() && raw.offset_param.is_none() && sized {
            return Err(
                "pagination: size_param and page_size go with page_param or offset_param"
                    .to_owned(),
            );
        }
        if raw.page_param.is_none() && raw.first_page.is_some() {
            return Err("pagination: first_page goes with page_param".to_owned());
        }
        if let Some(pointer) = raw.next_link {
            check_pointer(&pointer).map_err(|e| format!("pagination: next_link {e}"))?;
            if pointer.is_empty() {
                return Err(
                    "pagination: next_link must point into the body, like \"/next\"".into(),
                );
            }
            return Ok(Pagination::NextLink { pointer });
        }
        if let Some(link_header) = raw.link_header {
            if !link_header {
                return Err(
                    "pagination: link_header must be true (leave pagination out for a single \
                     request)"
                        .to_owned(),
                );
            }
            return Ok(Pagination::LinkHeader);
        }
        let size = match (raw.size_param, raw.page_size) {
            (_, Some(0)) => return Err("pagination: page_size must be at least 1".to_owned()),
            (Some(_), None) => {
                return Err("pagination: size_param needs page_size (the value to send)".to_owned());
            }
            (param, Some(rows)) => Some(PageSize { param, rows }),
            (None, None) => None,
        };
        let (param, kind) = match (raw.page_param, raw.offset_param) {
            (Some(param), _) => (param, "page_param"),
            (_, Some(param)) => (param, "offset_param"),
            (None, None) => return Err("pagination: no parameter".to_owned()),
        };
        if param.trim().is_empty() {
            return Err(format!("pagination: {kind} must not be empty"));
        }
        if let Some(PageSize {
            param: Some(size_param),
            ..
        }) = &size
        {
            if size_param.trim().is_empty() {
                return Err("pagination: size_param must not be empty".to_owned());
            }
            if *size_param == param {
                return Err(format!(
                    "pagination: {kind} and size_param are both \"{param}\""
                ));
            }
        }
        Ok(if kind == "page_param" {
            Pagination::Page {
                param,
                first: raw.first_page.unwrap_or(1),
                size,
            }
        } else {
            Pagination::Offset { param, size }
        })
    }

    /// The query parameters this pagination sets.
    pub fn params(&self) -> Vec<&str> {
        match self {
            Pagination::Page { param, size, .. } | Pagination::Offset { param, size } => {
                let mut params = vec![param.as_str()];
                params.extend(size.as_ref().and_then(|s| s.param.as_deref()));
                params
            }
            _ => Vec::new(),
        }
    }

    /// The first page of a split whose URL is `base`.
    pub fn first_url(&self, base: &Url) -> Url {
        match self {
            Pagination::Page { param, first, size } => {
                with_size(&with_query_param(base, param, &first.to_string()), size)
            }
            Pagination::Offset { param, size } => {
                with_size(&with_query_param(base, param, "0"), size)
            }
            _ => base.clone(),
        }
    }

    /// The page after `page` (of a split whose URL is `base`), or `None` when it was the last.
    pub fn next_url(&self, base: &Url, page: &PageSeen<'_>) -> Result<Option<Url>, String> {
        let short = |size: &Option<PageSize>| {
            page.rows == 0 || size.as_ref().is_some_and(|s| (page.rows as u64) < s.rows)
        };
        let next = match self {
            Pagination::None => return Ok(None),
            Pagination::Page { param, first, size } => {
                if short(size) {
                    return Ok(None);
                }
                let number = first.saturating_add(page.pages);
                with_size(&with_query_param(base, param, &number.to_string()), size)
            }
            Pagination::Offset { param, size } => {
                if short(size) {
                    return Ok(None);
                }
                let offset = page.rows_total.to_string();
                with_size(&with_query_param(base, param, &offset), size)
            }
            Pagination::NextLink { pointer } => {
                let link = match page.body.pointer(pointer) {
                    None | Some(Json::Null) => return Ok(None),
                    Some(Json::String(link)) if link.trim().is_empty() => return Ok(None),
                    Some(Json::String(link)) => link,
                    Some(other) => {
                        return Err(format!(
                            "the next link at {pointer:?} is {}, not a url",
                            json_kind(other)
                        ));
                    }
                };
                resolve(page.url, link)?
            }
            Pagination::LinkHeader => match next_link(page.link_headers.iter().copied()) {
                None => return Ok(None),
                Some(link) => resolve(page.url, &link)?,
            },
        };
        if next == *page.url {
            return Err(format!(
                "the next page is the page just read ({}); stopping rather than looping",
                redact_url(next.as_str())
            ));
        }
        Ok(Some(next))
    }
}

fn with_size(url: &Url, size: &Option<PageSize>) -> Url {
    match size {
        Some(PageSize {
            param: Some(param),
            rows,
        }) => with_query_param(url, param, &rows.to_string()),
        _ => url.clone(),
    }
}

/// A link (absolute, or relative to the page that held it) as a URL.
pub fn resolve(base: &Url, link: &str) -> Result<Url, String> {
    base.join(link.trim()).map_err(|err| {
        format!(
            "the next link {:?} is not a valid url: {err}",
            redact_url(link)
        )
    })
}

/// Checks a JSON pointer (RFC 6901): empty, or `/`-separated tokens where `~` is only `~0` or
/// `~1`.
pub fn check_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!(
            "{pointer:?} is not a json pointer (\"\" or starting with \"/\", like \"/data\")"
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "{pointer:?} is not a json pointer (\"~\" must be written \"~0\", \"/\" in a key \"~1\")"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Json) -> Result<Pagination, String> {
        Pagination::parse(&value)
    }

    fn seen<'a>(url: &'a Url, body: &'a Json, rows: usize, pages: u64, total: u64) -> PageSeen<'a> {
        PageSeen {
            url,
            body,
            link_headers: Vec::new(),
            rows,
            pages,
            rows_total: total,
        }
    }

    #[test]
    fn every_kind_parses() {
        assert_eq!(
            parse(json!({"next_link": "/links/next"})).unwrap(),
            Pagination::NextLink {
                pointer: "/links/next".into()
            }
        );
        assert_eq!(
            parse(json!({"link_header": true})).unwrap(),
            Pagination::LinkHeader
        );
        assert_eq!(
            parse(json!({"page_param": "page", "first_page": 0, "size_param": "per_page", "page_size": 100}))
                .unwrap(),
            Pagination::Page {
                param: "page".into(),
                first: 0,
                size: Some(PageSize {
                    param: Some("per_page".into()),
                    rows: 100
                })
            }
        );
        assert_eq!(
            parse(json!({"offset_param": "offset", "page_size": 50})).unwrap(),
            Pagination::Offset {
                param: "offset".into(),
                size: Some(PageSize {
                    param: None,
                    rows: 50
                })
            }
        );
    }

    #[test]
    fn bad_pagination_says_why() {
        let cases = [
            (json!({}), "needs one of"),
            (
                json!({"next_link": "/n", "link_header": true}),
                "mixes next_link and link_header",
            ),
            (json!({"link_header": false}), "must be true"),
            (json!({"next_link": "next"}), "not a json pointer"),
            (json!({"next_link": ""}), "must point into the body"),
            (json!({"next_link": "/a~2"}), "~0"),
            (
                json!({"next_link": "/n", "page_size": 5}),
                "go with page_param",
            ),
            (
                json!({"offset_param": "o", "first_page": 2}),
                "first_page goes with page_param",
            ),
            (
                json!({"page_param": "p", "size_param": "s"}),
                "needs page_size",
            ),
            (json!({"page_param": "p", "page_size": 0}), "at least 1"),
            (json!({"page_param": " "}), "must not be empty"),
            (
                json!({"page_param": "p", "size_param": "p", "page_size": 2}),
                "both \"p\"",
            ),
            (
                json!({"page_param": "p", "pages": 2}),
                "unknown field `pages`",
            ),
            (json!({"page_param": 3}), "invalid type"),
            (json!("page"), "invalid type"),
        ];
        for (value, expected) in cases {
            let err = parse(value.clone()).unwrap_err();
            assert!(err.contains(expected), "{value}: {err}");
        }
    }

    #[test]
    fn page_numbers_and_offsets_build_urls_and_stop_on_a_short_page() {
        let base = Url::parse("http://h/items?region=eu").unwrap();
        let body = json!([]);
        let pages = parse(json!({"page_param": "page", "first_page": 1, "size_param": "per_page", "page_size": 2})).unwrap();
        let first = pages.first_url(&base);
        assert_eq!(first.as_str(), "http://h/items?region=eu&page=1&per_page=2");
        let next = pages
            .next_url(&base, &seen(&first, &body, 2, 1, 2))
            .unwrap()
            .unwrap();
        assert_eq!(next.as_str(), "http://h/items?region=eu&page=2&per_page=2");
        assert_eq!(
            pages.next_url(&base, &seen(&next, &body, 1, 2, 3)).unwrap(),
            None
        );
        assert_eq!(
            pages.next_url(&base, &seen(&next, &body, 0, 2, 2)).unwrap(),
            None
        );

        let offsets =
            parse(json!({"offset_param": "offset", "size_param": "limit", "page_size": 3}))
                .unwrap();
        let first = offsets.first_url(&base);
        assert_eq!(first.as_str(), "http://h/items?region=eu&offset=0&limit=3");
        let next = offsets
            .next_url(&base, &seen(&first, &body, 3, 1, 3))
            .unwrap()
            .unwrap();
        assert_eq!(next.as_str(), "http://h/items?region=eu&offset=3&limit=3");

        // Without a page size only an empty page ends the table.
        let unsized_pages = parse(json!({"page_param": "p"})).unwrap();
        assert!(
            unsized_pages
                .next_url(&base, &seen(&base, &body, 1, 1, 1))
                .unwrap()
                .is_some()
        );
        assert!(
            unsized_pages
                .next_url(&base, &seen(&base, &body, 0, 1, 1))
                .unwrap()
                .is_none()
        );
        assert_eq!(Pagination::None.first_url(&base), base);
    }

    #[test]
    fn next_links_resolve_against_the_page_that_held_them() {
        let links = parse(json!({"next_link": "/links/next"})).unwrap();
        let base = Url::parse("http://h/v1/items?page=1").unwrap();
        let next = |body: Json| links.next_url(&base, &seen(&base, &body, 5, 1, 5));
        assert_eq!(
            next(json!({"links": {"next": "?page=2"}}))
                .unwrap()
                .unwrap()
                .as_str(),
            "http://h/v1/items?page=2"
        );
        assert_eq!(
            next(json!({"links": {"next": "/v2/items?cursor=x"}}))
                .unwrap()
                .unwrap()
                .as_str(),
            "http://h/v2/items?cursor=x"
        );
        assert_eq!(
            next(json!({"links": {"next": "https://other.test/p/2"}}))
                .unwrap()
                .unwrap()
                .as_str(),
            "https://other.test/p/2"
        );
        assert_eq!(next(json!({"links": {"next": null}})).unwrap(), None);
        assert_eq!(next(json!({"links": {"next": ""}})).unwrap(), None);
        assert_eq!(next(json!({"links": {}})).unwrap(), None);
        let err = next(json!({"links": {"next": 2}})).unwrap_err();
        assert!(err.contains("a number"), "{err}");
        let err = next(json!({"links": {"next": "http://h/v1/items?page=1"}})).unwrap_err();
        assert!(err.contains("page just read"), "{err}");
    }

    #[test]
    fn link_headers_give_the_next_page() {
        let header = Pagination::LinkHeader;
        let base = Url::parse("http://h/items").unwrap();
        let body = json!([]);
        let mut page = seen(&base, &body, 3, 1, 3);
        page.link_headers = vec!["</items?page=2>; rel=\"next\", </items?page=9>; rel=\"last\""];
        assert_eq!(
            header.next_url(&base, &page).unwrap().unwrap().as_str(),
            "http://h/items?page=2"
        );
        page.link_headers = vec!["</items?page=1>; rel=\"prev\""];
        assert_eq!(header.next_url(&base, &page).unwrap(), None);
    }
}
