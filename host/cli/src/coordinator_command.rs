//! `quarry coordinator`: layers the configuration and runs the coordinator until Ctrl-C or
//! SIGTERM.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::config_file::{ConfigFile, Environment};
use crate::coordinator_config::CoordinatorSettings;

/// `quarry coordinator` flags. Tokens come from the environment (`QUARRY_ADMIN_TOKEN`,
/// `QUARRY_CLUSTER_SECRET`) or the file, never from a flag.
#[derive(Debug, clap::Args)]
pub struct CoordinatorArgs {
    /// TOML configuration file (its `[coordinator]` section) [env: QUARRY_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub settings: CoordinatorSettings,
}

/// Runs the coordinator.
pub async fn run(args: CoordinatorArgs, env: &Environment) -> Result<()> {
    let file = ConfigFile::load(args.config.as_deref(), env)?;
    let config =
        CoordinatorSettings::layered(args.settings, env, file.coordinator)?.into_coordinator();
    tracing::info!(?config, "starting the coordinator");
    quarry_server::coordinator::serve(config)
        .await
        .context("coordinator")
}
