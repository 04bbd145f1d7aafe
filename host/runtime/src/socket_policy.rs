//! TCP through `wasi:sockets` for plugins, limited to a catalog's `allowed_sockets`.
//!
//! The host resolves the granted names itself, when an instance is set up (on the plugin I/O
//! runtime, under the call deadline: a name server that never answers cannot hold a call past
//! it), and from then on:
//!
//! - `wasi:sockets/ip-name-lookup` answers only the granted names, with the addresses the host
//!   resolved, and an IP literal only when a grant names that address; every other name is
//!   refused. The plugin never reaches a resolver, so a name cannot be pointed elsewhere between
//!   the check and the connect (DNS rebinding).
//! - A TCP connect is allowed only to exactly the (address, port) pairs of the grants: a granted
//!   name's resolved addresses with its port, or a granted literal address with its port.
//! - Listening is refused (an explicit bind to anything but the wildcard address with port 0,
//!   and every listen), and so is UDP. With no socket grant at all, no TCP socket can even be
//!   created.
//!
//! The guest only sees an error code. The host remembers the first refusal of each call
//! ([`SocketDenial`]) and logs it with catalog and plugin; when the call fails, the runtime
//! reports the refusal instead of the plugin's own words, so the user reads which endpoint to
//! grant (ADR 0027).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    self, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode, IpAddress};
use wasmtime_wasi::p2::bindings::sockets::tcp_create_socket::{self, IpAddressFamily};
use wasmtime_wasi::p2::{DynPollable, Network, Pollable, SocketError, TcpSocket};
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsCtxView};
use wasmtime_wasi::{WasiCtxBuilder, WasiView};

use crate::bindings::v0_1_0::quarry::connector::logging::Level;
use crate::plugin_log::PluginLog;
use crate::socket_grant::{SocketGrant, SocketHost};

/// Something a plugin tried on the network that its catalog's grants do not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketDenial {
    /// A TCP connect to an endpoint that is not granted.
    Connect(SocketAddr),
    /// A name lookup of a name no grant names.
    NameLookup(String),
    /// A TCP socket, when the catalog grants no socket at all.
    NoSocketGrant,
    /// Listening, a bind to a chosen address, or UDP: never allowed.
    NotOutboundTcp { what: String },
}

impl fmt::Display for SocketDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketDenial::Connect(addr) => write!(
                f,
                "connect to {addr} denied: not in allowed_sockets; add it with --grant-socket \
                 {addr} (API: grants.allowed_sockets)"
            ),
            SocketDenial::NameLookup(name) => write!(
                f,
                "name lookup of \"{name}\" denied: not in allowed_sockets; add it with \
                 --grant-socket {name}:PORT (API: grants.allowed_sockets)"
            ),
            SocketDenial::NoSocketGrant => write!(
                f,
                "opening a TCP socket denied: the catalog has no allowed_sockets; add the \
                 endpoint with --grant-socket HOST:PORT (API: grants.allowed_sockets)"
            ),
            SocketDenial::NotOutboundTcp { what } => write!(
                f,
                "{what} denied: the sandbox allows only outbound TCP connections to the \
                 catalog's allowed_sockets (no listening sockets, no UDP)"
            ),
        }
    }
}

/// The endpoints a catalog's socket grants come to once the host has resolved them.
#[derive(Debug, Default)]
pub struct ResolvedSockets {
    /// Whether the catalog grants any socket at all.
    granted: bool,
    /// Each granted name with the addresses the host resolved it to.
    names: HashMap<String, Vec<IpAddr>>,
    /// Every (address, port) a connect may reach.
    endpoints: HashSet<SocketAddr>,
}

impl ResolvedSockets {
    /// Resolves every granted name with the system resolver (`tokio::net::lookup_host`, on the
    /// blocking pool of the runtime that polls it). A future: the caller drives it under the
    /// call deadline, and dropping it at the deadline leaves a hung lookup to that bounded pool.
    pub async fn resolve(grants: &[SocketGrant], log: &PluginLog) -> ResolvedSockets {
        Self::resolve_with(grants, log, |name, port| async move {
            tokio::net::lookup_host((name.as_str(), port))
                .await
                .map(|found| found.collect())
        })
        .await
    }

    /// [`Self::resolve`] with the lookup given. A name that does not resolve grants nothing this
    /// time, and says so in the log.
    async fn resolve_with<L, F>(grants: &[SocketGrant], log: &PluginLog, lookup: L) -> Self
    where
        L: Fn(String, u16) -> F,
        F: Future<Output = io::Result<Vec<SocketAddr>>>,
    {
        let mut resolved = ResolvedSockets {
            granted: !grants.is_empty(),
            ..ResolvedSockets::default()
        };
        for grant in grants {
            let addresses = match &grant.host {
                SocketHost::Ip(ip) => vec![ip.to_canonical()],
                SocketHost::Name(name) => {
                    let found: Vec<IpAddr> = match lookup(name.clone(), grant.port).await {
                        Ok(found) => found.iter().map(|a| a.ip().to_canonical()).collect(),
                        Err(err) => {
                            log.log(
                                Level::Warn,
                                &format!("allowed socket {grant}: cannot resolve {name}: {err}"),
                            );
                            Vec::new()
                        }
                    };
                    let known = resolved.names.entry(name.clone()).or_default();
                    for ip in &found {
                        if !known.contains(ip) {
                            known.push(*ip);
                        }
                    }
                    found
                }
            };
            resolved.endpoints.extend(
                addresses
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, grant.port)),
            );
        }
        resolved
    }

    /// The addresses a name lookup of `name` may answer, or `None` when no grant names it.
    fn lookup(&self, name: &str) -> Option<Vec<IpAddr>> {
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            let ip = ip.to_canonical();
            return self
                .endpoints
                .iter()
                .any(|e| e.ip() == ip)
                .then(|| vec![ip]);
        }
        self.names.get(&name.to_ascii_lowercase()).cloned()
    }

    /// Whether `use_` of `addr` is allowed: a connect to a granted endpoint, or the implicit
    /// bind (wildcard address, port 0) every connect makes.
    fn allows(&self, addr: SocketAddr, use_: SocketAddrUse) -> Result<(), SocketDenial> {
        match use_ {
            SocketAddrUse::TcpConnect => {
                let canonical = SocketAddr::new(addr.ip().to_canonical(), addr.port());
                if self.endpoints.contains(&canonical) {
                    Ok(())
                } else {
                    Err(SocketDenial::Connect(canonical))
                }
            }
            SocketAddrUse::TcpBind if addr.ip().is_unspecified() && addr.port() == 0 => Ok(()),
            SocketAddrUse::TcpBind => Err(SocketDenial::NotOutboundTcp {
                what: format!("binding a TCP socket to {addr}"),
            }),
            SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => {
                Err(SocketDenial::NotOutboundTcp {
                    what: format!("listening on {addr}"),
                })
            }
            _ => Err(SocketDenial::NotOutboundTcp {
                what: format!("UDP with {addr}"),
            }),
        }
    }
}

/// The socket policy of one instance (see the module doc): what its grants resolved to, and
/// the first refusal since the current call began.
#[derive(Debug, Clone)]
pub struct SocketPolicy {
    resolved: Arc<ResolvedSockets>,
    denied: Arc<Mutex<Option<SocketDenial>>>,
    log: PluginLog,
}

impl SocketPolicy {
    /// Configures `builder` for the resolved grants: TCP (if anything is granted) with a check
    /// on every address the guest binds or connects to; no UDP. Name lookup is not WASI's: the
    /// runtime links [`GuardedInterfaces`] over it.
    pub fn new(resolved: ResolvedSockets, log: PluginLog, builder: &mut WasiCtxBuilder) -> Self {
        let policy = SocketPolicy {
            resolved: Arc::new(resolved),
            denied: Arc::new(Mutex::new(None)),
            log,
        };
        let checker = policy.clone();
        builder
            .allow_tcp(policy.resolved.granted)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(move |addr, use_| {
                let allowed = match checker.resolved.allows(addr, use_) {
                    Ok(()) => true,
                    Err(denial) => {
                        checker.deny(denial);
                        false
                    }
                };
                Box::pin(std::future::ready(allowed))
            });
        policy
    }

    /// Logs a refusal and keeps it if it is the first of the call.
    fn deny(&self, denial: SocketDenial) {
        self.log.log(Level::Warn, &denial.to_string());
        if let Ok(mut first) = self.denied.lock() {
            first.get_or_insert(denial);
        }
    }

    /// The first refusal since the last call to this, which starts a call afresh.
    pub fn take_denial(&self) -> Option<SocketDenial> {
        self.denied.lock().ok().and_then(|mut first| first.take())
    }
}

/// `wasi:sockets/ip-name-lookup` and `wasi:sockets/tcp-create-socket` as the sandbox serves
/// them, linked over WASI's own (see [`link`]).
pub struct GuardedInterfaces;

impl HasData for GuardedInterfaces {
    type Data<'a> = GuardedSockets<'a>;
}

/// What the guarded interfaces work with: the instance's policy, and WASI's sockets context
/// and resource table.
pub struct GuardedSockets<'a> {
    pub policy: &'a SocketPolicy,
    pub sockets: WasiSocketsCtxView<'a>,
}

/// Links the guarded name lookup and TCP socket creation over the ones
/// `wasmtime_wasi::p2::add_to_linker_async` linked.
pub fn link<T: WasiView + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    guarded: fn(&mut T) -> GuardedSockets<'_>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    ip_name_lookup::add_to_linker::<T, GuardedInterfaces>(linker, guarded)?;
    tcp_create_socket::add_to_linker::<T, GuardedInterfaces>(linker, guarded)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The answer to one granted lookup: the addresses the host resolved, handed out one by one.
/// Stored in the resource table under the handle WASI's `resolve-address-stream` type names.
struct GrantedAddresses(std::vec::IntoIter<IpAddr>);

#[wasmtime_wasi::async_trait]
impl Pollable for GrantedAddresses {
    async fn ready(&mut self) {}
}

fn granted(stream: &Resource<ResolveAddressStream>) -> Resource<GrantedAddresses> {
    Resource::new_borrow(stream.rep())
}

impl ip_name_lookup::Host for GuardedSockets<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        self.sockets.table.get(&network)?;
        let Some(addresses) = self.policy.resolved.lookup(&name) else {
            self.policy.deny(SocketDenial::NameLookup(name));
            return Err(ErrorCode::AccessDenied.into());
        };
        if addresses.is_empty() {
            return Err(ErrorCode::NameUnresolvable.into());
        }
        let stream = push(self.sockets.table, GrantedAddresses(addresses.into_iter()))?;
        Ok(Resource::new_own(stream.rep()))
    }
}

fn push(
    table: &mut ResourceTable,
    addresses: GrantedAddresses,
) -> Result<Resource<GrantedAddresses>, SocketError> {
    Ok(table.push(addresses)?)
}

impl HostResolveAddressStream for GuardedSockets<'_> {
    fn resolve_next_address(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        let addresses = self.sockets.table.get_mut(&granted(&stream))?;
        Ok(addresses.0.next().map(IpAddress::from))
    }

    fn subscribe(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.sockets.table, granted(&stream))
    }

    fn drop(&mut self, stream: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        self.sockets
            .table
            .delete(Resource::<GrantedAddresses>::new_own(stream.rep()))?;
        Ok(())
    }
}

/// The network interface's error conversions, which the guarded interfaces' errors go through:
/// WASI's own.
impl network::Host for GuardedSockets<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        network::Host::convert_error_code(&mut self.sockets, error)
    }

    fn network_error_code(
        &mut self,
        err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        network::Host::network_error_code(&mut self.sockets, err)
    }
}

impl network::HostNetwork for GuardedSockets<'_> {
    fn drop(&mut self, network: Resource<Network>) -> wasmtime::Result<()> {
        network::HostNetwork::drop(&mut self.sockets, network)
    }
}

impl tcp_create_socket::Host for GuardedSockets<'_> {
    fn create_tcp_socket(
        &mut self,
        address_family: IpAddressFamily,
    ) -> Result<Resource<TcpSocket>, SocketError> {
        if !self.policy.resolved.granted {
            self.policy.deny(SocketDenial::NoSocketGrant);
            return Err(ErrorCode::AccessDenied.into());
        }
        tcp_create_socket::Host::create_tcp_socket(&mut self.sockets, address_family)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::call_driver::CallDriver;

    fn grants(entries: &[&str]) -> Vec<SocketGrant> {
        entries
            .iter()
            .map(|e| SocketGrant::parse(e).unwrap())
            .collect()
    }

    fn log() -> PluginLog {
        PluginLog::new(
            "c",
            "p@0.1.0",
            crate::LogRate::default(),
            crate::SecretScrubber::default(),
        )
    }

    /// Resolved with the system resolver, as an instance's set-up does.
    fn resolved(entries: &[&str]) -> ResolvedSockets {
        let driver = CallDriver::start(1).unwrap();
        driver
            .handle()
            .drive(
                Duration::from_secs(30),
                ResolvedSockets::resolve(&grants(entries), &log()),
            )
            .unwrap()
    }

    #[test]
    fn a_name_server_that_never_answers_ends_at_the_deadline() {
        let granted = grants(&["db.example.com:5432", "10.0.0.7:5432"]);
        let driver = CallDriver::start(1).unwrap();
        let log = log();
        let never = ResolvedSockets::resolve_with(&granted, &log, |_, _| {
            std::future::pending::<io::Result<Vec<SocketAddr>>>()
        });
        assert!(
            driver
                .handle()
                .drive(Duration::from_millis(100), never)
                .is_none()
        );

        // A lookup that fails grants nothing for that name and keeps the rest.
        let failing = ResolvedSockets::resolve_with(&granted, &log, |_, _| async {
            Err::<Vec<SocketAddr>, _>(io::Error::other("no name server"))
        });
        let r = driver
            .handle()
            .drive(Duration::from_secs(5), failing)
            .unwrap();
        assert_eq!(r.lookup("db.example.com"), Some(Vec::new()));
        assert_eq!(
            r.lookup("10.0.0.7"),
            Some(vec!["10.0.0.7".parse().unwrap()])
        );
    }

    #[test]
    fn only_granted_endpoints_connect() {
        let r = resolved(&["127.0.0.1:5432", "[::1]:6000"]);
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(
            r.allows(addr("127.0.0.1:5432"), SocketAddrUse::TcpConnect)
                .is_ok()
        );
        assert!(
            r.allows(addr("[::ffff:127.0.0.1]:5432"), SocketAddrUse::TcpConnect)
                .is_ok()
        );
        assert!(
            r.allows(addr("[::1]:6000"), SocketAddrUse::TcpConnect)
                .is_ok()
        );
        assert_eq!(
            r.allows(addr("127.0.0.1:5433"), SocketAddrUse::TcpConnect),
            Err(SocketDenial::Connect(addr("127.0.0.1:5433")))
        );
        assert!(r.allows(addr("0.0.0.0:0"), SocketAddrUse::TcpBind).is_ok());
        assert!(
            r.allows(addr("127.0.0.1:0"), SocketAddrUse::TcpBind)
                .is_err()
        );
        assert!(
            r.allows(addr("0.0.0.0:0"), SocketAddrUse::TcpListen)
                .is_err()
        );
        assert!(
            r.allows(addr("127.0.0.1:5432"), SocketAddrUse::UdpSend)
                .is_err()
        );
    }

    #[test]
    fn lookups_answer_granted_names_only() {
        let r = resolved(&["localhost:5432", "10.0.0.7:5432"]);
        let local = r.lookup("LOCALHOST").unwrap();
        assert!(local.iter().all(|ip| ip.is_loopback()), "{local:?}");
        assert!(!local.is_empty());
        for ip in &local {
            assert!(
                r.allows(SocketAddr::new(*ip, 5432), SocketAddrUse::TcpConnect)
                    .is_ok()
            );
        }
        assert_eq!(
            r.lookup("10.0.0.7"),
            Some(vec!["10.0.0.7".parse().unwrap()])
        );
        assert_eq!(r.lookup("10.0.0.8"), None);
        assert_eq!(r.lookup("example.com"), None);
    }

    #[test]
    fn denials_name_the_endpoint_and_the_flag() {
        let denial = SocketDenial::Connect("127.0.0.1:5999".parse().unwrap());
        assert_eq!(
            denial.to_string(),
            "connect to 127.0.0.1:5999 denied: not in allowed_sockets; add it with \
             --grant-socket 127.0.0.1:5999 (API: grants.allowed_sockets)"
        );
    }
}
