//! [`PgConfig`]: how one PostgreSQL endpoint authenticates its clients and how many it serves,
//! for how long.

use std::time::Duration;

use crate::pg_authentication::PgAuthentication;

/// The PostgreSQL endpoint's settings.
#[derive(Clone)]
pub struct PgConfig {
    /// Who may connect.
    pub authentication: PgAuthentication,
    /// TLS for clients that ask for it (SSLRequest); `None` answers "no" and they continue in
    /// plain text (`sslmode=prefer`) or give up (`sslmode=require`).
    pub tls: Option<pgwire::tokio::TlsAcceptor>,
    /// Connections served at once; one more is answered `53300 too many connections` and
    /// closed, like PostgreSQL's `max_connections`.
    pub max_connections: usize,
    /// A client that has not finished logging in by then is disconnected (PostgreSQL's
    /// `authentication_timeout`).
    pub startup_timeout: Duration,
    /// A logged-in client with no statement running for this long is disconnected
    /// (PostgreSQL's `idle_session_timeout`).
    pub idle_timeout: Duration,
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("authentication", &self.authentication)
            .field("tls", &self.tls.is_some())
            .field("max_connections", &self.max_connections)
            .field("startup_timeout", &self.startup_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}

impl Default for PgConfig {
    /// Trust authentication (for tests and embedding; the coordinator always says what it
    /// wants), 100 connections, 30 s to log in, 15 minutes idle.
    fn default() -> Self {
        Self {
            authentication: PgAuthentication::Trust,
            tls: None,
            max_connections: 100,
            startup_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(15 * 60),
        }
    }
}
