//! Outbound HTTP for plugins: every request a plugin sends through `wasi:http` passes here.
//!
//! The order of checks, each a refusal the guest sees as a `wasi:http` error code and the log
//! shows with the catalog and plugin attached:
//!
//! 1. The origin (scheme, host, port) must be one of the catalog's `allowed_hosts`
//!    (`HttpRequestDenied`).
//! 2. The host resolves the name itself, once, and connects only to the addresses it resolved.
//!    A name that resolves to loopback, private, link-local or other non-public space is refused
//!    (`DestinationIpProhibited`) unless the grant names that address literally: a public name
//!    cannot be pointed at the host's own network later (DNS rebinding).
//! 3. Connect, first byte and the whole request run under the sandbox's HTTP timeouts (never
//!    longer than the call deadline), and a response body past the sandbox's byte cap fails
//!    (`HttpResponseBodySize`).
//!
//! Redirects are not followed here: a redirect the guest chases is a new request, checked again
//! from step 1. Why our own connect rather than `wasmtime-wasi-http`'s default: that one
//! resolves the name inside `TcpStream::connect`, so the address it connects to is one we never
//! saw (ADR 0022).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::bindings::v0_1_0::quarry::connector::logging::Level;
use crate::plugin_log::PluginLog;
use crate::sandbox::HostPattern;

/// The time and size limits of one request; each is already capped by the call deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Resolving the name, connecting and the TLS handshake.
    pub connect: Duration,
    /// From sending the request to the response head, and between two body chunks.
    pub first_byte: Duration,
    /// From the start of the request to the last byte of the response body.
    pub whole_request: Duration,
    /// Bytes of response body; one more fails the request.
    pub response_bytes: u64,
}

/// A sent request's result: the response and the future that drives the connection's I/O.
type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendResult = Result<(http::Response<WasiBody>, IoFuture), HttpError>;

/// The outbound HTTP policy of one instance (see the module doc).
#[derive(Debug)]
pub struct HttpPolicy {
    allowed: Arc<[HostPattern]>,
    limits: HttpLimits,
    log: PluginLog,
}

impl HttpPolicy {
    pub fn new(allowed: Arc<[HostPattern]>, limits: HttpLimits, log: PluginLog) -> Self {
        HttpPolicy {
            allowed,
            limits,
            log,
        }
    }
}

impl WasiHttpHooks for HttpPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: IoFuture,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let target = match Target::of(request.uri()) {
            Ok(target) => target,
            Err(err) => return Box::new(async move { Err(err) }),
        };
        if !self.allowed.iter().any(|p| target.matches(p)) {
            self.log.log(
                Level::Warn,
                &format!("http request to {target} denied: origin not in allowed_hosts"),
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        // The guest may ask for shorter timeouts, never longer ones.
        let mut limits = self.limits;
        if let Some(options) = options {
            let shorter =
                |ours: Duration, theirs: Option<Duration>| theirs.map_or(ours, |t| t.min(ours));
            limits.connect = shorter(limits.connect, options.connect_timeout);
            limits.first_byte = shorter(limits.first_byte, options.first_byte_timeout);
        }
        let log = self.log.clone();
        Box::new(async move {
            let result = send(request, &target, limits).await;
            match &result {
                Err(HttpError::DestinationIpProhibited) => log.log(
                    Level::Warn,
                    &format!(
                        "http request to {target} denied: {} resolves to a loopback, private or \
                         link-local address, and the grant does not name that address",
                        target.host
                    ),
                ),
                Err(err) => log.log(
                    Level::Warn,
                    &format!("http request to {target} failed: {err}"),
                ),
                Ok(_) => {}
            }
            result
        })
    }
}

/// Where a request goes: scheme, host (without IPv6 brackets) and port.
#[derive(Debug, Clone)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
}

impl Target {
    fn of(uri: &http::Uri) -> Result<Target, HttpError> {
        let tls = match uri.scheme_str() {
            Some("https") | None => true,
            Some("http") => false,
            Some(_) => return Err(HttpError::HttpProtocolError),
        };
        let host = uri.host().ok_or(HttpError::HttpRequestUriInvalid)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(Target {
            tls,
            host: host.to_ascii_lowercase(),
            port: uri.port_u16().unwrap_or(if tls { 443 } else { 80 }),
        })
    }

    fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    fn matches(&self, pattern: &HostPattern) -> bool {
        let pattern_host = pattern.host.trim_start_matches('[').trim_end_matches(']');
        pattern.scheme == self.scheme()
            && pattern.port == self.port
            && pattern_host.eq_ignore_ascii_case(&self.host)
    }

    /// The host as an address, when the URL (and so the grant) names one literally.
    fn literal_ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.literal_ip() {
            Some(IpAddr::V6(ip)) => write!(f, "{}://[{ip}]:{}", self.scheme(), self.port),
            _ => write!(f, "{}://{}:{}", self.scheme(), self.host, self.port),
        }
    }
}

/// Whether `ip` is outside public unicast space: loopback, private, link-local, carrier-grade
/// NAT, unspecified, broadcast, multicast, documentation, unique-local, and IPv4 addresses
/// mapped into IPv6 that are any of those.
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_non_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_non_public_v4(v4),
            None => is_non_public_v6(v6),
        },
    }
}

fn is_non_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || a >= 240
}

fn is_non_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8
}

/// The addresses to connect to: the literal address, or every address the name resolves to,
/// provided none is non-public.
async fn resolve(target: &Target) -> Result<Vec<SocketAddr>, HttpError> {
    if let Some(ip) = target.literal_ip() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let found = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|err| HttpError::DnsError {
            rcode: Some(err.to_string()),
            info_code: None,
        })?;
    let addrs: Vec<SocketAddr> = found.collect();
    if addrs.is_empty() {
        return Err(HttpError::DestinationNotFound);
    }
    if addrs.iter().any(|a| is_non_public(a.ip())) {
        return Err(HttpError::DestinationIpProhibited);
    }
    Ok(addrs)
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Resolves, connects (to the first address that answers) and, for https, shakes hands.
async fn connect(target: &Target) -> Result<Box<dyn Stream>, HttpError> {
    let addrs = resolve(target).await?;
    let mut last = None;
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(err) => last = Some(err),
        }
    }
    let tcp = match (tcp, last) {
        (Some(tcp), _) => tcp,
        (None, Some(err)) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(HttpError::ConnectionRefused);
        }
        (None, Some(err)) => return Err(HttpError::Connect(err)),
        (None, None) => return Err(HttpError::DestinationNotFound),
    };
    if !target.tls {
        return Ok(Box::new(tcp));
    }
    let name = match target.literal_ip() {
        Some(ip) => rustls::pki_types::ServerName::from(ip),
        None => rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(HttpError::InvalidDnsNameError)?,
    };
    let tls = tokio_rustls::TlsConnector::from(tls_config()?)
        .connect(name, tcp)
        .await
        .map_err(HttpError::Tls)?;
    Ok(Box::new(tls))
}

/// Client TLS with the Mozilla root set, built once per process.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, HttpError> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(config.clone());
    }
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| HttpError::InternalError(Some(format!("tls client setup: {err}"))))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}

/// Sends one request to an allowed origin under `limits`.
async fn send(
    mut request: http::Request<WasiBody>,
    target: &Target,
    limits: HttpLimits,
) -> SendResult {
    let started = Instant::now();
    let deadline = started + limits.whole_request;
    let connect_by = deadline.min(started + limits.connect);
    let stream = tokio::time::timeout_at(connect_by, connect(target))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)??;
    let (mut sender, connection) = tokio::time::timeout_at(
        connect_by,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| HttpError::ConnectionTimeout)??;

    // On a direct connection the request line carries the path only.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse::<http::Uri>()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;
    *request.uri_mut() = path;

    let mut connection = Box::pin(connection);
    let mut closed = false;
    let first_byte_by = deadline.min(Instant::now() + limits.first_byte);
    let head = tokio::time::timeout_at(first_byte_by, async {
        let response = sender.send_request(request);
        tokio::pin!(response);
        tokio::select! {
            biased;
            head = &mut response => return head.map_err(HttpError::from),
            ended = &mut connection => {
                closed = true;
                ended.map_err(HttpError::from)?;
            }
        }
        // The connection closed cleanly: a response it delivered is ready now, and a server
        // that closed without answering is an error from `response`.
        response.await.map_err(HttpError::from)
    })
    .await
    .map_err(|_| HttpError::HttpResponseTimeout)??;

    let declared = head
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.response_bytes) {
        return Err(HttpError::HttpResponseBodySize(declared));
    }
    let response = head.map(|incoming| {
        UnsyncBoxBody::new(LimitedBody {
            incoming,
            remaining: limits.response_bytes,
            between_bytes: limits.first_byte,
            idle: Box::pin(tokio::time::sleep(limits.first_byte)),
            whole: Box::pin(tokio::time::sleep_until(deadline)),
        })
    });
    let io: IoFuture = Box::new(async move {
        if closed {
            return Ok(());
        }
        tokio::time::timeout_at(deadline, connection)
            .await
            .map_err(|_| HttpError::HttpResponseTimeout)?
            .map_err(HttpError::from)
    });
    Ok((response, io))
}

/// A response body held to the byte cap, the idle timeout between chunks and the whole-request
/// deadline.
struct LimitedBody {
    incoming: hyper::body::Incoming,
    remaining: u64,
    between_bytes: Duration,
    idle: Pin<Box<Sleep>>,
    whole: Pin<Box<Sleep>>,
}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        if this.whole.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(HttpError::HttpResponseTimeout)));
        }
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > this.remaining {
                        return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(None))));
                    }
                    this.remaining -= len;
                }
                this.idle
                    .as_mut()
                    .reset(Instant::now() + this.between_bytes);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(HttpError::from(err)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_space_is_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_non_public(ip.parse().unwrap()), "{ip} is not public");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_non_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn targets_match_grants_by_scheme_host_and_port() {
        let target = |url: &str| Target::of(&url.parse().unwrap()).unwrap();
        let grant = HostPattern::parse("http://127.0.0.1:8080").unwrap();
        assert!(target("http://127.0.0.1:8080/a?b=c").matches(&grant));
        assert!(!target("https://127.0.0.1:8080/").matches(&grant));
        assert!(!target("http://127.0.0.1:8081/").matches(&grant));
        assert!(!target("http://localhost:8080/").matches(&grant));
        let v6 = HostPattern::parse("https://[::1]:8443").unwrap();
        let t = target("https://[::1]:8443/x");
        assert!(t.matches(&v6));
        assert_eq!(t.literal_ip(), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(t.to_string(), "https://[::1]:8443");
        assert_eq!(target("https://API.example.com/").port, 443);
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_and_a_literal_is_not() {
        let by_name = Target::of(&"http://localhost:9/".parse().unwrap()).unwrap();
        assert!(matches!(
            resolve(&by_name).await,
            Err(HttpError::DestinationIpProhibited)
        ));
        let literal = Target::of(&"http://127.0.0.1:9/".parse().unwrap()).unwrap();
        assert_eq!(
            resolve(&literal).await.unwrap(),
            vec!["127.0.0.1:9".parse::<SocketAddr>().unwrap()]
        );
    }
}
