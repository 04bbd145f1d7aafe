//! Limits and grants, and the per-instance store state that enforces them.
//!
//! A connector starts with nothing: no filesystem, no network, no environment, no stdio of the
//! host (its stdout/stderr go to the log). A catalog may grant read-only directories
//! (`allowed_paths`), outbound HTTP to listed origins (`allowed_hosts`, enforced by
//! [`crate::outbound_http`]) and TCP connections to listed endpoints (`allowed_sockets`, enforced
//! by [`crate::socket_policy`]), and may raise or lower its limits within the operator's maxima.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::sockets::WasiSocketsCtxView;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::v0_1_0::quarry::connector::logging;
use crate::error::{ByteSize, Error, Result};
use crate::outbound_http::{HttpLimits, HttpPolicy};
use crate::plugin_log::{LogRate, PluginLog};
use crate::socket_grant::SocketGrant;
use crate::socket_policy::{GuardedSockets, ResolvedSockets, SocketPolicy};

const MIB: u64 = 1024 * 1024;

/// Per-catalog limits. The runtime has defaults and operator maxima of the same shape; a
/// catalog may set anything up to the maxima.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxLimits {
    /// Memory one instance may grow to: all its linear memories and tables together.
    pub memory_bytes: u64,
    /// Wall-clock time one call into the plugin may run (enforced by epoch interruption, so
    /// with the ticker's granularity).
    pub call_deadline: Duration,
    /// Hard cap on the encoded size of one batch; a larger batch fails the scan.
    pub max_batch_bytes: u64,
    /// Rows per batch the host asks for.
    pub batch_rows: u32,
    /// Bytes per batch the host asks for (a hint; `max_batch_bytes` is the cap).
    pub batch_bytes: u64,
    /// Log lines per instance.
    pub log_rate: LogRate,
    /// Outbound HTTP: resolving, connecting and the TLS handshake of one request.
    pub http_connect_timeout: Duration,
    /// Outbound HTTP: from sending a request to its response head, and between body chunks.
    pub http_first_byte_timeout: Duration,
    /// Outbound HTTP: one whole request, to the last byte of its response.
    pub http_request_timeout: Duration,
    /// Outbound HTTP: bytes of one response body.
    pub http_response_bytes: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            memory_bytes: 512 * MIB,
            call_deadline: Duration::from_secs(30),
            max_batch_bytes: 64 * MIB,
            batch_rows: 8192,
            batch_bytes: 8 * MIB,
            log_rate: LogRate::default(),
            http_connect_timeout: Duration::from_secs(10),
            http_first_byte_timeout: Duration::from_secs(30),
            http_request_timeout: Duration::from_secs(60),
            http_response_bytes: 64 * MIB,
        }
    }
}

impl SandboxLimits {
    /// Operator maxima that go with the defaults: 4 GiB memory, 10 minute calls, 256 MiB
    /// batches.
    pub fn default_maxima() -> Self {
        SandboxLimits {
            memory_bytes: 4096 * MIB,
            call_deadline: Duration::from_secs(600),
            max_batch_bytes: 256 * MIB,
            batch_rows: 1 << 20,
            batch_bytes: 256 * MIB,
            log_rate: LogRate {
                burst: 10_000,
                per_second: 1_000,
            },
            http_connect_timeout: Duration::from_secs(60),
            http_first_byte_timeout: Duration::from_secs(600),
            http_request_timeout: Duration::from_secs(600),
            http_response_bytes: 1024 * MIB,
        }
    }

    /// Checks every limit against the operator maxima.
    pub fn check_within(&self, maxima: &SandboxLimits, catalog: &str) -> Result<()> {
        let over = |what: &str, asked: String, max: String| Error::InvalidCatalog {
            catalog: catalog.to_owned(),
            message: format!("{what} {asked} exceeds the operator maximum {max}"),
        };
        if self.memory_bytes > maxima.memory_bytes {
            return Err(over(
                "memory limit",
                ByteSize(self.memory_bytes).to_string(),
                ByteSize(maxima.memory_bytes).to_string(),
            ));
        }
        if self.call_deadline > maxima.call_deadline {
            return Err(over(
                "call deadline",
                format!("{:?}", self.call_deadline),
                format!("{:?}", maxima.call_deadline),
            ));
        }
        if self.max_batch_bytes > maxima.max_batch_bytes {
            return Err(over(
                "batch byte cap",
                ByteSize(self.max_batch_bytes).to_string(),
                ByteSize(maxima.max_batch_bytes).to_string(),
            ));
        }
        if self.batch_rows > maxima.batch_rows || self.batch_rows == 0 {
            return Err(over(
                "batch rows",
                self.batch_rows.to_string(),
                maxima.batch_rows.to_string(),
            ));
        }
        if self.batch_bytes > maxima.batch_bytes {
            return Err(over(
                "batch bytes",
                ByteSize(self.batch_bytes).to_string(),
                ByteSize(maxima.batch_bytes).to_string(),
            ));
        }
        if self.log_rate.burst > maxima.log_rate.burst
            || self.log_rate.per_second > maxima.log_rate.per_second
        {
            return Err(over(
                "log rate",
                format!("{:?}", self.log_rate),
                format!("{:?}", maxima.log_rate),
            ));
        }
        for (what, asked, max) in [
            (
                "http connect timeout",
                self.http_connect_timeout,
                maxima.http_connect_timeout,
            ),
            (
                "http first-byte timeout",
                self.http_first_byte_timeout,
                maxima.http_first_byte_timeout,
            ),
            (
                "http request timeout",
                self.http_request_timeout,
                maxima.http_request_timeout,
            ),
        ] {
            if asked > max {
                return Err(over(what, format!("{asked:?}"), format!("{max:?}")));
            }
        }
        if self.http_response_bytes > maxima.http_response_bytes {
            return Err(over(
                "http response size",
                ByteSize(self.http_response_bytes).to_string(),
                ByteSize(maxima.http_response_bytes).to_string(),
            ));
        }
        Ok(())
    }

    /// The outbound HTTP limits, none longer than the call deadline.
    pub fn http_limits(&self) -> HttpLimits {
        HttpLimits {
            connect: self.http_connect_timeout.min(self.call_deadline),
            first_byte: self.http_first_byte_timeout.min(self.call_deadline),
            whole_request: self.http_request_timeout.min(self.call_deadline),
            response_bytes: self.http_response_bytes,
        }
    }
}

/// An origin a catalog may send HTTP requests to: scheme, host and port, compared exactly
/// (no wildcards, no subdomains).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPattern {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl HostPattern {
    /// Parses `https://api.example.com`, `http://127.0.0.1:8080`; the port defaults by scheme.
    pub fn parse(s: &str) -> Option<HostPattern> {
        let (scheme, rest) = s.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains(['/', '@', '?', '#']) {
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, p.parse().ok()?),
            _ => (authority, default_port),
        };
        if host.is_empty() {
            return None;
        }
        Some(HostPattern {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// What a catalog opens up beyond the empty sandbox, resolved: real directories, parsed
/// origins and parsed socket endpoints (their names are resolved per instance). Built from the declared form the store keeps ([`quarry_contract::Grants`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Host directories the plugin may read (not write), each visible to the guest at the same
    /// absolute path.
    pub allowed_paths: Vec<PathBuf>,
    /// Origins the plugin may send HTTP requests to, through `wasi:http`.
    pub allowed_hosts: Vec<HostPattern>,
    /// TCP endpoints the plugin may connect to, through `wasi:sockets`.
    pub allowed_sockets: Vec<SocketGrant>,
}

/// The sandbox grants for a catalog's declared grants (checked when the catalog was stored): the
/// paths as given, the origins and sockets parsed (one that does not parse grants nothing).
impl From<&quarry_contract::Grants> for Grants {
    fn from(declared: &quarry_contract::Grants) -> Self {
        Grants {
            allowed_paths: declared.allowed_paths.iter().map(PathBuf::from).collect(),
            allowed_hosts: declared
                .allowed_hosts
                .iter()
                .filter_map(|h| HostPattern::parse(h))
                .collect(),
            allowed_sockets: declared
                .allowed_sockets
                .iter()
                .filter_map(|s| SocketGrant::parse(s).ok())
                .collect(),
        }
    }
}

impl Grants {
    /// Canonicalizes the granted directories (a missing one is an error), so the guest sees
    /// each at its real path and a symlink cannot widen the grant later.
    pub fn resolve(&self, catalog: &str) -> Result<Grants> {
        let mut allowed_paths = Vec::with_capacity(self.allowed_paths.len());
        for p in &self.allowed_paths {
            let real = std::fs::canonicalize(p).map_err(|e| Error::InvalidCatalog {
                catalog: catalog.to_owned(),
                message: format!("allowed path {}: {e}", p.display()),
            })?;
            if !real.is_dir() {
                return Err(Error::InvalidCatalog {
                    catalog: catalog.to_owned(),
                    message: format!("allowed path {} is not a directory", p.display()),
                });
            }
            allowed_paths.push(real);
        }
        Ok(Grants {
            allowed_paths,
            allowed_hosts: self.allowed_hosts.clone(),
            allowed_sockets: self.allowed_sockets.clone(),
        })
    }
}

/// Memory and table accounting for one store: one budget for the whole instance, every linear
/// memory and every table of every core module in the component together (a component may hold
/// several). Remembers that it refused a grow, so a trap that follows (a Rust guest aborts when
/// allocation fails) is reported as the memory limit.
#[derive(Debug)]
pub struct Limiter {
    pub memory_bytes: u64,
    pub memory_refused: bool,
    /// Bytes granted so far: linear memories plus table elements.
    used: u64,
}

/// What a table element is charged against the memory budget: a function reference is a
/// pointer in the host.
const TABLE_ELEMENT_BYTES: u64 = 8;

impl Limiter {
    pub fn new(memory_bytes: u64) -> Self {
        Limiter {
            memory_bytes,
            memory_refused: false,
            used: 0,
        }
    }

    /// Bytes granted so far, all memories and tables together.
    pub fn used_bytes(&self) -> u64 {
        self.used
    }

    /// Grants growing one memory or table from `current` to `desired` bytes if the instance's
    /// total stays within the budget.
    fn grow(&mut self, current: u64, desired: u64) -> bool {
        let total = self.used.saturating_sub(current).saturating_add(desired);
        if total > self.memory_bytes {
            self.memory_refused = true;
            return false;
        }
        self.used = total;
        true
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let bytes = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Ok(self.grow(bytes(current), bytes(desired)))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let bytes = |n: usize| {
            u64::try_from(n)
                .unwrap_or(u64::MAX)
                .saturating_mul(TABLE_ELEMENT_BYTES)
        };
        Ok(self.grow(bytes(current), bytes(desired)))
    }
}

/// Everything a store holds for one instance.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    http_policy: HttpPolicy,
    pub(crate) sockets: SocketPolicy,
    pub(crate) limiter: Limiter,
    pub(crate) log: PluginLog,
}

impl fmt::Debug for StoreState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreState")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl StoreState {
    /// A fresh sandbox: no environment, arguments, stdin, network or files beyond the grants;
    /// stdout and stderr into `log`; TCP only to `sockets`, the socket grants as resolved.
    pub fn new(
        limits: &SandboxLimits,
        grants: &Grants,
        sockets: ResolvedSockets,
        log: PluginLog,
    ) -> Result<Self> {
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(log.stdout())
            .stderr(log.stderr())
            // File I/O runs on the plugin I/O runtime's blocking pool, so a read that never
            // returns is a pending future the call deadline can drop (ADR 0018).
            .allow_blocking_current_thread(false);
        for dir in &grants.allowed_paths {
            let guest = dir.to_string_lossy().into_owned();
            builder
                .preopened_dir(dir, guest, FsPerms::ReadOnly)
                .map_err(|e| Error::Internal(format!("preopen {}: {e}", dir.display())))?;
        }
        let sockets = SocketPolicy::new(sockets, log.clone(), &mut builder);
        Ok(StoreState {
            wasi: builder.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            http_policy: HttpPolicy::new(
                grants.allowed_hosts.clone().into(),
                limits.http_limits(),
                log.clone(),
            ),
            sockets,
            limiter: Limiter::new(limits.memory_bytes),
            log,
        })
    }

    /// The view the sandbox's own name lookup and TCP socket creation work with.
    pub(crate) fn guarded_sockets(&mut self) -> GuardedSockets<'_> {
        GuardedSockets {
            policy: &self.sockets,
            sockets: WasiSocketsCtxView {
                ctx: self.wasi.sockets(),
                table: &mut self.table,
            },
        }
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.http_policy,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

/// The contract's `types` interface has no functions; its host trait is empty.
impl crate::bindings::v0_1_0::quarry::connector::types::Host for StoreState {}

impl logging::Host for StoreState {
    fn log(&mut self, level: logging::Level, message: String) {
        self.log.log(level, &message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_patterns() {
        let p = HostPattern::parse("https://API.example.com").unwrap();
        assert_eq!(
            (p.scheme.as_str(), p.host.as_str(), p.port),
            ("https", "api.example.com", 443)
        );
        let p = HostPattern::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(p.port, 8080);
        assert!(HostPattern::parse("ftp://x").is_none());
        assert!(HostPattern::parse("https://user@x").is_none());
        assert!(HostPattern::parse("https://x/path").is_none());
    }

    #[test]
    fn one_budget_covers_every_memory_and_table_of_an_instance() {
        let mut limiter = Limiter::new(10 * MIB);
        let grow = |l: &mut Limiter, current: u64, desired: u64| {
            l.memory_growing(current as usize, desired as usize, None)
                .unwrap()
        };
        // Two memories of 4 MiB each fit; growing either past the budget's remainder does not.
        assert!(grow(&mut limiter, 0, 4 * MIB));
        assert!(grow(&mut limiter, 0, 4 * MIB));
        assert_eq!(limiter.used_bytes(), 8 * MIB);
        assert!(!grow(&mut limiter, 4 * MIB, 7 * MIB));
        assert!(limiter.memory_refused);
        // A table's elements count against the same budget.
        assert!(
            !limiter
                .table_growing(0, (3 * MIB / TABLE_ELEMENT_BYTES) as usize, None)
                .unwrap()
        );
        assert!(limiter.table_growing(0, 1024, None).unwrap());
        assert_eq!(limiter.used_bytes(), 8 * MIB + 8192);
        // Growing within what one memory already had costs only the difference.
        assert!(grow(&mut limiter, 4 * MIB, 5 * MIB));
        assert_eq!(limiter.used_bytes(), 9 * MIB + 8192);
    }

    #[test]
    fn limits_above_maxima_are_refused() {
        let limits = SandboxLimits {
            memory_bytes: 8192 * MIB,
            ..SandboxLimits::default()
        };
        let err = limits
            .check_within(&SandboxLimits::default_maxima(), "t1")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "catalog \"t1\": memory limit 8 GiB exceeds the operator maximum 4 GiB"
        );
    }
}
