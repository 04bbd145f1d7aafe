//! `quarry coordinator`'s configuration: one set of optional settings that is at once the
//! command's flags, the `[coordinator]` section of the TOML file and the `QUARRY_*` environment,
//! layered (defaults → file → environment → flags) into the server's typed
//! [`Coordinator`] by [`CoordinatorSettings::into_coordinator`], the one place where a setting
//! meets a field.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use quarry_server::coordinator::Coordinator;
use serde::Deserialize;

use quarry_server::coordinator::users::UserSpec;

use crate::byte_size_value::ByteSizeValue;
use crate::config_file::Environment;
use crate::duration_value::DurationValue;
use crate::env_allow_value::EnvAllowValue;
use crate::sandbox_config::SandboxSettings;
use crate::user_settings::UserSettings;

/// The data directory when none is configured (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "data";

// Every coordinator setting; `None` means "not set at this layer".
// (Not a doc comment: clap would make it the help text of the command this is flattened into.)
#[derive(Clone, Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct CoordinatorSettings {
    /// Address the HTTP API listens on (port 0 picks a free one) [default: 127.0.0.1:8080]
    #[arg(long = "http", value_name = "ADDR")]
    pub http_addr: Option<SocketAddr>,

    /// Address the PostgreSQL wire protocol listens on, for psql and JDBC (port 0 picks a free
    /// one) [default: not served]
    #[arg(long = "pg", value_name = "ADDR")]
    pub pg_addr: Option<SocketAddr>,

    /// Address the Arrow Flight SQL endpoint listens on, for ADBC and other Arrow-native
    /// clients (port 0 picks a free one) [default: not served]
    #[arg(long = "flight-sql", value_name = "ADDR")]
    pub flight_sql_addr: Option<SocketAddr>,

    /// Catalog database: sqlite://PATH or postgres://USER@HOST/DB
    /// [default: sqlite://DATA_DIR/quarry.db]
    #[arg(long = "database", value_name = "URL")]
    pub database_url: Option<String>,

    /// Directory for the SQLite database and the compiled-plugin artifacts [default: data]
    #[arg(long = "data-dir", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// The control API's bearer token. Environment or file only, never a flag (a flag shows in
    /// `ps`).
    #[arg(skip)]
    pub admin_token: Option<String>,

    /// The token workers present. Environment or file only, never a flag.
    #[arg(skip)]
    pub cluster_secret: Option<String>,

    /// Dev mode: run without the tokens that are not configured (a laptop only)
    #[arg(long = "dev", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub dev_mode: Option<bool>,

    /// Largest plugin upload accepted, in bytes [default: 67108864]
    #[arg(long = "max-plugin-size", value_name = "BYTES")]
    pub max_plugin_size: Option<u64>,

    /// How often the sync task reconciles every worker with the desired state [default: 10s]
    #[arg(long = "sync-interval", value_name = "DURATION")]
    pub sync_interval: Option<DurationValue>,

    /// A worker silent for this long is marked dead [default: 10s]
    #[arg(long = "heartbeat-timeout", value_name = "DURATION")]
    pub heartbeat_timeout: Option<DurationValue>,

    /// Deadline for one coordinator → worker request [default: 30s]
    #[arg(long = "worker-request-timeout", value_name = "DURATION")]
    pub worker_request_timeout: Option<DurationValue>,

    /// Do not push catalog changes; workers learn of them at the next reconcile only (a purely
    /// periodic sync, for comparison in benchmarks) [default: push]
    #[arg(long = "no-push", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub no_push: Option<bool>,

    /// TLS certificate chain (PEM) for this process's endpoints; needs --tls-key [default: plain TCP]
    #[arg(long = "tls-cert", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM) matching --tls-cert
    #[arg(long = "tls-key", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// CA certificates (PEM) trusted when calling other Quarry processes over https://. The
    /// flag is the global `--tls-ca` (see `GlobalArgs`); here the file and the environment.
    #[arg(skip)]
    pub tls_ca: Option<PathBuf>,

    /// An HTTP client must send a request's headers within this [default: 10s]
    #[arg(long = "http-header-timeout", value_name = "DURATION")]
    pub http_header_timeout: Option<DurationValue>,

    /// Environment variables catalogs may read with ${ENV:NAME}: names and PREFIX* patterns,
    /// comma-separated (QUARRY_* never) [default: none]
    #[arg(long = "env-allow", value_name = "NAMES")]
    pub env_allow: Option<EnvAllowValue>,

    /// Longest SQL statement accepted, HTTP and PostgreSQL [default: 1MiB]
    #[arg(long = "max-statement-size", value_name = "SIZE")]
    pub max_statement_size: Option<ByteSizeValue>,

    /// Memory one query's operators may hold (hash tables, sorts) before it fails [default: 2GiB]
    #[arg(long = "query-memory", value_name = "SIZE")]
    pub query_memory: Option<ByteSizeValue>,

    /// A statement still running after this long fails [default: 30m]
    #[arg(long = "statement-timeout", value_name = "DURATION")]
    pub statement_timeout: Option<DurationValue>,

    /// PostgreSQL connections served at once; more are refused [default: 100]
    #[arg(long = "pg-max-connections", value_name = "N")]
    pub pg_max_connections: Option<usize>,

    /// A PostgreSQL client that has not logged in after this long is disconnected [default: 30s]
    #[arg(long = "pg-startup-timeout", value_name = "DURATION")]
    pub pg_startup_timeout: Option<DurationValue>,

    /// A PostgreSQL session with no statement for this long is closed [default: 15m]
    #[arg(long = "pg-idle-timeout", value_name = "DURATION")]
    pub pg_idle_timeout: Option<DurationValue>,

    /// SQL users (`[[coordinator.users]]`); the file only.
    #[arg(skip)]
    pub users: Option<Vec<UserSettings>>,

    /// `users` with their verifiers, filled in by [`CoordinatorSettings::layered`].
    #[arg(skip)]
    #[serde(skip)]
    pub resolved_users: Vec<UserSpec>,

    // Sandbox limits: flags, QUARRY_SANDBOX_*, and the file's top-level `[sandbox]` section
    // (copied here by `ConfigFile::parse`), never a key of `[coordinator]`.
    #[command(flatten)]
    #[serde(skip)]
    pub sandbox: SandboxSettings,
}

impl CoordinatorSettings {
    /// The settings the environment holds.
    pub fn from_env(env: &Environment) -> Result<CoordinatorSettings> {
        Ok(CoordinatorSettings {
            http_addr: env.parse("QUARRY_HTTP_ADDR")?,
            pg_addr: env.parse("QUARRY_PG_ADDR")?,
            flight_sql_addr: env.parse("QUARRY_FLIGHT_SQL_ADDR")?,
            database_url: env.string("QUARRY_DATABASE_URL"),
            data_dir: env.string("QUARRY_DATA_DIR").map(PathBuf::from),
            admin_token: env.string("QUARRY_ADMIN_TOKEN"),
            cluster_secret: env.string("QUARRY_CLUSTER_SECRET"),
            dev_mode: env.flag("QUARRY_DEV_MODE")?,
            max_plugin_size: env.parse("QUARRY_MAX_PLUGIN_SIZE")?,
            sync_interval: env.parse("QUARRY_SYNC_INTERVAL")?,
            heartbeat_timeout: env.parse("QUARRY_HEARTBEAT_TIMEOUT")?,
            worker_request_timeout: env.parse("QUARRY_WORKER_REQUEST_TIMEOUT")?,
            no_push: env.flag("QUARRY_SYNC_NO_PUSH")?,
            tls_cert: env.string("QUARRY_TLS_CERT").map(PathBuf::from),
            tls_key: env.string("QUARRY_TLS_KEY").map(PathBuf::from),
            tls_ca: env.string("QUARRY_TLS_CA").map(PathBuf::from),
            http_header_timeout: env.parse("QUARRY_HTTP_HEADER_TIMEOUT")?,
            env_allow: env.parse("QUARRY_ENV_ALLOW")?,
            max_statement_size: env.parse("QUARRY_MAX_STATEMENT_SIZE")?,
            query_memory: env.parse("QUARRY_QUERY_MEMORY")?,
            statement_timeout: env.parse("QUARRY_STATEMENT_TIMEOUT")?,
            pg_max_connections: env.parse("QUARRY_PG_MAX_CONNECTIONS")?,
            pg_startup_timeout: env.parse("QUARRY_PG_STARTUP_TIMEOUT")?,
            pg_idle_timeout: env.parse("QUARRY_PG_IDLE_TIMEOUT")?,
            users: None,
            resolved_users: Vec::new(),
            sandbox: SandboxSettings::from_env(env)?,
        })
    }

    /// These settings, with `lower`'s filling what these leave unset.
    pub fn over(self, lower: CoordinatorSettings) -> CoordinatorSettings {
        CoordinatorSettings {
            http_addr: self.http_addr.or(lower.http_addr),
            pg_addr: self.pg_addr.or(lower.pg_addr),
            flight_sql_addr: self.flight_sql_addr.or(lower.flight_sql_addr),
            database_url: self.database_url.or(lower.database_url),
            data_dir: self.data_dir.or(lower.data_dir),
            admin_token: self.admin_token.or(lower.admin_token),
            cluster_secret: self.cluster_secret.or(lower.cluster_secret),
            dev_mode: self.dev_mode.or(lower.dev_mode),
            max_plugin_size: self.max_plugin_size.or(lower.max_plugin_size),
            sync_interval: self.sync_interval.or(lower.sync_interval),
            heartbeat_timeout: self.heartbeat_timeout.or(lower.heartbeat_timeout),
            worker_request_timeout: self.worker_request_timeout.or(lower.worker_request_timeout),
            no_push: self.no_push.or(lower.no_push),
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            tls_ca: self.tls_ca.or(lower.tls_ca),
            http_header_timeout: self.http_header_timeout.or(lower.http_header_timeout),
            env_allow: self.env_allow.or(lower.env_allow),
            max_statement_size: self.max_statement_size.or(lower.max_statement_size),
            query_memory: self.query_memory.or(lower.query_memory),
            statement_timeout: self.statement_timeout.or(lower.statement_timeout),
            pg_max_connections: self.pg_max_connections.or(lower.pg_max_connections),
            pg_startup_timeout: self.pg_startup_timeout.or(lower.pg_startup_timeout),
            pg_idle_timeout: self.pg_idle_timeout.or(lower.pg_idle_timeout),
            users: self.users.or(lower.users),
            resolved_users: Vec::new(),
            sandbox: self.sandbox.over(lower.sandbox),
        }
    }

    /// Layers `flags` over `env` over `file`.
    pub fn layered(
        flags: CoordinatorSettings,
        env: &Environment,
        file: CoordinatorSettings,
    ) -> Result<CoordinatorSettings> {
        let mut settings = flags.over(CoordinatorSettings::from_env(env)?).over(file);
        settings.sandbox.check()?;
        settings.resolved_users = settings
            .users
            .iter()
            .flatten()
            .map(|user| user.resolve(env))
            .collect::<Result<_>>()?;
        crate::tls_pair::check(&settings.tls_cert, &settings.tls_key)?;
        if settings.pg_max_connections == Some(0) {
            anyhow::bail!("pg_max_connections must be at least 1");
        }
        Ok(settings)
    }

    /// The coordinator's configuration: the built-in defaults with every set value on top.
    pub fn into_coordinator(self) -> Coordinator {
        let mut config = Coordinator::default();
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        config.database_url = self
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("quarry.db").display()));
        config.data_dir = Some(data_dir);
        if let Some(addr) = self.http_addr {
            config.http_addr = addr;
        }
        config.pg_addr = self.pg_addr;
        config.flight_sql_addr = self.flight_sql_addr;
        config.admin_token = self.admin_token.or(config.admin_token);
        config.cluster_secret = self.cluster_secret.or(config.cluster_secret);
        if let Some(dev_mode) = self.dev_mode {
            config.dev_mode = dev_mode;
        }
        if let Some(size) = self.max_plugin_size {
            config.max_plugin_size = size;
        }
        if let Some(DurationValue(interval)) = self.sync_interval {
            config.sync_interval = interval;
        }
        if let Some(DurationValue(timeout)) = self.heartbeat_timeout {
            config.heartbeat_timeout = timeout;
        }
        if let Some(DurationValue(timeout)) = self.worker_request_timeout {
            config.worker_request_timeout = timeout;
        }
        if let Some(no_push) = self.no_push {
            config.sync_push = !no_push;
        }
        if let Some(EnvAllowValue(list)) = self.env_allow {
            config.env_allow = list;
        }
        config.tls = crate::tls_pair::files(self.tls_cert, self.tls_key);
        config.tls_ca = self.tls_ca;
        if let Some(DurationValue(timeout)) = self.http_header_timeout {
            config.http_header_timeout = timeout;
        }
        let limits = &mut config.sql_limits;
        if let Some(ByteSizeValue(size)) = self.query_memory {
            limits.query_memory = Some(usize::try_from(size).unwrap_or(usize::MAX));
        }
        if let Some(ByteSizeValue(size)) = self.max_statement_size {
            limits.max_statement_bytes = usize::try_from(size).unwrap_or(usize::MAX);
        }
        if let Some(DurationValue(timeout)) = self.statement_timeout {
            limits.statement_timeout = timeout;
        }
        if let Some(connections) = self.pg_max_connections {
            limits.pg_max_connections = connections;
        }
        if let Some(DurationValue(timeout)) = self.pg_startup_timeout {
            limits.pg_startup_timeout = timeout;
        }
        if let Some(DurationValue(timeout)) = self.pg_idle_timeout {
            limits.pg_idle_timeout = timeout;
        }
        config.users = self.resolved_users;
        self.sandbox.apply_to(&mut config.runtime);
        config
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;
    use crate::config_file::ConfigFile;

    /// Parses `quarry coordinator`-like flags into settings.
    fn flags(args: &[&str]) -> CoordinatorSettings {
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            settings: CoordinatorSettings,
        }
        let argv = std::iter::once("coordinator").chain(args.iter().copied());
        Flags::try_parse_from(argv).unwrap().settings
    }

    fn file(text: &str) -> CoordinatorSettings {
        ConfigFile::parse(text).unwrap().coordinator
    }

    #[test]
    fn nothing_set_is_the_built_in_defaults() {
        let config = CoordinatorSettings::layered(flags(&[]), &Environment::default(), file(""))
            .unwrap()
            .into_coordinator();
        assert_eq!(config.http_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir, Some(PathBuf::from("data")));
        assert_eq!(config.database_url, "sqlite://data/quarry.db");
        assert_eq!(config.sync_interval, Duration::from_secs(10));
        assert_eq!(config.heartbeat_timeout, Duration::from_secs(10));
        assert_eq!(config.worker_request_timeout, Duration::from_secs(30));
        assert!(!config.dev_mode);
        assert_eq!(config.admin_token, None);
    }

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        let file = file(
            r#"
            [coordinator]
            http_addr = "127.0.0.1:1001"
            data_dir = "/from/file"
            sync_interval = "1s"
            heartbeat_timeout = 7
            worker_request_timeout = "3s"
            admin_token = "file-token"
            max_plugin_size = 100
            "#,
        );
        let env = Environment::from_pairs([
            ("QUARRY_HTTP_ADDR", "127.0.0.1:1002"),
            ("QUARRY_SYNC_INTERVAL", "2s"),
            ("QUARRY_ADMIN_TOKEN", "env-token"),
            ("QUARRY_DEV_MODE", "true"),
        ]);
        let flags = flags(&["--http", "127.0.0.1:1003", "--dev=false"]);
        let config = CoordinatorSettings::layered(flags, &env, file)
            .unwrap()
            .into_coordinator();
        // flag over environment over file
        assert_eq!(config.http_addr.to_string(), "127.0.0.1:1003");
        assert!(!config.dev_mode);
        // environment over file
        assert_eq!(config.sync_interval, Duration::from_secs(2));
        assert_eq!(config.admin_token.as_deref(), Some("env-token"));
        // file over defaults
        assert_eq!(config.data_dir, Some(PathBuf::from("/from/file")));
        assert_eq!(config.database_url, "sqlite:///from/file/quarry.db");
        assert_eq!(config.heartbeat_timeout, Duration::from_secs(7));
        assert_eq!(config.worker_request_timeout, Duration::from_secs(3));
        assert_eq!(config.max_plugin_size, 100);
    }

    #[test]
    fn sandbox_limits_layer_like_every_other_setting() {
        let file = file(
            r#"
            [coordinator]
            dev_mode = true
            [sandbox]
            memory = "256MiB"
            call_timeout = "20s"
            stack = "256KiB"
            "#,
        );
        let env = Environment::from_pairs([
            ("QUARRY_SANDBOX_MEMORY", "128MiB"),
            ("QUARRY_SANDBOX_CALL_TIMEOUT", "10s"),
        ]);
        let config =
            CoordinatorSettings::layered(flags(&["--sandbox-memory", "64MiB"]), &env, file)
                .unwrap()
                .into_coordinator();
        let limits = &config.runtime.default_limits;
        assert_eq!(limits.memory_bytes, 64 << 20); // flag over environment over file
        assert_eq!(limits.call_deadline, Duration::from_secs(10)); // environment over file
        assert_eq!(config.runtime.max_wasm_stack, 256 << 10); // file over defaults
        assert_eq!(
            config.runtime_config().default_limits.memory_bytes,
            64 << 20
        );

        let error = CoordinatorSettings::layered(
            flags(&["--sandbox-call-timeout", "1h"]),
            &Environment::default(),
            CoordinatorSettings::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("sandbox.call_timeout"), "{error}");
    }

    #[test]
    fn a_bare_dev_flag_turns_dev_mode_on() {
        let config = CoordinatorSettings::layered(
            flags(&["--dev", "--data-dir", "/tmp/q", "--sync-interval", "250ms"]),
            &Environment::default(),
            CoordinatorSettings::default(),
        )
        .unwrap()
        .into_coordinator();
        assert!(config.dev_mode);
        assert_eq!(config.database_url, "sqlite:///tmp/q/quarry.db");
        assert_eq!(config.sync_interval, Duration::from_millis(250));
    }

    #[test]
    fn an_explicit_database_wins_over_the_data_dir() {
        let env = Environment::from_pairs([("QUARRY_DATABASE_URL", "postgres://db/quarry")]);
        let config = CoordinatorSettings::layered(flags(&["--data-dir", "/x"]), &env, file(""))
            .unwrap()
            .into_coordinator();
        assert_eq!(config.database_url, "postgres://db/quarry");
        assert_eq!(config.data_dir, Some(PathBuf::from("/x")));
    }

    #[test]
    fn bad_values_name_where_they_come_from() {
        let env = Environment::from_pairs([("QUARRY_HEARTBEAT_TIMEOUT", "soon")]);
        let error = CoordinatorSettings::from_env(&env).unwrap_err().to_string();
        assert!(error.contains("QUARRY_HEARTBEAT_TIMEOUT"), "{error}");

        let error = ConfigFile::parse("[coordinator]\nhttp_adr = \"127.0.0.1:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("http_adr"), "{error}");

        let error = ConfigFile::parse("[coordinator]\nsync_interval = \"10 days\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("10 days"), "{error}");
    }

    #[test]
    fn the_file_is_found_through_quarry_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quarry.toml");
        std::fs::write(&path, "[coordinator]\nhttp_addr = \"127.0.0.1:1234\"\n").unwrap();
        let env = Environment::from_pairs([("QUARRY_CONFIG", path.to_str().unwrap())]);
        let file = ConfigFile::load(None, &env).unwrap();
        assert_eq!(
            file.coordinator.http_addr.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:1234")
        );
        let missing = ConfigFile::load(Some(&dir.path().join("nope.toml")), &env)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope.toml"), "{missing}");
    }
}
