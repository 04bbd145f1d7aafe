//! The `quarry` command. [`cli`] is the command line; each subcommand group has its file
//! (`dev_command.rs`, `coordinator_command.rs`, `worker_command.rs`, `plugin_command.rs`,
//! `catalog_command.rs`, `sql_command.rs`, `queries_command.rs`); server configuration is layered in `coordinator_config.rs` and
//! `worker_config.rs` (sandbox limits, shared, in `sandbox_config.rs`) over `config_file.rs`; the admin commands talk to the coordinator through
//! `api_client.rs` and print through `output.rs`. The servers themselves live in
//! `quarry-server`: this crate parses, layers and calls `serve`.

pub mod api_client;
pub mod api_types;
pub mod byte_size_value;
pub mod catalog_command;
pub mod catalog_wait;
pub mod cli;
pub mod cluster_secret;
pub mod config_file;
pub mod coordinator_command;
pub mod coordinator_config;
pub mod dev_command;
pub mod dev_processes;
pub mod duration_value;
pub mod env_allow_value;
pub mod logging;
pub mod output;
pub mod password_command;
pub mod plugin_command;
pub mod queries_command;
pub mod sandbox_config;
pub mod sql_command;
pub mod tls_pair;
pub mod user_settings;
pub mod worker_command;
pub mod worker_config;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use crate::api_client::ApiClient;
use crate::cli::{Cli, Command};
use crate::config_file::Environment;

/// Parses the command line, runs the command, prints an error and exits non-zero on failure.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = logging::init(cli.global.log_level.as_deref(), cli.global.log_format) {
        eprintln!("error: {error:#}");
        return ExitCode::FAILURE;
    }
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(dispatch(cli)));
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let env = Environment::from_process();
    let global = cli.global;
    let client =
        || ApiClient::with_tls_ca(&global.url, global.token.clone(), global.tls_ca.as_deref());
    match cli.command {
        Command::Dev(args) => dev_command::run(args, &global, &env).await,
        Command::Coordinator(mut args) => {
            // The global --tls-ca is this command's flag too.
            args.settings.tls_ca = args.settings.tls_ca.or(global.tls_ca.clone());
            coordinator_command::run(args, &env).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker(mut args) => {
            args.settings.tls_ca = args.settings.tls_ca.or(global.tls_ca.clone());
            worker_command::run(args, &env, client, global.output).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(command) => {
            plugin_command::run(command, &client()?, global.output).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Catalog(command) => {
            catalog_command::run(command, &client()?, global.output).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::HashPassword => {
            println!(
                "{}",
                password_command::hash_password(std::io::stdin().lock())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Sql(args) => {
            sql_command::run(args, &client()?, global.output).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Queries(args) => {
            queries_command::run(args, &client()?, global.output).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
