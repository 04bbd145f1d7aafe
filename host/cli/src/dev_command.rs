//! `quarry dev`: a whole local cluster in one process tree. It spawns `quarry coordinator` and
//! two `quarry worker`s from this very binary (SQLite and caches under `--data-dir`, a cluster
//! secret generated once and kept there), uploads the bundled plugins, creates the `tpch`
//! catalog if it is not there, waits until every worker has it, and prints how to connect.
//! Running it again on the same data directory finds everything in place. Ctrl-C or SIGTERM
//! stops the workers, then the coordinator, each with SIGTERM.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::ValueEnum as _;
use quarry_server::shutdown_signal::shutdown_signal;
use reqwest::StatusCode;
use serde_json::json;
use tokio::process::Command;

use crate::api_client::{ApiClient, status_of};
use crate::catalog_wait::{ProgressSink, wait_ready};
use crate::cli::GlobalArgs;
use crate::cluster_secret;
use crate::config_file::{CONFIG_ENV, Environment};
use crate::dev_processes::DevChild;
use crate::duration_value::DurationValue;
use crate::plugin_command::{describe_upload, resolve_reference, upload};
use crate::sandbox_config::SandboxSettings;

/// The catalog `quarry dev` makes sure exists.
const DEV_CATALOG: &str = "tpch";
/// The plugins `quarry dev` uploads: the first is required, the others are uploaded when built.
const BUNDLED_PLUGINS: [&str; 4] = ["tpch", "files", "http", "postgres"];
/// How long a child gets to say it is listening.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a child gets to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// The children's log filter when neither `--log-level` nor `RUST_LOG` says otherwise.
const DEV_LOG_FILTER: &str = "info,tower_http=warn";
/// The PostgreSQL wire protocol port when none is given.
const DEFAULT_PG_PORT: u16 = 5433;
/// Where the dev cluster's Flight SQL endpoint listens by default.
const DEFAULT_FLIGHT_SQL_PORT: u16 = 8815;

/// What `quarry dev` prefixes its own lines with.
const SAY: &str = "quarry dev: ";

/// `quarry dev` flags.
#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// Where the cluster keeps its SQLite database, cluster secret and worker caches
    #[arg(long, value_name = "DIR", default_value = ".quarry/dev")]
    pub data_dir: PathBuf,

    /// The coordinator's HTTP address (port 0 picks a free one)
    #[arg(long = "http", value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,

    /// The address psql and JDBC connect to (the PostgreSQL wire protocol)
    /// [default: 127.0.0.1:5433; port 0 when --http has port 0]
    #[arg(long = "pg", value_name = "ADDR")]
    pub pg: Option<SocketAddr>,

    /// The address Arrow Flight SQL clients (ADBC, polars) connect to
    /// [default: 127.0.0.1:8815; port 0 when --http has port 0]
    #[arg(long = "flight-sql", value_name = "ADDR")]
    pub flight_sql: Option<SocketAddr>,

    /// A worker's HTTP address, once per worker; one address with port 0 serves for all
    /// [default: 127.0.0.1:8081, 127.0.0.1:8082, …; port 0 when --http has port 0]
    #[arg(long = "worker-http", value_name = "ADDR")]
    pub worker_http: Vec<SocketAddr>,

    /// How many workers to run
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub workers: usize,

    /// Where the plugin components (tpch.wasm, files.wasm, http.wasm) are
    /// [default: target/plugins under the current directory, else next to the quarry binary]
    #[arg(long, value_name = "DIR")]
    pub plugins_dir: Option<PathBuf>,

    /// How long to wait for the tpch catalog to be ready on every worker
    #[arg(long, value_name = "DURATION", default_value = "300s")]
    pub ready_timeout: DurationValue,

    // Sandbox limits for the coordinator and every worker (over QUARRY_SANDBOX_*).
    #[command(flatten)]
    pub sandbox: SandboxSettings,
}

/// What is running once the cluster is up.
#[derive(Debug)]
struct Running {
    coordinator_url: String,
    /// Where psql connects.
    postgres: Option<String>,
    /// Where Flight SQL clients connect.
    flight_sql: Option<String>,
    workers: Vec<(String, String)>,
}

/// Runs the dev cluster until Ctrl-C / SIGTERM or until one of its processes dies.
pub async fn run(args: DevArgs, global: &GlobalArgs, env: &Environment) -> Result<ExitCode> {
    let plugins = find_plugins(args.plugins_dir.as_deref())?;
    // Checked here, so a bad limit is one message rather than three children failing to start.
    args.sandbox
        .clone()
        .over(SandboxSettings::from_env(env)?)
        .check()?;
    let worker_addrs = worker_addresses(&args)?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let data_dir = std::path::absolute(&args.data_dir)
        .with_context(|| format!("cannot resolve {}", args.data_dir.display()))?;
    let secret = cluster_secret::load_or_create(&data_dir.join("cluster-secret"))?;
    let token = global.token.clone();
    let setup = Setup {
        exe: std::env::current_exe().context("cannot find the quarry binary")?,
        data_dir,
        secret,
        token,
        log_args: log_args(global, env),
        sandbox_args: args.sandbox.to_args(),
        coordinator_addr: args.http,
        pg_addr: args
            .pg
            .unwrap_or_else(|| beside_http(args.http, DEFAULT_PG_PORT)),
        flight_sql_addr: args
            .flight_sql
            .unwrap_or_else(|| beside_http(args.http, DEFAULT_FLIGHT_SQL_PORT)),
        worker_addrs,
        plugins,
        ready_timeout: args.ready_timeout.0,
    };
    if env.get(CONFIG_ENV).is_some() {
        println!("{SAY}ignoring {CONFIG_ENV}: the dev cluster is configured by its own flags");
    }

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut children: Vec<DevChild> = Vec::new();
    let started = tokio::select! {
        result = bring_up(&mut children, &setup) => Some(result),
        () = &mut shutdown => None,
    };
    let outcome = match started {
        None => {
            println!("{SAY}stopping before the cluster was up");
            Ok(ExitCode::SUCCESS)
        }
        Some(Err(error)) => Err(error),
        Some(Ok(running)) => {
            print!("{}", ready_text(&running, &setup));
            Ok(supervise(&mut children, &mut shutdown).await)
        }
    };
    stop_all(&mut children).await;
    outcome
}

/// Everything the cluster is started with (no `Debug`: it holds the secret and the token).
struct Setup {
    exe: PathBuf,
    data_dir: PathBuf,
    secret: String,
    token: Option<String>,
    log_args: Vec<String>,
    /// `--sandbox-…` flags for every child.
    sandbox_args: Vec<String>,
    coordinator_addr: SocketAddr,
    pg_addr: SocketAddr,
    flight_sql_addr: SocketAddr,
    worker_addrs: Vec<SocketAddr>,
    plugins: Vec<PathBuf>,
    ready_timeout: Duration,
}

impl Setup {
    fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(&self.exe);
        command
            .arg(subcommand)
            .args(&self.log_args)
            .args(&self.sandbox_args)
            .env("QUARRY_CLUSTER_SECRET", &self.secret)
            .env_remove(CONFIG_ENV);
        // Its own process group: Ctrl-C in the terminal reaches `quarry dev` only, which then
        // stops the workers before the coordinator.
        #[cfg(unix)]
        command.process_group(0);
        match &self.token {
            Some(token) => command.env("QUARRY_ADMIN_TOKEN", token),
            None => command.env_remove("QUARRY_ADMIN_TOKEN"),
        };
        command
    }
}

async fn bring_up(children: &mut Vec<DevChild>, setup: &Setup) -> Result<Running> {
    let database = format!("sqlite://{}", setup.data_dir.join("quarry.db").display());
    let mut coordinator = setup.command("coordinator");
    coordinator
        .args(["--dev", "--http"])
        .arg(setup.coordinator_addr.to_string())
        .arg("--pg")
        .arg(setup.pg_addr.to_string())
        .arg("--flight-sql")
        .arg(setup.flight_sql_addr.to_string())
        .arg("--data-dir")
        .arg(&setup.data_dir)
        .args(["--database", &database]);
    children.push(DevChild::spawn("coordinator", coordinator)?);
    let coordinator_url = match children.last_mut() {
        Some(child) => {
            child
                .wait_listening("quarry coordinator", START_TIMEOUT)
                .await?
        }
        None => bail!("the coordinator process is missing"),
    };
    let postgres = children
        .last()
        .and_then(|c| c.postgres_addr())
        .map(str::to_owned);
    let flight_sql = children
        .last()
        .and_then(|c| c.flight_sql_addr())
        .map(str::to_owned);

    for (index, addr) in setup.worker_addrs.iter().enumerate() {
        let id = format!("w{}", index + 1);
        let mut worker = setup.command("worker");
        worker
            .args(["--dev", "--coordinator", &coordinator_url, "--id", &id])
            .arg("--http")
            .arg(addr.to_string())
            .arg("--cache-dir")
            .arg(setup.data_dir.join("workers").join(&id));
        children.push(DevChild::spawn(&id, worker)?);
    }
    let mut workers = Vec::new();
    for child in children.iter_mut().skip(1) {
        let url = child.wait_listening("quarry worker", START_TIMEOUT).await?;
        workers.push((child.name().to_owned(), url));
    }

    let client = ApiClient::new(&coordinator_url, setup.token.clone())?;
    let mut tpch_reference = None;
    for path in &setup.plugins {
        match upload(&client, path).await {
            Ok((status, plugin, _)) => {
                println!("{SAY}{}", describe_upload(status, &plugin));
                if plugin.name == DEV_CATALOG {
                    tpch_reference = Some(plugin.reference());
                }
            }
            Err(error) if status_of(&error) == Some(StatusCode::CONFLICT) => {
                println!(
                    "{SAY}keeping the plugin already uploaded under the same version: {error:#} \
                     (give a new build a new version to upload it)"
                );
            }
            Err(error) => return Err(error),
        }
    }
    let tpch_reference = match tpch_reference {
        Some(reference) => reference,
        None => resolve_reference(&client, DEV_CATALOG).await?,
    };

    let path = format!("/v1/catalogs/{DEV_CATALOG}");
    let generation = match client.get_optional(&path).await? {
        Some(existing) => {
            let generation = existing
                .get("generation")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(1);
            println!("{SAY}catalog {DEV_CATALOG} exists (generation {generation}): kept");
            generation
        }
        None => {
            let body = json!({"name": DEV_CATALOG, "plugin": tpch_reference});
            client.post_json("/v1/catalogs", &body).await?;
            println!("{SAY}created catalog {DEV_CATALOG} ({tpch_reference})");
            1
        }
    };
    wait_ready(
        &client,
        DEV_CATALOG,
        generation,
        setup.ready_timeout,
        ProgressSink::Stdout,
        SAY,
    )
    .await?;
    Ok(Running {
        coordinator_url,
        postgres,
        flight_sql,
        workers,
    })
}

/// Waits for a stop signal (exit 0) or for a child to die on its own (exit 1).
async fn supervise(
    children: &mut [DevChild],
    shutdown: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> ExitCode {
    loop {
        tokio::select! {
            () = &mut *shutdown => {
                println!("{SAY}stopping the cluster");
                return ExitCode::SUCCESS;
            }
            () = tokio::time::sleep(Duration::from_millis(500)) => {
                for child in children.iter_mut() {
                    if let Some(status) = child.exited() {
                        eprintln!(
                            "{SAY}the {} process exited on its own ({status}); stopping the cluster",
                            child.name()
                        );
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
    }
}

/// Stops the workers first (so they can say goodbye to a live coordinator), then the
/// coordinator.
async fn stop_all(children: &mut Vec<DevChild>) {
    while let Some(mut child) = children.pop() {
        let status = child.stop(STOP_GRACE).await;
        match status {
            Some(status) => println!("{SAY}{} stopped ({status})", child.name()),
            None => println!("{SAY}{} stopped", child.name()),
        }
    }
}

/// The text printed once the cluster is ready.
fn ready_text(running: &Running, setup: &Setup) -> String {
    let url = &running.coordinator_url;
    let auth = if setup.token.is_some() {
        " -H \"Authorization: Bearer $QUARRY_ADMIN_TOKEN\""
    } else {
        ""
    };
    let mut text = String::new();
    let _ = writeln!(text, "{SAY}cluster ready");
    let _ = writeln!(text, "  coordinator: {url}");
    for (id, worker_url) in &running.workers {
        let _ = writeln!(text, "  worker {id}: {worker_url}");
    }
    let _ = writeln!(text, "  data dir: {}", setup.data_dir.display());
    let _ = writeln!(text, "connect with:");
    if let Some(pg) = &running.postgres
        && let Some((host, port)) = pg.rsplit_once(':')
    {
        // With a token, psql logs in as `admin` with the token as its password (SCRAM);
        // without one, dev mode takes any user name on loopback, no password.
        let (user, password) = if setup.token.is_some() {
            ("admin", "PGPASSWORD=\"$QUARRY_ADMIN_TOKEN\" ")
        } else {
            ("quarry", "")
        };
        let _ = writeln!(
            text,
            "  {password}psql -h {host} -p {port} -U {user} quarry"
        );
        let _ = writeln!(
            text,
            "  {password}psql -h {host} -p {port} -U {user} -c \"SELECT count(*) FROM {DEV_CATALOG}.tiny.lineitem\""
        );
    }
    if let Some(flight_sql) = &running.flight_sql {
        // ADBC's Flight SQL driver, from Python (docs/clients.md has more).
        let credentials = if setup.token.is_some() {
            ", db_kwargs={\"username\": \"admin\", \"password\": os.environ[\"QUARRY_ADMIN_TOKEN\"]}"
        } else {
            ""
        };
        let _ = writeln!(
            text,
            "  python3 -c 'import os, adbc_driver_flightsql.dbapi as f; c = f.connect(\"grpc://{flight_sql}\"{credentials}, autocommit=True).cursor(); c.execute(\"SELECT count(*) FROM {DEV_CATALOG}.tiny.lineitem\"); print(c.fetch_arrow_table())'"
        );
    }
    let _ = writeln!(
        text,
        "  curl -sS{auth} {url}/v1/statement -H 'content-type: application/json' \\\n       \
         -d '{{\"sql\": \"SELECT count(*) FROM {DEV_CATALOG}.tiny.lineitem\"}}'"
    );
    let _ = writeln!(
        text,
        "  quarry --url {url} sql \"SHOW TABLES FROM {DEV_CATALOG}.tiny\""
    );
    let _ = writeln!(text, "  curl -sS{auth} {url}/v1/catalogs");
    let _ = writeln!(text, "  curl -sS{auth} {url}/v1/catalogs/{DEV_CATALOG}");
    let _ = writeln!(text, "  curl -sS{auth} {url}/v1/workers");
    let _ = writeln!(text, "  quarry --url {url} catalog list");
    let _ = writeln!(text, "stop with Ctrl-C");
    text
}

/// The `--log-format` / `--log-level` the children get: the same as ours.
fn log_args(global: &GlobalArgs, env: &Environment) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(format) = global.log_format.to_possible_value() {
        args.push("--log-format".to_owned());
        args.push(format.get_name().to_owned());
    }
    // Without a filter of the user's, every poll of the catalog would log a request line.
    let level = match (&global.log_level, env.get("RUST_LOG")) {
        (Some(level), _) => Some(level.clone()),
        (None, Some(_)) => None,
        (None, None) => Some(DEV_LOG_FILTER.to_owned()),
    };
    if let Some(level) = level {
        args.push("--log-level".to_owned());
        args.push(level);
    }
    args
}

/// The workers' addresses: as given, one port-0 address for all, or consecutive ports after
/// the coordinator's.
/// `port` on the coordinator's host, or port 0 when the coordinator's HTTP port is 0 (tests
/// and parallel clusters pick free ports).
fn beside_http(http: SocketAddr, port: u16) -> SocketAddr {
    SocketAddr::new(http.ip(), if http.port() == 0 { 0 } else { port })
}

fn worker_addresses(args: &DevArgs) -> Result<Vec<SocketAddr>> {
    if args.workers == 0 {
        bail!("--workers must be at least 1");
    }
    match args.worker_http.as_slice() {
        [] if args.http.port() == 0 => Ok(vec![args.http; args.workers]),
        [] => (1..=args.workers)
            .map(|i| {
                let port = u16::try_from(i)
                    .ok()
                    .and_then(|i| args.http.port().checked_add(i))
                    .with_context(|| format!("no port after {} for worker {i}", args.http))?;
                Ok(SocketAddr::new(args.http.ip(), port))
            })
            .collect(),
        [one] if one.port() == 0 => Ok(vec![*one; args.workers]),
        given if given.len() == args.workers => Ok(given.to_vec()),
        given => bail!(
            "{} --worker-http addresses for {} workers: give one per worker, or one with port 0",
            given.len(),
            args.workers
        ),
    }
}

/// The bundled plugins to upload: tpch (required) and the others that are built.
fn find_plugins(flag: Option<&Path>) -> Result<Vec<PathBuf>> {
    let candidates: Vec<PathBuf> = match flag {
        Some(dir) => vec![dir.to_path_buf()],
        None => {
            let mut dirs = vec![PathBuf::from("target/plugins")];
            if let Some(exe_dir) = std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(Path::to_path_buf))
            {
                dirs.push(exe_dir.join("../plugins"));
            }
            dirs
        }
    };
    let [required, optional @ ..] = BUNDLED_PLUGINS;
    let Some(dir) = candidates
        .iter()
        .find(|dir| dir.join(format!("{required}.wasm")).is_file())
    else {
        let looked: Vec<String> = candidates
            .iter()
            .map(|dir| dir.join(format!("{required}.wasm")).display().to_string())
            .collect();
        bail!(
            "the {required} plugin is not built (looked for {}).\n\
             Build the bundled plugins first, from the repository root:\n    \
             cargo xtask build-plugins\n\
             or point --plugins-dir at a directory that holds {required}.wasm",
            looked.join(", ")
        );
    };
    let mut plugins = vec![dir.join(format!("{required}.wasm"))];
    for name in optional {
        let path = dir.join(format!("{name}.wasm"));
        if path.is_file() {
            plugins.push(path);
        }
    }
    Ok(plugins)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(http: &str, worker_http: &[&str], workers: usize) -> DevArgs {
        DevArgs {
            data_dir: PathBuf::from(".quarry/dev"),
            http: http.parse().unwrap(),
            pg: None,
            flight_sql: None,
            worker_http: worker_http.iter().map(|a| a.parse().unwrap()).collect(),
            workers,
            plugins_dir: None,
            ready_timeout: DurationValue(Duration::from_secs(1)),
            sandbox: SandboxSettings::default(),
        }
    }

    #[test]
    fn worker_addresses_follow_the_coordinator_or_the_flags() {
        let addrs = |a: &DevArgs| {
            worker_addresses(a)
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            addrs(&args("127.0.0.1:8080", &[], 2)),
            ["127.0.0.1:8081", "127.0.0.1:8082"]
        );
        assert_eq!(
            addrs(&args("127.0.0.1:0", &[], 2)),
            ["127.0.0.1:0", "127.0.0.1:0"]
        );
        assert_eq!(addrs(&args("127.0.0.1:8080", &["127.0.0.1:0"], 3)).len(), 3);
        assert!(worker_addresses(&args("127.0.0.1:8080", &["127.0.0.1:9000"], 2)).is_err());
    }

    #[test]
    fn a_missing_tpch_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let error = find_plugins(Some(dir.path())).unwrap_err().to_string();
        assert!(error.contains("cargo xtask build-plugins"), "{error}");
    }
}
