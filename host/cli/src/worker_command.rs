//! `quarry worker`: runs a worker (layered configuration, then serve until Ctrl-C or SIGTERM),
//! and `quarry worker list`, the workers a coordinator knows.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::api_client::ApiClient;
use crate::api_types::WorkerList;
use crate::config_file::{ConfigFile, Environment};
use crate::output::{OutputFormat, Table, print_json, short_time};
use crate::worker_config::WorkerSettings;

/// `quarry worker [FLAGS]` runs a worker; `quarry worker list` lists workers.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct WorkerArgs {
    #[command(subcommand)]
    pub command: Option<WorkerCommand>,

    /// TOML configuration file (its `[worker]` section) [env: QUARRY_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub settings: WorkerSettings,
}

/// What `quarry worker` can do besides running one.
#[derive(Debug, clap::Subcommand)]
pub enum WorkerCommand {
    /// List the workers the coordinator knows, with their state (alive, dead, stopped)
    List,
}

/// Runs `quarry worker` or `quarry worker list`.
pub async fn run(
    args: WorkerArgs,
    env: &Environment,
    client: impl FnOnce() -> Result<ApiClient>,
    output: OutputFormat,
) -> Result<()> {
    match args.command {
        Some(WorkerCommand::List) => list(&client()?, output).await,
        None => serve(args.config, args.settings, env).await,
    }
}

async fn serve(config: Option<PathBuf>, flags: WorkerSettings, env: &Environment) -> Result<()> {
    let file = ConfigFile::load(config.as_deref(), env)?;
    let config = WorkerSettings::layered(flags, env, file.worker)?.into_worker();
    tracing::info!(?config, "starting a worker");
    quarry_server::worker::serve(config).await.context("worker")
}

async fn list(client: &ApiClient, output: OutputFormat) -> Result<()> {
    let body = client.get("/v1/workers").await?;
    if output == OutputFormat::Json {
        print_json(&body);
        return Ok(());
    }
    let list: WorkerList =
        serde_json::from_value(body).context("the worker list is not what this quarry reads")?;
    if list.workers.is_empty() {
        println!("no workers");
        return Ok(());
    }
    let mut table = Table::new(&["ID", "ADDRESS", "STATE", "STARTED", "LAST HEARTBEAT"]);
    for worker in list.workers {
        table.row(vec![
            worker.id,
            worker.address,
            worker.state,
            short_time(&worker.started_at),
            short_time(&worker.last_heartbeat),
        ]);
    }
    table.print();
    Ok(())
}
