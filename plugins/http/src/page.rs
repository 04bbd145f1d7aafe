//! One page of a table: the request (with the catalog's headers), the answer checked and read
//! as JSON, and its rows found by the table's `rows` pointer.

use quarry_sdk::http::{Client, Header, Response, Url, origin, redact_url};
use quarry_sdk::values::json_kind;
use quarry_sdk::{ConnectorError, Result};
use serde_json::Value as Json;

use crate::table_def::TableDef;

/// A page as received.
#[derive(Debug)]
pub struct Page {
    /// The URL that answered (after redirects).
    pub url: Url,
    pub body: Json,
    /// The values of the `Link` response headers.
    pub link_headers: Vec<String>,
}

/// `GET url` for `table`: `Accept: application/json`, and the `auth_header` when the URL is on
/// the table's own origin (a next link to another origin gets no credentials). A non-2xx
/// answer, a refusal or a body that is not JSON is an `io` error naming the table, the request
/// (URL redacted) and the reason; never the body.
pub fn fetch_page(
    client: &Client,
    auth: Option<&Header>,
    table: &TableDef,
    url: &Url,
) -> Result<Page> {
    let mut headers = vec![Header::new("Accept", "application/json")];
    if let Some(auth) = auth
        && origin(url) == table.url.origin()
    {
        headers.push(auth.clone());
    }
    let response = client
        .get(url.as_str(), &headers)
        .and_then(Response::error_for_status)
        .map_err(|err| ConnectorError::io(format!("table \"{}\": {err}", table.name)))?;
    let body = serde_json::from_slice(&response.body).map_err(|err| {
        ConnectorError::io(format!(
            "table \"{}\": GET {}: the response is not json ({err})",
            table.name,
            redact_url(response.url.as_str())
        ))
    })?;
    let link_headers = response.header_values("link").map(str::to_owned).collect();
    Ok(Page {
        url: response.url,
        body,
        link_headers,
    })
}

/// Takes the array of rows out of a page's body (leaving an empty array in its place).
pub fn take_rows(body: &mut Json, pointer: &str) -> Result<Vec<Json>, String> {
    match body.pointer_mut(pointer) {
        Some(Json::Array(rows)) => Ok(std::mem::take(rows)),
        Some(other) => Err(format!(
            "rows pointer {pointer:?} finds {} in the response, not an array",
            json_kind(other)
        )),
        None => Err(format!(
            "rows pointer {pointer:?} finds nothing in the response"
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rows_are_found_by_pointer() {
        let mut body = json!({"data": {"items": [{"a": 1}, {"a": 2}]}, "next": "x"});
        assert_eq!(take_rows(&mut body, "/data/items").unwrap().len(), 2);
        assert_eq!(body["data"]["items"], json!([]));
        assert_eq!(body["next"], "x");

        let mut whole = json!([{"a": 1}]);
        assert_eq!(take_rows(&mut whole, "").unwrap(), vec![json!({"a": 1})]);

        let mut escaped = json!({"a/b": {"~c": [1]}});
        assert_eq!(
            take_rows(&mut escaped, "/a~1b/~0c").unwrap(),
            vec![json!(1)]
        );

        let err = take_rows(&mut json!({"data": {}}), "/data").unwrap_err();
        assert_eq!(
            err,
            "rows pointer \"/data\" finds an object in the response, not an array"
        );
        let err = take_rows(&mut json!({}), "/data").unwrap_err();
        assert!(err.contains("finds nothing"), "{err}");
    }
}
