//! Outbound HTTP from a connector, through the host's `wasi:http` (feature `http`).
//!
//! Every request leaves the sandbox through the host, which checks its origin against the
//! catalog's `allowed_hosts` grant, resolves the name itself (refusing loopback, private and
//! link-local addresses unless the grant names the address literally), caps the response size
//! and times the request out. [`Client`] adds what a connector wants on top of one request:
//!
//! - it follows redirects itself (301, 302, 303, 307, 308; at most [`MAX_REDIRECTS`] hops), so
//!   every hop is a new request the host checks again, and credentials are not sent on to
//!   another origin;
//! - it retries `429` and `5xx` answers with exponential backoff, honouring `Retry-After`
//!   ([`retry`]);
//! - its errors ([`HttpError`]) name the method, the URL with its secrets redacted ([`redact`])
//!   and the status, and turn the host's refusals into text that says what to grant. They never
//!   carry a response body or a request header.
//!
//! The redirect and retry logic runs over a [`Transport`]: inside the sandbox the `wasi:http`
//! one ([`system_transport`]), in native tests a [`ScriptedTransport`].

mod link_header;
pub mod redact;
pub mod retry;
mod scripted;
#[cfg(target_arch = "wasm32")]
mod wasi_transport;

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

pub use link_header::next_link;
pub use redact::{origin, redact_url};
pub use scripted::{ScriptedTransport, SentRequest};
pub use url::Url;

/// Redirects followed for one request before it fails.
pub const MAX_REDIRECTS: u32 = 5;
/// Retries of a `429` or `5xx` answer unless the client is told otherwise.
pub const DEFAULT_MAX_RETRIES: u32 = 3;

/// A request method. Only `GET` for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
        }
    }
}

/// A request header. A `credential` header (an `Authorization` value, an API key) is not sent
/// on when a redirect leads to another origin, and its value is never shown, not even by
/// `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
    pub credential: bool,
}

impl Header {
    pub fn new(name: &str, value: &str) -> Self {
        Header {
            name: name.to_owned(),
            value: value.to_owned(),
            credential: false,
        }
    }

    /// A header that carries a secret.
    pub fn credential(name: &str, value: &str) -> Self {
        Header {
            credential: true,
            ..Header::new(name, value)
        }
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.credential { "***" } else { &self.value };
        write!(f, "{}: {value}", self.name)
    }
}

/// One request as a [`Transport`] sends it: no redirects, no retries.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<Header>,
}

/// One answer as a [`Transport`] receives it: header names in lowercase, the whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        RawResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header (its name lowercased).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    fn header(&self, name: &str) -> Option<&str> {
        header_values(&self.headers, name).next()
    }
}

fn header_values<'h, 'n>(
    headers: &'h [(String, String)],
    name: &'n str,
) -> impl Iterator<Item = &'h str> + use<'h, 'n> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Why a transport could not get an answer. The host's refusals have their own cases, so
/// their text can say what to grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The origin is not in the catalog's `allowed_hosts` (`HttpRequestDenied`).
    Denied,
    /// The name resolves to a loopback, private or link-local address that the grant does not
    /// name literally (`DestinationIpProhibited`).
    IpProhibited,
    /// The response body is larger than the sandbox allows (`HttpResponseBodySize`).
    ResponseTooLarge,
    /// A timeout, with what was being done: "connecting", "waiting for the response", ...
    TimedOut(&'static str),
    /// The sandbox refused a request header (named, never its value).
    HeaderRefused { name: String, reason: &'static str },
    /// Anything else, e.g. the `Debug` form of a `wasi:http` error code.
    Other(String),
}

impl TransportError {
    /// The error as text, for a request to `url`.
    pub fn describe(&self, url: &Url) -> String {
        match self {
            TransportError::Denied => format!(
                "the host denied the request: origin {} is not in this catalog's allowed_hosts",
                origin(url)
            ),
            TransportError::IpProhibited => format!(
                "the host denied the request: {} resolves to a loopback, private or link-local \
                 address; grant that address literally to allow it",
                url.host_str().unwrap_or_default()
            ),
            TransportError::ResponseTooLarge => "response larger than the sandbox's cap".to_owned(),
            TransportError::TimedOut(what) => format!("timed out {what}"),
            TransportError::HeaderRefused { name, reason } => {
                format!("the sandbox refused request header \"{name}\": {reason}")
            }
            TransportError::Other(text) => text.clone(),
        }
    }
}

/// Sends single requests. The [`Client`] does redirects and retries on top.
pub trait Transport {
    /// Sends one request and reads the whole answer.
    fn send(&self, request: &Request) -> Result<RawResponse, TransportError>;

    /// Waits (between retries).
    fn sleep(&self, duration: Duration);

    /// A monotonic clock, for the duration of a request in log lines.
    fn now(&self) -> Duration;
}

/// The transport of this build: `wasi:http` inside the sandbox. Natively there is none: every
/// request fails, so native tests use a [`ScriptedTransport`].
pub fn system_transport() -> Rc<dyn Transport> {
    #[cfg(target_arch = "wasm32")]
    return Rc::new(wasi_transport::WasiTransport);
    #[cfg(not(target_arch = "wasm32"))]
    Rc::new(NoTransport)
}

#[cfg(not(target_arch = "wasm32"))]
struct NoTransport;

#[cfg(not(target_arch = "wasm32"))]
impl Transport for NoTransport {
    fn send(&self, _: &Request) -> Result<RawResponse, TransportError> {
        Err(TransportError::Other(
            "outbound http is only available inside the sandbox (wasm32-wasip2)".to_owned(),
        ))
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn now(&self) -> Duration {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed()
    }
}

/// A failed request: the method, the URL with its secrets redacted, the status when there was
/// one, and why. Never a response body or a request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    pub method: Method,
    /// The URL, redacted ([`redact_url`]).
    pub url: String,
    pub status: Option<u16>,
    pub reason: String,
    /// Whether the host refused the request (`allowed_hosts`, a private address).
    pub denied: bool,
}

impl HttpError {
    fn new(method: Method, url: &str, status: Option<u16>, reason: impl Into<String>) -> Self {
        HttpError {
            method,
            url: redact_url(url),
            status,
            reason: reason.into(),
            denied: false,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.method.as_str(), self.url)?;
        if let Some(status) = self.status {
            write!(f, "status {status}: ")?;
        }
        f.write_str(&self.reason)
    }
}

impl std::error::Error for HttpError {}

/// A final answer (after redirects and retries).
#[derive(Debug, Clone)]
pub struct Response {
    pub method: Method,
    /// Where the answer came from: the last URL of the redirect chain.
    pub url: Url,
    pub status: u16,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Retries spent on the last hop.
    pub retries: u32,
}

impl Response {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).next()
    }

    /// Every value of a header (case-insensitive name), in order.
    pub fn header_values<'n>(&self, name: &'n str) -> impl Iterator<Item = &str> + use<'_, 'n> {
        header_values(&self.headers, name)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The response if its status is 2xx, otherwise an error naming the status (and the
    /// retries spent on it). The body is not part of the error.
    pub fn error_for_status(self) -> Result<Response, HttpError> {
        if self.is_success() {
            return Ok(self);
        }
        let mut reason = status_text(self.status).to_owned();
        if self.retries > 0 {
            let noun = if self.retries == 1 {
                "retry"
            } else {
                "retries"
            };
            reason.push_str(&format!(" (after {} {noun})", self.retries));
        }
        Err(HttpError::new(
            self.method,
            self.url.as_str(),
            Some(self.status),
            reason,
        ))
    }
}

/// The reason phrase of common statuses, in lowercase.
pub fn status_text(status: u16) -> &'static str {
    match status {
        300 => "multiple choices",
        301 => "moved permanently",
        302 => "found",
        303 => "see other",
        304 => "not modified",
        307 => "temporary redirect",
        308 => "permanent redirect",
        400 => "bad request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not found",
        405 => "method not allowed",
        406 => "not acceptable",
        408 => "request timeout",
        409 => "conflict",
        410 => "gone",
        413 => "content too large",
        414 => "uri too long",
        415 => "unsupported media type",
        422 => "unprocessable content",
        429 => "too many requests",
        500 => "internal server error",
        501 => "not implemented",
        502 => "bad gateway",
        503 => "service unavailable",
        504 => "gateway timeout",
        _ => match status / 100 {
            1 => "informational",
            2 => "success",
            3 => "redirection",
            4 => "client error",
            5 => "server error",
            _ => "unknown status",
        },
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// A blocking HTTP client over a [`Transport`]: redirects, retries, clear errors, and one
/// `debug` log line per request (method, redacted URL, status, bytes, milliseconds) and one
/// `warn` line per retry.
#[derive(Clone)]
pub struct Client {
    transport: Rc<dyn Transport>,
    max_retries: u32,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    /// A client over [`system_transport`].
    pub fn new() -> Self {
        Client::with_transport(system_transport())
    }

    pub fn with_transport(transport: Rc<dyn Transport>) -> Self {
        Client {
            transport,
            max_retries: DEFAULT_MAX_RETRIES,
        }
    }

    /// Retries of a `429` or `5xx` answer (default [`DEFAULT_MAX_RETRIES`]).
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// `GET url` with `headers`. Any final status is an `Ok` answer (see
    /// [`Response::error_for_status`]); errors are requests that got no answer.
    pub fn get(&self, url: &str, headers: &[Header]) -> Result<Response, HttpError> {
        let method = Method::Get;
        let mut url = Url::parse(url)
            .map_err(|err| HttpError::new(method, url, None, format!("not a valid url: {err}")))?;
        check_scheme(method, &url)?;
        let mut headers = headers.to_vec();
        let mut redirects = 0;
        loop {
            let (response, retries) = self.send_with_retries(method, &url, &headers)?;
            let location = is_redirect(response.status)
                .then(|| response.header("location"))
                .flatten();
            let Some(location) = location else {
                return Ok(Response {
                    method,
                    url,
                    status: response.status,
                    headers: response.headers,
                    body: response.body,
                    retries,
                });
            };
            let next = url.join(location.trim()).map_err(|err| {
                HttpError::new(
                    method,
                    url.as_str(),
                    Some(response.status),
                    format!(
                        "the redirect's location {:?} is not a valid url: {err}",
                        redact_url(location)
                    ),
                )
            })?;
            if redirects == MAX_REDIRECTS {
                return Err(HttpError::new(
                    method,
                    url.as_str(),
                    Some(response.status),
                    format!(
                        "more than {MAX_REDIRECTS} redirects (the next one to {})",
                        redact_url(next.as_str())
                    ),
                ));
            }
            check_scheme(method, &next)?;
            redirects += 1;
            if next.origin() != url.origin() {
                headers.retain(|h| !h.credential);
            }
            url = next;
        }
    }

    /// One hop: sends, and sends again after a `429` or `5xx` while retries are left.
    fn send_with_retries(
        &self,
        method: Method,
        url: &Url,
        headers: &[Header],
    ) -> Result<(RawResponse, u32), HttpError> {
        let request = Request {
            method,
            url: url.clone(),
            headers: headers.to_vec(),
        };
        let shown = redact_url(url.as_str());
        let mut retries = 0;
        loop {
            let start = self.transport.now();
            let result = self.transport.send(&request);
            let ms = self.transport.now().saturating_sub(start).as_millis();
            let response = match result {
                Ok(response) => response,
                Err(err) => {
                    let reason = err.describe(url);
                    crate::log::debug(&format!(
                        "{} {shown}: failed after {ms} ms: {reason}",
                        method.as_str()
                    ));
                    return Err(HttpError {
                        denied: matches!(
                            err,
                            TransportError::Denied | TransportError::IpProhibited
                        ),
                        ..HttpError::new(method, url.as_str(), None, reason)
                    });
                }
            };
            crate::log::debug(&format!(
                "{} {shown}: status {}, {} bytes, {ms} ms",
                method.as_str(),
                response.status,
                response.body.len()
            ));
            if !retry::is_retryable(response.status) || retries >= self.max_retries {
                return Ok((response, retries));
            }
            let retry_after = response
                .header("retry-after")
                .and_then(retry::parse_retry_after);
            let delay = retry::delay(retries, retry_after);
            retries += 1;
            crate::log::warn(&format!(
                "{} {shown}: status {}, retry {retries} of {} in {} ms",
                method.as_str(),
                response.status,
                self.max_retries,
                delay.as_millis()
            ));
            self.transport.sleep(delay);
        }
    }
}

fn check_scheme(method: Method, url: &Url) -> Result<(), HttpError> {
    match url.scheme() {
        "http" | "https" if url.has_host() => Ok(()),
        "http" | "https" => Err(HttpError::new(
            method,
            url.as_str(),
            None,
            "the url has no host",
        )),
        other => Err(HttpError::new(
            method,
            url.as_str(),
            None,
            format!("scheme \"{other}\" is not supported (only http and https)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(transport: &Rc<ScriptedTransport>) -> Client {
        Client::with_transport(transport.clone())
    }

    #[test]
    fn redirects_are_followed_relative_and_absolute() {
        let t = Rc::new(ScriptedTransport::new());
        t.on(
            "http://a.test/start",
            RawResponse::new(302, "").with_header("Location", "/next?x=1"),
        );
        t.on(
            "http://a.test/next?x=1",
            RawResponse::new(307, "").with_header("location", "http://a.test/final"),
        );
        t.on("http://a.test/final", RawResponse::new(200, "ok"));
        let response = client(&t).get("http://a.test/start", &[]).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"ok");
        assert_eq!(response.url.as_str(), "http://a.test/final");
        assert_eq!(t.requests().len(), 3);
    }

    #[test]
    fn credentials_stay_with_their_origin() {
        let t = Rc::new(ScriptedTransport::new());
        t.on(
            "http://a.test/",
            RawResponse::new(301, "").with_header("location", "http://b.test/"),
        );
        t.on("http://b.test/", RawResponse::new(200, ""));
        let headers = [
            Header::new("accept", "application/json"),
            Header::credential("authorization", "Bearer s3cret"),
        ];
        client(&t).get("http://a.test/", &headers).unwrap();
        let sent = t.requests();
        assert_eq!(sent[0].headers.len(), 2);
        assert_eq!(
            sent[1].headers,
            vec![("accept".to_owned(), "application/json".to_owned())]
        );
        assert!(!format!("{headers:?}").contains("s3cret"));
    }

    #[test]
    fn a_redirect_loop_stops_after_five_hops() {
        let t = Rc::new(ScriptedTransport::new());
        t.on(
            "http://a.test/loop",
            RawResponse::new(302, "").with_header("location", "/loop"),
        );
        let err = client(&t).get("http://a.test/loop", &[]).unwrap_err();
        assert_eq!(t.requests().len(), 6);
        assert_eq!(err.status, Some(302));
        assert!(err.to_string().contains("more than 5 redirects"), "{err}");
    }

    #[test]
    fn retries_back_off_and_honour_retry_after() {
        let t = Rc::new(ScriptedTransport::new());
        t.on("http://a.test/x", RawResponse::new(503, "busy"));
        t.on(
            "http://a.test/x",
            RawResponse::new(429, "").with_header("Retry-After", "2"),
        );
        t.on("http://a.test/x", RawResponse::new(200, "done"));
        let response = client(&t).get("http://a.test/x", &[]).unwrap();
        assert_eq!((response.status, response.retries), (200, 2));
        assert_eq!(
            t.sleeps(),
            vec![Duration::from_millis(250), Duration::from_secs(2)]
        );
    }

    #[test]
    fn retries_run_out_and_the_error_names_the_status() {
        let t = Rc::new(ScriptedTransport::new());
        t.on(
            "http://a.test/x?api_key=k123",
            RawResponse::new(502, "secret body"),
        );
        let response = client(&t)
            .with_max_retries(2)
            .get("http://a.test/x?api_key=k123", &[])
            .unwrap();
        assert_eq!(t.requests().len(), 3);
        let err = response.error_for_status().unwrap_err();
        assert_eq!(
            err.to_string(),
            "GET http://a.test/x?api_key=***: status 502: bad gateway (after 2 retries)"
        );
        // 4xx other than 429 are not retried.
        let t = Rc::new(ScriptedTransport::new());
        t.on("http://a.test/y", RawResponse::new(404, ""));
        let err = client(&t)
            .get("http://a.test/y", &[])
            .unwrap()
            .error_for_status()
            .unwrap_err();
        assert_eq!(t.requests().len(), 1);
        assert_eq!(
            err.to_string(),
            "GET http://a.test/y: status 404: not found"
        );
    }

    #[test]
    fn refusals_say_what_to_grant() {
        let t = Rc::new(ScriptedTransport::new());
        t.fail(
            "http://user:pw@api.test:8443/v1?token=t",
            TransportError::Denied,
        );
        let err = client(&t)
            .get("http://user:pw@api.test:8443/v1?token=t", &[])
            .unwrap_err();
        assert!(err.denied);
        assert_eq!(
            err.to_string(),
            "GET http://api.test:8443/v1?token=***: the host denied the request: origin \
             http://api.test:8443 is not in this catalog's allowed_hosts"
        );
        let url = Url::parse("https://internal.test/x").unwrap();
        assert_eq!(
            TransportError::IpProhibited.describe(&url),
            "the host denied the request: internal.test resolves to a loopback, private or \
             link-local address; grant that address literally to allow it"
        );
        assert_eq!(
            TransportError::ResponseTooLarge.describe(&url),
            "response larger than the sandbox's cap"
        );
        assert_eq!(
            TransportError::TimedOut("connecting").describe(&url),
            "timed out connecting"
        );
    }

    #[test]
    fn only_http_urls_are_fetched() {
        let t = Rc::new(ScriptedTransport::new());
        let err = client(&t).get("file:///etc/passwd", &[]).unwrap_err();
        assert!(err.reason.contains("only http and https"), "{err}");
        let err = client(&t).get("not a url", &[]).unwrap_err();
        assert!(err.reason.contains("not a valid url"), "{err}");
        t.on(
            "http://a.test/",
            RawResponse::new(302, "").with_header("location", "ftp://a.test/"),
        );
        let err = client(&t).get("http://a.test/", &[]).unwrap_err();
        assert!(err.reason.contains("\"ftp\""), "{err}");
        assert!(t.requests().len() == 1);
    }
}
