//! The sandbox settings `quarry coordinator` and `quarry worker` share: the limits a catalog's
//! plugin runs under when the catalog sets none, and the most a catalog may ask for. One set of
//! optional settings that is at once flags (`--sandbox-…`), the top-level `[sandbox]` section of
//! the TOML file and `QUARRY_SANDBOX_*` variables, layered like the rest of each process's
//! settings and applied to its [`RuntimeConfig`].
//!
//! One section for both processes, because the coordinator validates a catalog in its own
//! sandbox before any worker loads it: both should judge a plugin by the same limits.

use anyhow::{Result, bail};
use quarry_runtime::RuntimeConfig;
use serde::Deserialize;

use crate::byte_size_value::ByteSizeValue;
use crate::config_file::Environment;
use crate::duration_value::DurationValue;

/// The largest linear memory a wasm32 component can address.
pub const WASM32_MEMORY_LIMIT: u64 = 4 << 30;

/// The smallest and largest wasm stack accepted: plugin calls run on host threads with 2 MiB
/// stacks, which must hold the host's own frames too.
pub const STACK_RANGE: (u64, u64) = (64 << 10, 1 << 20);

// Every sandbox setting; `None` means "not set at this layer".
// (Not a doc comment: clap would make it the help text of the command this is flattened into.)
#[derive(Clone, Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    /// Linear memory one plugin instance may grow to, for catalogs that set no limit
    /// [default: 512MiB]
    #[arg(long = "sandbox-memory", value_name = "SIZE")]
    pub memory: Option<ByteSizeValue>,

    /// How long one call into a plugin may run, for catalogs that set no limit [default: 30s]
    #[arg(long = "sandbox-call-timeout", value_name = "DURATION")]
    pub call_timeout: Option<DurationValue>,

    /// Native stack wasm code may use, for every plugin [default: 512KiB]
    #[arg(long = "sandbox-stack", value_name = "SIZE")]
    pub stack: Option<ByteSizeValue>,

    /// The most memory a catalog may ask for [default: 4GiB]
    #[arg(long = "sandbox-max-memory", value_name = "SIZE")]
    pub max_memory: Option<ByteSizeValue>,

    /// The longest call timeout a catalog may ask for [default: 600s]
    #[arg(long = "sandbox-max-call-timeout", value_name = "DURATION")]
    pub max_call_timeout: Option<DurationValue>,

    /// Plugin instances one catalog may hold at once, busy or warm; its further calls wait
    /// [default: two per core, at least 4]
    #[arg(long = "sandbox-catalog-instances", value_name = "N")]
    pub catalog_instances: Option<usize>,

    /// Calls of one catalog that may wait for an instance at once; one more is refused as busy
    /// [default: 256]
    #[arg(long = "sandbox-waiting-calls", value_name = "N")]
    pub waiting_calls: Option<usize>,

    /// The longest a call waits for an instance before it is refused as busy [default: 300s]
    #[arg(long = "sandbox-slot-wait", value_name = "DURATION")]
    pub slot_wait: Option<DurationValue>,

    /// The longest loading (compiling) one plugin may take before it is refused [default: 120s]
    #[arg(long = "sandbox-compile-timeout", value_name = "DURATION")]
    pub compile_timeout: Option<DurationValue>,

    /// Run a plugin's `pre-initialize` export once when it is loaded, and start every instance
    /// from the snapshot of its memory (false: every instance builds its state itself)
    /// [default: true]
    #[arg(long = "sandbox-pre-initialize", value_name = "BOOL")]
    pub pre_initialize: Option<bool>,

    /// Outbound HTTP of plugins: the longest resolving, connecting and the TLS handshake of
    /// one request may take [default: 10s]
    #[arg(long = "sandbox-http-connect-timeout", value_name = "DURATION")]
    pub http_connect_timeout: Option<DurationValue>,

    /// Outbound HTTP of plugins: the longest wait for a response to start, and between two
    /// chunks of its body [default: 30s]
    #[arg(long = "sandbox-http-first-byte-timeout", value_name = "DURATION")]
    pub http_first_byte_timeout: Option<DurationValue>,

    /// Outbound HTTP of plugins: the longest one request may take, to the last byte of its
    /// response [default: 60s; never longer than the call timeout]
    #[arg(long = "sandbox-http-request-timeout", value_name = "DURATION")]
    pub http_request_timeout: Option<DurationValue>,

    /// Outbound HTTP of plugins: the largest response body; a larger one fails the request
    /// [default: 64MiB]
    #[arg(long = "sandbox-http-response-size", value_name = "SIZE")]
    pub http_response_size: Option<ByteSizeValue>,
}

impl SandboxSettings {
    /// The settings the environment holds.
    pub fn from_env(env: &Environment) -> Result<SandboxSettings> {
        Ok(SandboxSettings {
            memory: env.parse("QUARRY_SANDBOX_MEMORY")?,
            call_timeout: env.parse("QUARRY_SANDBOX_CALL_TIMEOUT")?,
            stack: env.parse("QUARRY_SANDBOX_STACK")?,
            max_memory: env.parse("QUARRY_SANDBOX_MAX_MEMORY")?,
            max_call_timeout: env.parse("QUARRY_SANDBOX_MAX_CALL_TIMEOUT")?,
            catalog_instances: env.parse("QUARRY_SANDBOX_CATALOG_INSTANCES")?,
            waiting_calls: env.parse("QUARRY_SANDBOX_WAITING_CALLS")?,
            slot_wait: env.parse("QUARRY_SANDBOX_SLOT_WAIT")?,
            compile_timeout: env.parse("QUARRY_SANDBOX_COMPILE_TIMEOUT")?,
            pre_initialize: env.parse("QUARRY_SANDBOX_PRE_INITIALIZE")?,
            http_connect_timeout: env.parse("QUARRY_SANDBOX_HTTP_CONNECT_TIMEOUT")?,
            http_first_byte_timeout: env.parse("QUARRY_SANDBOX_HTTP_FIRST_BYTE_TIMEOUT")?,
            http_request_timeout: env.parse("QUARRY_SANDBOX_HTTP_REQUEST_TIMEOUT")?,
            http_response_size: env.parse("QUARRY_SANDBOX_HTTP_RESPONSE_SIZE")?,
        })
    }

    /// These settings, with `lower`'s filling what these leave unset.
    pub fn over(self, lower: SandboxSettings) -> SandboxSettings {
        SandboxSettings {
            memory: self.memory.or(lower.memory),
            call_timeout: self.call_timeout.or(lower.call_timeout),
            stack: self.stack.or(lower.stack),
            max_memory: self.max_memory.or(lower.max_memory),
            max_call_timeout: self.max_call_timeout.or(lower.max_call_timeout),
            catalog_instances: self.catalog_instances.or(lower.catalog_instances),
            waiting_calls: self.waiting_calls.or(lower.waiting_calls),
            slot_wait: self.slot_wait.or(lower.slot_wait),
            compile_timeout: self.compile_timeout.or(lower.compile_timeout),
            pre_initialize: self.pre_initialize.or(lower.pre_initialize),
            http_connect_timeout: self.http_connect_timeout.or(lower.http_connect_timeout),
            http_first_byte_timeout: self
                .http_first_byte_timeout
                .or(lower.http_first_byte_timeout),
            http_request_timeout: self.http_request_timeout.or(lower.http_request_timeout),
            http_response_size: self.http_response_size.or(lower.http_response_size),
        }
    }

    /// These settings as `--sandbox-…` flags, for a child process (`quarry dev`).
    pub fn to_args(&self) -> Vec<String> {
        let flags = [
            ("--sandbox-memory", self.memory.map(|v| v.to_string())),
            (
                "--sandbox-call-timeout",
                self.call_timeout.map(|v| v.to_string()),
            ),
            ("--sandbox-stack", self.stack.map(|v| v.to_string())),
            (
                "--sandbox-max-memory",
                self.max_memory.map(|v| v.to_string()),
            ),
            (
                "--sandbox-max-call-timeout",
                self.max_call_timeout.map(|v| v.to_string()),
            ),
            (
                "--sandbox-catalog-instances",
                self.catalog_instances.map(|v| v.to_string()),
            ),
            (
                "--sandbox-waiting-calls",
                self.waiting_calls.map(|v| v.to_string()),
            ),
            ("--sandbox-slot-wait", self.slot_wait.map(|v| v.to_string())),
            (
                "--sandbox-compile-timeout",
                self.compile_timeout.map(|v| v.to_string()),
            ),
            (
                "--sandbox-pre-initialize",
                self.pre_initialize.map(|v| v.to_string()),
            ),
            (
                "--sandbox-http-connect-timeout",
                self.http_connect_timeout.map(|v| v.to_string()),
            ),
            (
                "--sandbox-http-first-byte-timeout",
                self.http_first_byte_timeout.map(|v| v.to_string()),
            ),
            (
                "--sandbox-http-request-timeout",
                self.http_request_timeout.map(|v| v.to_string()),
            ),
            (
                "--sandbox-http-response-size",
                self.http_response_size.map(|v| v.to_string()),
            ),
        ];
        flags
            .into_iter()
            .filter_map(|(flag, value)| Some([flag.to_owned(), value?]))
            .flatten()
            .collect()
    }

    /// Sets every value these settings hold in `runtime`.
    pub fn apply_to(&self, runtime: &mut RuntimeConfig) {
        if let Some(ByteSizeValue(bytes)) = self.memory {
            runtime.default_limits.memory_bytes = bytes;
        }
        if let Some(DurationValue(timeout)) = self.call_timeout {
            runtime.default_limits.call_deadline = timeout;
        }
        if let Some(ByteSizeValue(bytes)) = self.stack {
            runtime.max_wasm_stack = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        if let Some(ByteSizeValue(bytes)) = self.max_memory {
            runtime.max_limits.memory_bytes = bytes;
        }
        if let Some(DurationValue(timeout)) = self.max_call_timeout {
            runtime.max_limits.call_deadline = timeout;
        }
        if let Some(n) = self.catalog_instances {
            runtime.max_catalog_instances = n;
        }
        if let Some(n) = self.waiting_calls {
            runtime.max_waiting_calls = n;
        }
        if let Some(DurationValue(wait)) = self.slot_wait {
            runtime.slot_wait = wait;
        }
        if let Some(DurationValue(timeout)) = self.compile_timeout {
            runtime.compile_timeout = timeout;
        }
        if let Some(pre_initialize) = self.pre_initialize {
            runtime.pre_initialize = pre_initialize;
        }
        let limits = &mut runtime.default_limits;
        if let Some(DurationValue(timeout)) = self.http_connect_timeout {
            limits.http_connect_timeout = timeout;
        }
        if let Some(DurationValue(timeout)) = self.http_first_byte_timeout {
            limits.http_first_byte_timeout = timeout;
        }
        if let Some(DurationValue(timeout)) = self.http_request_timeout {
            limits.http_request_timeout = timeout;
        }
        if let Some(ByteSizeValue(bytes)) = self.http_response_size {
            limits.http_response_bytes = bytes;
        }
    }

    /// Checks these settings over the built-in defaults: an error names the setting (its file
    /// key, flag and variable) and the reason.
    pub fn check(&self) -> Result<()> {
        let mut runtime = RuntimeConfig::default();
        self.apply_to(&mut runtime);
        let (defaults, maxima) = (&runtime.default_limits, &runtime.max_limits);
        let size = |bytes: u64| ByteSizeValue(bytes).to_string();
        let time = |duration| DurationValue(duration).to_string();
        if maxima.memory_bytes == 0 || maxima.memory_bytes > WASM32_MEMORY_LIMIT {
            bail!(
                "{}: {} is not between 1 byte and {} (the most a wasm32 plugin can address)",
                key("max_memory"),
                size(maxima.memory_bytes),
                size(WASM32_MEMORY_LIMIT)
            );
        }
        if defaults.memory_bytes == 0 || defaults.memory_bytes > maxima.memory_bytes {
            bail!(
                "{}: {} is not between 1 byte and the maximum, {} (raise {} first)",
                key("memory"),
                size(defaults.memory_bytes),
                size(maxima.memory_bytes),
                key("max_memory")
            );
        }
        if maxima.call_deadline < runtime.epoch_tick {
            bail!(
                "{}: {} is shorter than the deadline granularity, {}",
                key("max_call_timeout"),
                time(maxima.call_deadline),
                time(runtime.epoch_tick)
            );
        }
        if defaults.call_deadline < runtime.epoch_tick
            || defaults.call_deadline > maxima.call_deadline
        {
            bail!(
                "{}: {} is not between {} and the maximum, {} (raise {} first)",
                key("call_timeout"),
                time(defaults.call_deadline),
                time(runtime.epoch_tick),
                time(maxima.call_deadline),
                key("max_call_timeout")
            );
        }
        if runtime.max_catalog_instances == 0 {
            bail!(
                "{}: 0 would leave every catalog without an instance; at least 1",
                key("catalog_instances")
            );
        }
        for (name, asked, max) in [
            (
                "http_connect_timeout",
                defaults.http_connect_timeout,
                maxima.http_connect_timeout,
            ),
            (
                "http_first_byte_timeout",
                defaults.http_first_byte_timeout,
                maxima.http_first_byte_timeout,
            ),
            (
                "http_request_timeout",
                defaults.http_request_timeout,
                maxima.http_request_timeout,
            ),
        ] {
            if asked.is_zero() || asked > max {
                bail!(
                    "{}: {} is not between 1ms and {}",
                    key(name),
                    time(asked),
                    time(max)
                );
            }
        }
        if defaults.http_response_bytes == 0
            || defaults.http_response_bytes > maxima.http_response_bytes
        {
            bail!(
                "{}: {} is not between 1 byte and {}",
                key("http_response_size"),
                size(defaults.http_response_bytes),
                size(maxima.http_response_bytes)
            );
        }
        let stack = u64::try_from(runtime.max_wasm_stack).unwrap_or(u64::MAX);
        if !(STACK_RANGE.0..=STACK_RANGE.1).contains(&stack) {
            bail!(
                "{}: {} is not between {} and {} (plugin calls run on host threads with \
                 2MiB stacks)",
                key("stack"),
                size(stack),
                size(STACK_RANGE.0),
                size(STACK_RANGE.1)
            );
        }
        Ok(())
    }
}

/// How a setting is written in each layer: `sandbox.memory (--sandbox-memory,
/// QUARRY_SANDBOX_MEMORY)`.
fn key(name: &str) -> String {
    format!(
        "sandbox.{name} (--sandbox-{}, QUARRY_SANDBOX_{})",
        name.replace('_', "-"),
        name.to_ascii_uppercase()
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config_file::ConfigFile;

    fn settings(text: &str) -> SandboxSettings {
        ConfigFile::parse(text).unwrap().sandbox
    }

    fn runtime(settings: &SandboxSettings) -> RuntimeConfig {
        settings.check().unwrap();
        let mut runtime = RuntimeConfig::default();
        settings.apply_to(&mut runtime);
        runtime
    }

    #[test]
    fn settings_pass_to_a_child_as_flags() {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            sandbox: SandboxSettings,
        }
        let given = settings(
            "[sandbox]\nmemory = \"96MiB\"\ncall_timeout = \"1500ms\"\nstack = \"1MiB\"\n\
             max_memory = \"1GiB\"\nmax_call_timeout = \"90s\"\npre_initialize = false\n\
             http_connect_timeout = \"3s\"\nhttp_request_timeout = \"20s\"\n\
             http_response_size = \"8MiB\"\n",
        );
        let args = given.to_args();
        assert_eq!(args.len(), 18, "{args:?}");
        let parsed = <Flags as clap::Parser>::try_parse_from(
            std::iter::once("quarry".to_owned()).chain(args),
        )
        .unwrap()
        .sandbox;
        let (a, b) = (runtime(&given), runtime(&parsed));
        assert_eq!(a.default_limits, b.default_limits);
        assert_eq!(a.max_limits, b.max_limits);
        assert_eq!(a.max_wasm_stack, b.max_wasm_stack);
        assert!(!a.pre_initialize && !b.pre_initialize);
        assert!(SandboxSettings::default().to_args().is_empty());
    }

    #[test]
    fn nothing_set_keeps_the_runtime_defaults() {
        let runtime = runtime(&SandboxSettings::default());
        let defaults = RuntimeConfig::default();
        assert_eq!(runtime.default_limits, defaults.default_limits);
        assert_eq!(runtime.max_limits, defaults.max_limits);
        assert_eq!(runtime.max_wasm_stack, 512 * 1024);
        assert!(runtime.pre_initialize);
        assert_eq!(runtime.default_limits.memory_bytes, 512 << 20);
        assert_eq!(
            runtime.default_limits.call_deadline,
            Duration::from_secs(30)
        );
    }

    #[test]
    fn the_file_section_sets_every_limit() {
        let runtime = runtime(&settings(
            r#"
            [sandbox]
            memory = "256MiB"
            call_timeout = "5s"
            stack = "1MiB"
            max_memory = "1GiB"
            max_call_timeout = 60
            "#,
        ));
        assert_eq!(runtime.default_limits.memory_bytes, 256 << 20);
        assert_eq!(runtime.default_limits.call_deadline, Duration::from_secs(5));
        assert_eq!(runtime.max_wasm_stack, 1 << 20);
        assert_eq!(runtime.max_limits.memory_bytes, 1 << 30);
        assert_eq!(runtime.max_limits.call_deadline, Duration::from_secs(60));
    }

    #[test]
    fn invalid_values_name_the_setting_and_the_reason() {
        let error = |text: &str| settings(text).check().unwrap_err().to_string();
        let e = error("[sandbox]\nmemory = \"8GiB\"\n");
        assert!(e.contains("sandbox.memory") && e.contains("8GiB"), "{e}");
        assert!(e.contains("QUARRY_SANDBOX_MAX_MEMORY"), "{e}");
        let e = error("[sandbox]\nmemory = \"8GiB\"\nmax_memory = \"8GiB\"\n");
        assert!(
            e.contains("sandbox.max_memory") && e.contains("wasm32"),
            "{e}"
        );
        let e = error("[sandbox]\ncall_timeout = \"1ms\"\n");
        assert!(
            e.contains("--sandbox-call-timeout") && e.contains("1ms"),
            "{e}"
        );
        let e = error("[sandbox]\ncall_timeout = \"20m\"\n");
        assert!(e.contains("max_call_timeout"), "{e}");
        let e = error("[sandbox]\nstack = \"8MiB\"\n");
        assert!(e.contains("sandbox.stack") && e.contains("8MiB"), "{e}");
        let e = error("[sandbox]\nmemory = 0\n");
        assert!(e.contains("sandbox.memory"), "{e}");
        let e = error("[sandbox]\nhttp_response_size = \"2GiB\"\n");
        assert!(
            e.contains("--sandbox-http-response-size") && e.contains("2GiB"),
            "{e}"
        );
        let e = error("[sandbox]\nhttp_request_timeout = \"0s\"\n");
        assert!(e.contains("QUARRY_SANDBOX_HTTP_REQUEST_TIMEOUT"), "{e}");

        let e = ConfigFile::parse("[sandbox]\nmemory = \"512MB\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("512MB") && e.contains("MiB"), "{e}");
        let e = ConfigFile::parse("[sandbox]\nfuel = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("fuel"), "{e}");
        let env = Environment::from_pairs([("QUARRY_SANDBOX_STACK", "big")]);
        let e = SandboxSettings::from_env(&env).unwrap_err().to_string();
        assert!(e.contains("QUARRY_SANDBOX_STACK"), "{e}");
    }
}
