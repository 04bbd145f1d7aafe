//! The command line: the global flags every command shares and the subcommand tree, as clap
//! derive types. Each subcommand group's own flags live next to the code that runs it.

use clap::{Args, Parser, Subcommand};

use crate::catalog_command::CatalogCommand;
use crate::coordinator_command::CoordinatorArgs;
use crate::dev_command::DevArgs;
use crate::logging::LogFormat;
use crate::output::OutputFormat;
use crate::plugin_command::PluginCommand;
use crate::queries_command::QueriesArgs;
use crate::sql_command::SqlArgs;
use crate::worker_command::WorkerArgs;

/// Quarry: a federated SQL engine whose connectors are sandboxed WebAssembly components.
#[derive(Debug, Parser)]
#[command(
    name = "quarry",
    version,
    about = "Quarry: a federated SQL engine whose connectors are sandboxed WebAssembly components",
    long_about = "Quarry: a federated SQL engine whose connectors are sandboxed WebAssembly \
                  components.\n\n\
                  Run a whole local cluster with `quarry dev`, or the processes one by one with \
                  `quarry coordinator` and `quarry worker`. The `plugin`, `catalog`, `sql` \
                  and `worker list` commands administer a running cluster over its HTTP API \
                  (--url, --token).\n\n\
                  Server settings layer as: built-in defaults, then the TOML file (--config or \
                  QUARRY_CONFIG), then QUARRY_* environment variables, then flags \
                  (docs/configuration.md lists every key)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

// Flags every command accepts.
// (Not a doc comment: clap would make it the help text of the command this is flattened into.)
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The coordinator's URL, for the admin commands
    #[arg(
        long,
        global = true,
        env = "QUARRY_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub url: String,

    /// The admin token, sent as `Authorization: Bearer` (not needed by a dev-mode coordinator
    /// started without one)
    #[arg(
        long,
        global = true,
        env = "QUARRY_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,

    /// CA certificates (PEM) to trust when calling Quarry over https://: the admin commands'
    /// --url, a coordinator's calls to its workers, a worker's to its coordinator
    #[arg(long, global = true, env = "QUARRY_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<std::path::PathBuf>,

    /// How the admin commands print their results
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        value_name = "FORMAT"
    )]
    pub output: OutputFormat,

    /// Log line format (logs go to stderr)
    #[arg(
        long,
        global = true,
        env = "QUARRY_LOG_FORMAT",
        value_enum,
        default_value_t,
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,

    /// Log filter, e.g. `debug` or `info,quarry_server=trace` [default: RUST_LOG, else info]
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a whole local cluster in one process tree: a coordinator and two workers on
    /// 127.0.0.1, SQLite in the data directory, the bundled plugins uploaded and a `tpch`
    /// catalog ready. Safe to run again on the same data directory. Ctrl-C stops it.
    Dev(DevArgs),

    /// Run the coordinator: the catalog database, the HTTP control API and the sync task that
    /// pushes catalogs to the workers
    Coordinator(CoordinatorArgs),

    /// Run a worker (it registers with the coordinator, loads every catalog and heartbeats), or
    /// `quarry worker list` the workers a coordinator knows
    Worker(WorkerArgs),

    /// Upload, list, show and delete plugins (connector components)
    #[command(subcommand)]
    Plugin(PluginCommand),

    /// Create, alter, delete, list and show catalogs (named instances of a plugin)
    #[command(subcommand)]
    Catalog(CatalogCommand),

    /// Run SQL on the cluster: queries over `catalog.schema.table`, SHOW CATALOGS/SCHEMAS/TABLES,
    /// and CREATE/ALTER/DROP CATALOG
    Sql(SqlArgs),

    /// List the statements the coordinator is running and the last ones to finish: user,
    /// state, time, rows, and what each stage of a distributed query moved between processes
    Queries(QueriesArgs),

    /// Print the SCRAM-SHA-256 verifier of the password on standard input, for a user's
    /// `password` in the `[[coordinator.users]]` of the configuration file:
    /// `echo -n 'PASSWORD' | quarry hash-password`
    HashPassword,
}
