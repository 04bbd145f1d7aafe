//! Logging for every `quarry` command: `tracing` events to stderr, as human-readable lines or
//! one JSON object per line (`--log-format`), filtered by `--log-level`, else `RUST_LOG`, else
//! `info`. Stdout is left to what a command prints for its user.

use std::io::IsTerminal;

use anyhow::{Result, anyhow};
use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per event, for log collectors.
    Json,
}

/// Installs the global subscriber. `level` is a `RUST_LOG`-style filter (`debug`,
/// `info,quarry_server=trace`).
pub fn init(level: Option<&str>, format: LogFormat) -> Result<()> {
    let filter = match level {
        Some(level) => EnvFilter::try_new(level)
            .map_err(|error| anyhow!("invalid log level \"{level}\": {error}"))?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|error| anyhow!("cannot install the logger: {error}"))
}
