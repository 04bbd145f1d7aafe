//! The real transport (wasm32 only): one request through `wasi:http/outgoing-handler`, waited
//! for with `subscribe` + `block`, the whole body read with blocking reads; sleeps and the clock
//! through `wasi:clocks/monotonic-clock`.

use std::time::Duration;

use url::{Position, Url};
use wasip2::clocks::monotonic_clock;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, HeaderError, IncomingBody, IncomingResponse, Method as WasiMethod,
    OutgoingRequest, Scheme, http_error_code,
};
use wasip2::io::streams::StreamError;

use super::{Header, Method, RawResponse, Request, Transport, TransportError};

/// Bytes asked for per blocking read of a response body.
const READ_CHUNK: u64 = 64 * 1024;

/// `wasi:http` and `wasi:clocks`, as the host provides them.
pub struct WasiTransport;

impl Transport for WasiTransport {
    fn send(&self, request: &Request) -> Result<RawResponse, TransportError> {
        let outgoing = OutgoingRequest::new(fields(&request.headers)?);
        let method = match request.method {
            Method::Get => WasiMethod::Get,
        };
        let refused = |what: &str| TransportError::Other(format!("the sandbox refused the {what}"));
        outgoing
            .set_method(&method)
            .map_err(|()| refused("method"))?;
        let scheme = match request.url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => Scheme::Other(other.to_owned()),
        };
        outgoing
            .set_scheme(Some(&scheme))
            .map_err(|()| refused("scheme"))?;
        outgoing
            .set_authority(Some(authority(&request.url)))
            .map_err(|()| refused("authority"))?;
        outgoing
            .set_path_with_query(Some(
                &request.url[Position::BeforePath..Position::AfterQuery],
            ))
            .map_err(|()| refused("path"))?;

        let future = outgoing_handler::handle(outgoing, None).map_err(from_code)?;
        future.subscribe().block();
        let response = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(from_code(code)),
            Some(Err(())) => {
                return Err(TransportError::Other(
                    "the response was already taken".to_owned(),
                ));
            }
            None => {
                return Err(TransportError::Other(
                    "no response after waiting for it".to_owned(),
                ));
            }
        };
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| {
                (
                    name.to_ascii_lowercase(),
                    String::from_utf8_lossy(&value).into_owned(),
                )
            })
            .collect();
        let body = read_body(&response)?;
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    fn sleep(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        monotonic_clock::subscribe_duration(nanos).block();
    }

    fn now(&self) -> Duration {
        Duration::from_nanos(monotonic_clock::now())
    }
}

/// `host[:port]` as the URL writes it.
fn authority(url: &Url) -> &str {
    &url[Position::BeforeHost..Position::AfterPort]
}

/// The request headers; a header the sandbox refuses is named (never its value).
fn fields(headers: &[Header]) -> Result<Fields, TransportError> {
    let fields = Fields::new();
    for header in headers {
        fields
            .append(&header.name, header.value.as_bytes())
            .map_err(|err| TransportError::HeaderRefused {
                name: header.name.clone(),
                reason: match err {
                    HeaderError::InvalidSyntax => "invalid name or value",
                    HeaderError::Forbidden => "forbidden",
                    HeaderError::Immutable => "immutable",
                },
            })?;
    }
    Ok(fields)
}

/// The whole body, then the trailers' verdict (where a body cut short by the host's cap or
/// timeouts may be reported).
fn read_body(response: &IncomingResponse) -> Result<Vec<u8>, TransportError> {
    let body = response
        .consume()
        .map_err(|()| TransportError::Other("the response body was already taken".to_owned()))?;
    let mut bytes = Vec::new();
    {
        let stream = body
            .stream()
            .map_err(|()| TransportError::Other("the response body was already read".to_owned()))?;
        loop {
            match stream.blocking_read(READ_CHUNK) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(err)) => {
                    return Err(match http_error_code(&err) {
                        Some(code) => from_code(code),
                        None => TransportError::Other(format!(
                            "reading the response body failed: {}",
                            err.to_debug_string()
                        )),
                    });
                }
            }
        }
        // The stream is a child of the body: dropped here, before the body is finished.
    }
    let trailers = IncomingBody::finish(body);
    trailers.subscribe().block();
    if let Some(Ok(Err(code))) = trailers.get() {
        return Err(from_code(code));
    }
    Ok(bytes)
}

/// A `wasi:http` error code as a [`TransportError`]: the host's refusals and timeouts get their
/// own cases, the rest their `Debug` form.
fn from_code(code: ErrorCode) -> TransportError {
    match code {
        ErrorCode::HttpRequestDenied => TransportError::Denied,
        ErrorCode::DestinationIpProhibited => TransportError::IpProhibited,
        ErrorCode::HttpResponseBodySize(_) => TransportError::ResponseTooLarge,
        ErrorCode::DnsTimeout => TransportError::TimedOut("resolving the host name"),
        ErrorCode::ConnectionTimeout => TransportError::TimedOut("connecting"),
        ErrorCode::ConnectionReadTimeout => TransportError::TimedOut("reading the response"),
        ErrorCode::ConnectionWriteTimeout => TransportError::TimedOut("sending the request"),
        ErrorCode::HttpResponseTimeout => TransportError::TimedOut("waiting for the response"),
        other => TransportError::Other(format!("{other:?}")),
    }
}
