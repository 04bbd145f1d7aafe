//! [`Coordinator`]: everything the coordinator process is configured with, in one typed struct.
//!
//! Built from defaults, then the environment (`QUARRY_…`, [`Coordinator::with_env`]); the
//! `quarry coordinator` binary adds a file and flags on top. Tokens are kept out of `Debug`, so a
//! logged config never shows them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use quarry_runtime::RuntimeConfig;

use crate::coordinator::users::UserSpec;
use crate::env_allow_list::EnvAllowList;
use crate::tls::{TlsError, TlsFiles};

/// The default cap on an uploaded component: 64 MiB.
pub const DEFAULT_MAX_PLUGIN_SIZE: u64 = 64 * 1024 * 1024;

/// The coordinator's configuration.
#[derive(Clone)]
pub struct Coordinator {
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// Where the PostgreSQL wire protocol listens (`psql`, JDBC); `None`: not served.
    pub pg_addr: Option<SocketAddr>,
    /// Where the Arrow Flight SQL endpoint listens (ADBC, polars); `None`: not served.
    pub flight_sql_addr: Option<SocketAddr>,
    /// The catalog store: `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// The bearer token for the control API (`QUARRY_ADMIN_TOKEN`).
    pub admin_token: Option<String>,
    /// The bearer token workers present (`QUARRY_CLUSTER_SECRET`).
    pub cluster_secret: Option<String>,
    /// Runs without tokens where none is configured, and says so in the log. For a laptop.
    pub dev_mode: bool,
    /// The largest component `POST /v1/plugins` accepts, in bytes.
    pub max_plugin_size: u64,
    /// The sandbox runtime that loads plugins and validates catalogs.
    pub runtime: RuntimeConfig,
    /// Where `${ENV:NAME}` references are looked up when a catalog is validated: `None` is the
    /// coordinator's process environment; a map replaces it (tests, embedding).
    pub environment: Option<BTreeMap<String, String>>,
    /// Which variables `${ENV:NAME}` may read (`QUARRY_*` never).
    pub env_allow: EnvAllowList,
    /// Where the coordinator keeps its files (precompiled artifacts under `artifacts/`, which it
    /// hands to workers); `None` keeps compiled code in memory and workers compile for
    /// themselves.
    pub data_dir: Option<PathBuf>,
    /// How often every worker is asked what it holds and sent the difference (changes are
    /// pushed at once regardless).
    pub sync_interval: Duration,
    /// Push every catalog change to workers at once (the default). Off, workers learn of
    /// changes only at the next reconcile, like a purely periodic sync; for comparison.
    pub sync_push: bool,
    /// A worker silent this long is marked dead.
    pub heartbeat_timeout: Duration,
    /// The deadline of one call from the coordinator to a worker.
    pub worker_request_timeout: Duration,
    /// TLS for the HTTP API, the PostgreSQL port and the Flight SQL endpoint; `None`: plain
    /// TCP.
    pub tls: Option<TlsFiles>,
    /// CA certificates (PEM) trusted when calling workers over `https://`.
    pub tls_ca: Option<PathBuf>,
    /// An HTTP client must send a request's headers within this.
    pub http_header_timeout: Duration,
    /// Who may run SQL (besides `admin`, whose password is the admin token).
    pub users: Vec<UserSpec>,
    /// Limits on statements and on the PostgreSQL port's connections.
    pub sql_limits: SqlLimits,
}

/// Limits on what one client may ask of the SQL front ends.
#[derive(Debug, Clone)]
pub struct SqlLimits {
    /// The longest statement accepted, in bytes (HTTP and PostgreSQL).
    pub max_statement_bytes: usize,
    /// A statement still planning or producing rows after this long fails with
    /// `statement timeout`.
    pub statement_timeout: Duration,
    /// The PostgreSQL port's connections at once.
    pub pg_max_connections: usize,
    /// How long a PostgreSQL client may take to log in.
    pub pg_startup_timeout: Duration,
    /// A logged-in PostgreSQL session with no statement for this long is closed.
    pub pg_idle_timeout: Duration,
    /// The memory one query's operators may hold (DataFusion's memory pool); `None`: unbounded.
    pub query_memory: Option<usize>,
}

impl Default for SqlLimits {
    fn default() -> Self {
        SqlLimits {
            max_statement_bytes: 1024 * 1024,
            statement_timeout: Duration::from_secs(30 * 60),
            pg_max_connections: 100,
            pg_startup_timeout: Duration::from_secs(30),
            pg_idle_timeout: Duration::from_secs(15 * 60),
            query_memory: Some(2 * 1024 * 1024 * 1024),
        }
    }
}

impl Default for Coordinator {
    fn default() -> Self {
        Coordinator {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            pg_addr: None,
            flight_sql_addr: None,
            database_url: "sqlite://data/quarry.db".to_owned(),
            admin_token: None,
            cluster_secret: None,
            dev_mode: false,
            max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
            runtime: RuntimeConfig::default(),
            environment: None,
            env_allow: EnvAllowList::default(),
            data_dir: None,
            sync_interval: Duration::from_secs(10),
            sync_push: true,
            heartbeat_timeout: Duration::from_secs(10),
            worker_request_timeout: Duration::from_secs(30),
            tls: None,
            tls_ca: None,
            http_header_timeout: Duration::from_secs(10),
            users: Vec::new(),
            sql_limits: SqlLimits::default(),
        }
    }
}

impl fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |token: &Option<String>| if token.is_some() { "set" } else { "unset" };
        f.debug_struct("Coordinator")
            .field("http_addr", &self.http_addr)
            .field("pg_addr", &self.pg_addr)
            .field("flight_sql_addr", &self.flight_sql_addr)
            .field("database", &database_scheme(&self.database_url))
            .field("admin_token", &set(&self.admin_token))
            .field("cluster_secret", &set(&self.cluster_secret))
            .field("dev_mode", &self.dev_mode)
            .field("max_plugin_size", &self.max_plugin_size)
            .field("data_dir", &self.data_dir)
            .field("sync_interval", &self.sync_interval)
            .field("sync_push", &self.sync_push)
            .field("heartbeat_timeout", &self.heartbeat_timeout)
            .field("worker_request_timeout", &self.worker_request_timeout)
            .field(
                "users",
                &self
                    .users
                    .iter()
                    .map(|u| (&u.name, u.role))
                    .collect::<Vec<_>>(),
            )
            .field("sql_limits", &self.sql_limits)
            .field("tls", &self.tls)
            .field("tls_ca", &self.tls_ca)
            .finish_non_exhaustive()
    }
}

/// Only the scheme of a database URL: the rest may hold a password.
fn database_scheme(url: &str) -> &str {
    url.split_once(':').map_or(url, |(scheme, _)| scheme)
}

/// A configuration the coordinator refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no admin token: set QUARRY_ADMIN_TOKEN (or enable dev mode to run without one, \
         on a laptop only)"
    )]
    MissingAdminToken,
    #[error(
        "no cluster secret: set QUARRY_CLUSTER_SECRET (or enable dev mode to run without one, \
         on a laptop only)"
    )]
    MissingClusterSecret,
    #[error(
        "dev mode without an admin token serves only loopback addresses, and {name} is {addr}: \
         listen on 127.0.0.1, or set QUARRY_ADMIN_TOKEN"
    )]
    DevModeOffLoopback {
        name: &'static str,
        addr: SocketAddr,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("users: {0}")]
    Users(#[from] crate::coordinator::users::UsersError),
    #[error("{name} must not be empty")]
    EmptyToken { name: &'static str },
    #[error("invalid {name} \"{value}\": {reason}")]
    InvalidValue {
        name: &'static str,
        value: String,
        reason: String,
    },
}

impl Coordinator {
    /// The sync task's settings.
    pub fn sync_settings(&self) -> crate::coordinator::sync::SyncSettings {
        crate::coordinator::sync::SyncSettings {
            interval: self.sync_interval,
            push: self.sync_push,
            heartbeat_timeout: self.heartbeat_timeout,
            request_timeout: self.worker_request_timeout,
        }
    }

    /// The runtime configuration: artifacts kept in the data directory, with the Ed25519 key
    /// that signs the bundles workers install (`artifacts/artifact-signing.pk8`).
    pub fn runtime_config(&self) -> RuntimeConfig {
        let mut runtime = self.runtime.clone();
        if runtime.cache_dir.is_none() {
            runtime.cache_dir = self.data_dir.as_ref().map(|dir| dir.join("artifacts"));
        }
        runtime
    }

    /// Overrides fields from `QUARRY_HTTP_ADDR`, `QUARRY_DATABASE_URL`, `QUARRY_ADMIN_TOKEN`,
    /// `QUARRY_CLUSTER_SECRET`, `QUARRY_DEV_MODE` (`true`/`1`) and `QUARRY_MAX_PLUGIN_SIZE`
    /// (bytes) where they are set.
    pub fn with_env(mut self) -> Result<Self, ConfigError> {
        let var = |name: &str| std::env::var(name).ok();
        if let Some(addr) = var("QUARRY_HTTP_ADDR") {
            self.http_addr = addr.parse().map_err(|e| ConfigError::InvalidValue {
                name: "QUARRY_HTTP_ADDR",
                value: addr.clone(),
                reason: format!("{e}"),
            })?;
        }
        if let Some(url) = var("QUARRY_DATABASE_URL") {
            self.database_url = url;
        }
        if let Some(token) = var("QUARRY_ADMIN_TOKEN") {
            self.admin_token = Some(token);
        }
        if let Some(secret) = var("QUARRY_CLUSTER_SECRET") {
            self.cluster_secret = Some(secret);
        }
        if let Some(dev) = var("QUARRY_DEV_MODE") {
            self.dev_mode = matches!(dev.as_str(), "1" | "true" | "yes");
        }
        if let Some(size) = var("QUARRY_MAX_PLUGIN_SIZE") {
            self.max_plugin_size = size.parse().map_err(|e| ConfigError::InvalidValue {
                name: "QUARRY_MAX_PLUGIN_SIZE",
                value: size.clone(),
                reason: format!("{e}"),
            })?;
        }
        Ok(self)
    }

    /// Checks that the tokens the API needs are there (or dev mode is on).
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.admin_token.as_deref() == Some("") {
            return Err(ConfigError::EmptyToken {
                name: "the admin token",
            });
        }
        if self.cluster_secret.as_deref() == Some("") {
            return Err(ConfigError::EmptyToken {
                name: "the cluster secret",
            });
        }
        if self.dev_mode && self.admin_token.is_none() {
            // No password anywhere: only this machine may come in.
            let served = [
                ("the HTTP address", Some(self.http_addr)),
                ("the PostgreSQL address", self.pg_addr),
                ("the Flight SQL address", self.flight_sql_addr),
            ];
            for (name, addr) in served {
                if let Some(addr) = addr
                    && !addr.ip().is_loopback()
                {
                    return Err(ConfigError::DevModeOffLoopback { name, addr });
                }
            }
        }
        if !self.dev_mode {
            if self.admin_token.is_none() {
                return Err(ConfigError::MissingAdminToken);
            }
            if self.cluster_secret.is_none() {
                return Err(ConfigError::MissingClusterSecret);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_tokens_and_database_password() {
        let config = Coordinator {
            admin_token: Some("s3cret-admin".into()),
            cluster_secret: Some("s3cret-cluster".into()),
            database_url: "postgres://u:hunter2@db/quarry".into(),
            ..Coordinator::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn tokens_are_required_outside_dev_mode() {
        let config = Coordinator::default();
        assert!(matches!(
            config.check(),
            Err(ConfigError::MissingAdminToken)
        ));
        let dev = Coordinator {
            dev_mode: true,
            ..Coordinator::default()
        };
        assert!(dev.check().is_ok());
    }

    #[test]
    fn dev_mode_without_a_token_stays_on_loopback() {
        let open = Coordinator {
            dev_mode: true,
            pg_addr: Some(SocketAddr::from(([0, 0, 0, 0], 5433))),
            ..Coordinator::default()
        };
        let error = open.check().unwrap_err().to_string();
        assert!(error.contains("0.0.0.0:5433"), "{error}");
        let with_token = Coordinator {
            admin_token: Some("t".into()),
            ..open
        };
        assert!(with_token.check().is_ok());
    }
}
