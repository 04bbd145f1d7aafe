//! One entry of a catalog's `allowed_sockets` grant: a TCP endpoint written `host:port`, where
//! the host is a DNS name, an IPv4 address or a bracketed IPv6 address (`db.example.com:5432`,
//! `127.0.0.1:5432`, `[::1]:5432`).
//!
//! Parsing is strict, so a typo is refused when the catalog is stored rather than granting
//! nothing at run time: no scheme, no path, no wildcard, a port in 1..=65535. Names compare in
//! lowercase. What the grant opens, and how it is enforced, is [`crate::socket_policy`]'s.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// The host part of a socket grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SocketHost {
    /// A DNS name, lowercased; the host resolves it, never the plugin.
    Name(String),
    /// A literal address, connected to as written.
    Ip(IpAddr),
}

/// A TCP endpoint a catalog's plugin may connect to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SocketGrant {
    pub host: SocketHost,
    pub port: u16,
}

impl SocketGrant {
    /// Parses `host:port`; the error says what is wrong with the entry and quotes it.
    pub fn parse(entry: &str) -> Result<SocketGrant, String> {
        let bad = |why: &str| format!("\"{entry}\" is not a socket like host:port ({why})");
        if entry.contains("://") {
            return Err(bad("no scheme: the grant is a TCP endpoint"));
        }
        let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
            let (ip, port) = rest
                .split_once("]:")
                .ok_or_else(|| bad("an IPv6 address is written [address]:port"))?;
            let ip: Ipv6Addr = ip
                .parse()
                .map_err(|_| bad(&format!("\"{ip}\" is not an IPv6 address")))?;
            (SocketHost::Ip(IpAddr::V6(ip)), port)
        } else {
            let (host, port) = entry
                .rsplit_once(':')
                .ok_or_else(|| bad("the port is missing"))?;
            if host.contains(':') {
                return Err(bad("an IPv6 address is written [address]:port"));
            }
            let host = match host.parse::<IpAddr>() {
                Ok(ip) => SocketHost::Ip(ip),
                Err(_) => SocketHost::Name(dns_name(host).map_err(|why| bad(&why))?),
            };
            (host, port)
        };
        let port = match port.parse::<u16>() {
            Ok(0) | Err(_) => {
                return Err(bad(&format!(
                    "the port \"{port}\" is not a number from 1 to 65535"
                )));
            }
            Ok(port) => port,
        };
        Ok(SocketGrant { host, port })
    }
}

/// The name lowercased, if it is a DNS name: dot-separated labels of letters, digits and
/// hyphens, each 1 to 63 characters and not starting or ending with a hyphen, 253 at most.
fn dns_name(host: &str) -> Result<String, String> {
    if host.is_empty() {
        return Err("the host is missing".to_owned());
    }
    if host.len() > 253 {
        return Err("the host name is longer than 253 characters".to_owned());
    }
    let name = host.to_ascii_lowercase();
    for label in name.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(format!(
                "\"{host}\" is not a DNS name, an IPv4 address or a bracketed IPv6 address"
            ));
        }
    }
    Ok(name)
}

impl fmt::Display for SocketHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketHost::Name(name) => f.write_str(name),
            SocketHost::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            SocketHost::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
        }
    }
}

impl fmt::Display for SocketGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses_parse_and_print_as_written() {
        for (entry, printed) in [
            ("db.example.com:5432", "db.example.com:5432"),
            ("DB.Example.COM:5432", "db.example.com:5432"),
            ("localhost:1", "localhost:1"),
            ("127.0.0.1:65535", "127.0.0.1:65535"),
            ("[::1]:5432", "[::1]:5432"),
            ("[2001:db8::7]:80", "[2001:db8::7]:80"),
        ] {
            let grant = SocketGrant::parse(entry).unwrap();
            assert_eq!(grant.to_string(), printed, "{entry}");
        }
        let grant = SocketGrant::parse("10.0.0.7:5432").unwrap();
        assert_eq!(grant.host, SocketHost::Ip("10.0.0.7".parse().unwrap()));
        assert_eq!(grant.port, 5432);
    }

    #[test]
    fn bad_entries_are_refused_with_the_reason() {
        for (entry, reason) in [
            ("db.example.com", "the port is missing"),
            (
                "db.example.com:0",
                "the port \"0\" is not a number from 1 to 65535",
            ),
            ("db.example.com:70000", "not a number from 1 to 65535"),
            ("db.example.com:", "not a number from 1 to 65535"),
            (":5432", "the host is missing"),
            ("::1:5432", "an IPv6 address is written [address]:port"),
            ("[::1]5432", "an IPv6 address is written [address]:port"),
            ("[nope]:5432", "\"nope\" is not an IPv6 address"),
            ("tcp://db:5432", "no scheme"),
            ("*.example.com:5432", "is not a DNS name"),
            ("db..example.com:5432", "is not a DNS name"),
            ("-db.example.com:5432", "is not a DNS name"),
            ("db/x:5432", "is not a DNS name"),
        ] {
            let err = SocketGrant::parse(entry).unwrap_err();
            assert!(err.starts_with(&format!("\"{entry}\" is not a socket like host:port")));
            assert!(err.contains(reason), "{entry}: {err}");
        }
    }
}
