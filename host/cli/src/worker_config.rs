//! `quarry worker`'s configuration: one set of optional settings that is at once the command's
//! flags, the `[worker]` section of the TOML file and the `QUARRY_*` environment, layered
//! (defaults → file → environment → flags) into the server's typed [`Worker`] by
//! [`WorkerSettings::into_worker`], the one place where a setting meets a field.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use quarry_server::worker::Worker;
use serde::Deserialize;

use crate::byte_size_value::ByteSizeValue;
use crate::config_file::Environment;
use crate::duration_value::DurationValue;
use crate::env_allow_value::EnvAllowValue;
use crate::sandbox_config::SandboxSettings;

// Every worker setting; `None` means "not set at this layer".
// (Not a doc comment: clap would make it the help text of the command this is flattened into.)
#[derive(Clone, Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Address the worker's HTTP endpoint listens on (port 0 picks a free one)
    /// [default: 127.0.0.1:8081]
    #[arg(long = "http", value_name = "ADDR")]
    pub http_addr: Option<SocketAddr>,

    /// URL the coordinator uses to reach this worker [default: http://<the bound address>]
    #[arg(long = "advertise", value_name = "URL")]
    pub advertise_url: Option<String>,

    /// Address the execution service (query stages, gRPC) listens on; advertised with the
    /// host of --advertise [default: the --http address's IP, a free port]
    #[arg(long = "execution", value_name = "ADDR")]
    pub execution_addr: Option<SocketAddr>,

    /// The coordinator's URL [default: http://127.0.0.1:8080]
    #[arg(long = "coordinator", value_name = "URL")]
    pub coordinator_url: Option<String>,

    /// Directory for downloaded plugins and compiled artifacts [default: worker-cache]
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// The token presented to the coordinator. Environment or file only, never a flag (a flag
    /// shows in `ps`).
    #[arg(skip)]
    pub cluster_secret: Option<String>,

    /// This worker's id, stable across restarts [default: chosen by the worker]
    #[arg(long = "id", value_name = "ID")]
    pub id: Option<String>,

    /// How often the worker heartbeats to the coordinator [default: 2s]
    #[arg(long = "heartbeat-interval", value_name = "DURATION")]
    pub heartbeat_interval: Option<DurationValue>,

    /// Dev mode: run without a cluster secret when none is configured (a laptop only)
    #[arg(long = "dev", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub dev_mode: Option<bool>,

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

    /// How many catalogs load at once while the worker syncs [default: 4]
    #[arg(long = "load-concurrency", value_name = "N")]
    pub load_concurrency: Option<usize>,

    /// Memory the query stages on this worker may hold together, e.g. 4GiB; a stage needing
    /// more fails with "resources exhausted" [default: 4GiB]
    #[arg(long = "stage-memory", value_name = "SIZE")]
    pub stage_memory: Option<ByteSizeValue>,

    // Sandbox limits: flags, QUARRY_SANDBOX_*, and the file's top-level `[sandbox]` section
    // (copied here by `ConfigFile::parse`), never a key of `[worker]`.
    #[command(flatten)]
    #[serde(skip)]
    pub sandbox: SandboxSettings,
}

impl WorkerSettings {
    /// The settings the environment holds.
    pub fn from_env(env: &Environment) -> Result<WorkerSettings> {
        Ok(WorkerSettings {
            http_addr: env.parse("QUARRY_WORKER_HTTP_ADDR")?,
            advertise_url: env.string("QUARRY_WORKER_ADVERTISE_URL"),
            execution_addr: env.parse("QUARRY_WORKER_EXECUTION_ADDR")?,
            coordinator_url: env.string("QUARRY_COORDINATOR_URL"),
            cache_dir: env.string("QUARRY_WORKER_CACHE_DIR").map(PathBuf::from),
            cluster_secret: env.string("QUARRY_CLUSTER_SECRET"),
            id: env.string("QUARRY_WORKER_ID"),
            heartbeat_interval: env.parse("QUARRY_HEARTBEAT_INTERVAL")?,
            dev_mode: env.flag("QUARRY_DEV_MODE")?,
            load_concurrency: env.parse("QUARRY_WORKER_LOAD_CONCURRENCY")?,
            stage_memory: env.parse("QUARRY_WORKER_STAGE_MEMORY")?,
            tls_cert: env.string("QUARRY_TLS_CERT").map(PathBuf::from),
            tls_key: env.string("QUARRY_TLS_KEY").map(PathBuf::from),
            tls_ca: env.string("QUARRY_TLS_CA").map(PathBuf::from),
            http_header_timeout: env.parse("QUARRY_HTTP_HEADER_TIMEOUT")?,
            env_allow: env.parse("QUARRY_ENV_ALLOW")?,
            sandbox: SandboxSettings::from_env(env)?,
        })
    }

    /// These settings, with `lower`'s filling what these leave unset.
    pub fn over(self, lower: WorkerSettings) -> WorkerSettings {
        WorkerSettings {
            http_addr: self.http_addr.or(lower.http_addr),
            advertise_url: self.advertise_url.or(lower.advertise_url),
            execution_addr: self.execution_addr.or(lower.execution_addr),
            coordinator_url: self.coordinator_url.or(lower.coordinator_url),
            cache_dir: self.cache_dir.or(lower.cache_dir),
            cluster_secret: self.cluster_secret.or(lower.cluster_secret),
            id: self.id.or(lower.id),
            heartbeat_interval: self.heartbeat_interval.or(lower.heartbeat_interval),
            dev_mode: self.dev_mode.or(lower.dev_mode),
            load_concurrency: self.load_concurrency.or(lower.load_concurrency),
            stage_memory: self.stage_memory.or(lower.stage_memory),
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            tls_ca: self.tls_ca.or(lower.tls_ca),
            http_header_timeout: self.http_header_timeout.or(lower.http_header_timeout),
            env_allow: self.env_allow.or(lower.env_allow),
            sandbox: self.sandbox.over(lower.sandbox),
        }
    }

    /// Layers `flags` over `env` over `file`.
    pub fn layered(
        flags: WorkerSettings,
        env: &Environment,
        file: WorkerSettings,
    ) -> Result<WorkerSettings> {
        let settings = flags.over(WorkerSettings::from_env(env)?).over(file);
        settings.sandbox.check()?;
        crate::tls_pair::check(&settings.tls_cert, &settings.tls_key)?;
        Ok(settings)
    }

    /// The worker's configuration: the built-in defaults with every set value on top.
    pub fn into_worker(self) -> Worker {
        let mut config = Worker::default();
        if let Some(addr) = self.http_addr {
            config.http_addr = addr;
        }
        config.advertise_url = self.advertise_url.or(config.advertise_url);
        config.execution_addr = self.execution_addr.or(config.execution_addr);
        if let Some(url) = self.coordinator_url {
            config.coordinator_url = url;
        }
        if let Some(dir) = self.cache_dir {
            config.cache_dir = dir;
        }
        config.cluster_secret = self.cluster_secret.or(config.cluster_secret);
        config.id = self.id.or(config.id);
        if let Some(DurationValue(interval)) = self.heartbeat_interval {
            config.heartbeat_interval = interval;
        }
        if let Some(dev_mode) = self.dev_mode {
            config.dev_mode = dev_mode;
        }
        if let Some(ByteSizeValue(size)) = self.stage_memory {
            config.stage_memory = usize::try_from(size).unwrap_or(usize::MAX);
        }
        if let Some(concurrency) = self.load_concurrency {
            config.load_concurrency = concurrency;
        }
        if let Some(EnvAllowValue(list)) = self.env_allow {
            config.env_allow = list;
        }
        config.tls = crate::tls_pair::files(self.tls_cert, self.tls_key);
        config.tls_ca = self.tls_ca;
        if let Some(DurationValue(timeout)) = self.http_header_timeout {
            config.http_header_timeout = timeout;
        }
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

    fn flags(args: &[&str]) -> WorkerSettings {
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            settings: WorkerSettings,
        }
        let argv = std::iter::once("worker").chain(args.iter().copied());
        Flags::try_parse_from(argv).unwrap().settings
    }

    #[test]
    fn nothing_set_is_the_built_in_defaults() {
        let config =
            WorkerSettings::layered(flags(&[]), &Environment::default(), Default::default())
                .unwrap()
                .into_worker();
        assert_eq!(config.http_addr.to_string(), "127.0.0.1:8081");
        assert_eq!(config.coordinator_url, "http://127.0.0.1:8080");
        assert_eq!(config.cache_dir, PathBuf::from("worker-cache"));
        assert_eq!(config.heartbeat_interval, Duration::from_secs(2));
        assert_eq!(config.id, None);
        assert!(!config.dev_mode);
    }

    #[test]
    fn sandbox_limits_come_from_the_shared_section_and_layer() {
        let file = ConfigFile::parse(
            r#"
            [worker]
            id = "w"
            [sandbox]
            memory = "1GiB"
            max_memory = "2GiB"
            call_timeout = "45s"
            "#,
        )
        .unwrap()
        .worker;
        let env = Environment::from_pairs([("QUARRY_SANDBOX_MEMORY", "768MiB")]);
        let config = WorkerSettings::layered(flags(&["--sandbox-stack", "1MiB"]), &env, file)
            .unwrap()
            .into_worker();
        let runtime = config.runtime_config();
        assert_eq!(runtime.default_limits.memory_bytes, 768 << 20);
        assert_eq!(runtime.max_limits.memory_bytes, 2 << 30);
        assert_eq!(
            runtime.default_limits.call_deadline,
            Duration::from_secs(45)
        );
        assert_eq!(runtime.max_wasm_stack, 1 << 20);

        let error = ConfigFile::parse("[worker.sandbox]\nmemory = \"1GiB\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("sandbox"), "{error}");
        let error = WorkerSettings::layered(
            flags(&["--sandbox-memory", "5GiB"]),
            &Environment::default(),
            WorkerSettings::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("sandbox.memory") && error.contains("5GiB"),
            "{error}"
        );
    }

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        let file = ConfigFile::parse(
            r#"
            [worker]
            coordinator_url = "http://file:8080"
            cache_dir = "/file/cache"
            id = "file-id"
            heartbeat_interval = "5s"
            cluster_secret = "file-secret"
            "#,
        )
        .unwrap()
        .worker;
        let env = Environment::from_pairs([
            ("QUARRY_COORDINATOR_URL", "http://env:8080"),
            ("QUARRY_WORKER_ID", "env-id"),
            ("QUARRY_CLUSTER_SECRET", "env-secret"),
        ]);
        let flags = flags(&["--id", "flag-id", "--http", "127.0.0.1:0", "--dev"]);
        let config = WorkerSettings::layered(flags, &env, file)
            .unwrap()
            .into_worker();
        assert_eq!(config.id.as_deref(), Some("flag-id"));
        assert_eq!(config.http_addr.to_string(), "127.0.0.1:0");
        assert!(config.dev_mode);
        assert_eq!(config.coordinator_url, "http://env:8080");
        assert_eq!(config.cluster_secret.as_deref(), Some("env-secret"));
        assert_eq!(config.cache_dir, PathBuf::from("/file/cache"));
        assert_eq!(config.heartbeat_interval, Duration::from_secs(5));
    }

    #[test]
    fn one_file_serves_both_processes() {
        let file = ConfigFile::parse(
            "[coordinator]\nhttp_addr = \"127.0.0.1:9000\"\n\n[worker]\nid = \"w9\"\n",
        )
        .unwrap();
        assert_eq!(file.worker.id.as_deref(), Some("w9"));
        assert!(file.coordinator.http_addr.is_some());
    }
}
