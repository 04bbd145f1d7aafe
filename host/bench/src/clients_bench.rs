//! `quarry-bench clients`: `lineitem` at scale factor 1 fetched whole into a Python client
//! through a real cluster (a coordinator and 2 workers, the tpch connector in the sandbox):
//! through the PostgreSQL port with psycopg 3 (text results, binary results, COPY binary) and
//! through the Arrow Flight SQL port with ADBC (`peers/client_fetch.py`), in the same run:
//! rows/s of each, and Flight SQL's against the best PostgreSQL path's.
//!
//! The psycopg cursors end in Python tuples and Flight SQL in a decoded Arrow table; COPY's
//! blocks are only counted, never decoded, so it is the PostgreSQL port's ceiling rather than a
//! client's whole work.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::bench_cluster::BenchCluster;
use crate::bench_flags;
use crate::sql_bench::{create_tpch_catalog, median_min};
use crate::sync_bench::{plugin_path, quarry_binary, read_component};

pub const HELP: &str = "\
quarry-bench clients [FLAGS]
    `lineitem` fetched whole into a Python client through a real cluster: psycopg 3 with text
    results, with binary results, COPY … TO STDOUT (FORMAT binary) (bytes, not decoded), and
    Flight SQL (ADBC, an Arrow table), same run: seconds, rows/s and MB/s of each, and Flight
    SQL's rows/s over the best PostgreSQL path's. Needs
    `pip install -r tests/python/requirements.txt`. Build first:
    `cargo build --release --workspace && cargo xtask build-plugins`.

    --quarry PATH            the quarry binary [default: `quarry` next to quarry-bench]
    --plugin PATH            the tpch component [default: target/plugins/tpch.wasm]
    --workers N              workers [default: 2]
    --rounds N               timed fetches with each method [default: 3]
    --schema NAME            tpch schema: tiny or sfN [default: sf1]
    --splits N               splits per table [default: 8]
    --python PATH            the Python with psycopg, adbc-driver-flightsql and pyarrow
                             [default: python3]
";

/// The client script, run with `python -c`.
const CLIENT: &str = include_str!("../peers/client_fetch.py");

/// The client script's exit code when a package is missing.
const MISSING_PACKAGES: i32 = 3;

/// One way the script fetches the rows.
struct Method {
    /// Its key in the script's answer.
    key: &'static str,
    label: &'static str,
    /// Through the PostgreSQL port (else Flight SQL).
    pgwire: bool,
    /// What its bytes are, if it reports any.
    bytes: Option<&'static str>,
}

const METHODS: [Method; 4] = [
    Method {
        key: "psycopg_text",
        label: "psycopg, text results → Python tuples",
        pgwire: true,
        bytes: None,
    },
    Method {
        key: "psycopg_binary",
        label: "psycopg, binary results → Python tuples",
        pgwire: true,
        bytes: None,
    },
    Method {
        key: "copy_binary",
        label: "psycopg, COPY (FORMAT binary) → bytes, not decoded",
        pgwire: true,
        bytes: Some("COPY data received"),
    },
    Method {
        key: "flight_sql",
        label: "Flight SQL (ADBC) → Arrow table",
        pgwire: false,
        bytes: Some("Arrow buffers"),
    },
];

struct Options {
    quarry: Option<PathBuf>,
    plugin: Option<PathBuf>,
    workers: usize,
    rounds: usize,
    schema: String,
    splits: usize,
    python: String,
}

fn parse_options(args: impl IntoIterator<Item = String>) -> anyhow::Result<Options> {
    let mut o = Options {
        quarry: None,
        plugin: None,
        workers: 2,
        rounds: 3,
        schema: "sf1".to_owned(),
        splits: 8,
        python: "python3".to_owned(),
    };
    bench_flags::parse(args, HELP, &[], |flag| {
        match flag.name() {
            "--quarry" => o.quarry = Some(flag.path()?),
            "--plugin" => o.plugin = Some(flag.path()?),
            "--workers" => o.workers = flag.positive()?,
            "--rounds" => o.rounds = flag.positive()?,
            "--schema" => o.schema = flag.text()?,
            "--splits" => o.splits = flag.positive()?,
            "--python" => o.python = flag.text()?,
            other => bail!("unknown flag {other:?}: run `quarry-bench clients --help`"),
        }
        Ok(())
    })?;
    bench_flags::tpch_scale(&o.schema)?;
    Ok(o)
}

pub fn run(args: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let o = parse_options(args)?;
    crate::interruptible::run(measure(&o))
}

async fn measure(o: &Options) -> anyhow::Result<()> {
    let quarry = quarry_binary(o.quarry.as_ref())?;
    let plugin = plugin_path(o.plugin.as_ref(), "tpch");
    let tpch = read_component(&plugin)?;
    run_client(&o.python, "--check-imports").await?;
    let query = format!("SELECT * FROM tpch.{}.lineitem", o.schema);
    println!(
        "quarry-bench clients: {}; `{query}` through {} workers into {}; {} rounds",
        quarry.display(),
        o.workers,
        o.python,
        o.rounds
    );
    let mut cluster = BenchCluster::start_with_client_ports(&quarry, "clients", o.workers).await?;
    create_tpch_catalog(&cluster, tpch, o.splits, &o.schema).await?;
    let ports = cluster.client_ports()?;
    let request = json!({
        "pg_port": ports.pg,
        "flight_sql_port": ports.flight_sql,
        "user": "admin",
        "password": cluster.admin_token(),
        "query": query,
        "rounds": o.rounds,
    });
    let answer = run_client(&o.python, &request.to_string()).await?;
    let answer = serde_json::from_slice(&answer).context("reading the client script's answer")?;
    cluster.check_running()?;
    cluster.stop().await?;
    report(o, &answer)
}

/// Runs the client script with `argument`: its output.
async fn run_client(python: &str, argument: &str) -> anyhow::Result<Vec<u8>> {
    let child = Command::new(python)
        .args(["-c", CLIENT, argument])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {python} (pass --python PATH)"))?;
    let output = child.wait_with_output().await?;
    if output.status.code() == Some(MISSING_PACKAGES) {
        bail!(
            "{python} lacks a client package: run \
             `{python} -m pip install -r tests/python/requirements.txt`"
        );
    }
    if !output.status.success() {
        bail!(
            "the client script failed ({}): its error is above",
            output.status
        );
    }
    Ok(output.stdout)
}

/// Checks every method's row counts against `SELECT count(*)` and prints the table.
fn report(o: &Options, answer: &Value) -> anyhow::Result<()> {
    let expected = answer["expected_rows"]
        .as_u64()
        .context("the client script answered no expected_rows")?;
    if expected == 0 {
        bail!("tpch.{}.lineitem has no rows", o.schema);
    }
    let version = |name: &str| answer["versions"][name].as_str().unwrap_or("?").to_owned();
    println!();
    println!(
        "psycopg {} (libpq {}), adbc-driver-flightsql {}, pyarrow {}",
        version("psycopg"),
        version("libpq"),
        version("adbc_driver_flightsql"),
        version("pyarrow")
    );
    println!(
        "| method (tpch.{}.lineitem, {expected} rows, coordinator + {} workers) | median | min | rows/s, median | MB/s, median |",
        o.schema, o.workers
    );
    println!("| --- | --- | --- | --- | --- |");
    let mut best_pgwire: Option<(f64, &str)> = None;
    let mut flight_sql = f64::NAN;
    for method in &METHODS {
        let figures = &answer["methods"][method.key];
        for rows in figures["rows"].as_array().into_iter().flatten() {
            if rows.as_u64() != Some(expected) {
                bail!(
                    "{}: fetched {rows} rows, SELECT count(*) says {expected}",
                    method.label
                );
            }
        }
        let mut times: Vec<Duration> = figures["seconds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .map(Duration::from_secs_f64)
            .collect();
        if times.is_empty() {
            bail!("{}: the client script answered no times", method.label);
        }
        times.sort();
        let (median, min) = median_min(&times);
        let rows_per_second = expected as f64 / median;
        let throughput = match (method.bytes, figures["bytes"][0].as_f64()) {
            (Some(what), Some(bytes)) => format!("{:.1} ({what})", bytes / 1e6 / median),
            _ => "—".to_owned(),
        };
        println!(
            "| {} | {median:.2} s | {min:.2} s | {:.2} M | {throughput} |",
            method.label,
            rows_per_second / 1e6
        );
        if !method.pgwire {
            flight_sql = rows_per_second;
        } else if best_pgwire.is_none_or(|(best, _)| rows_per_second > best) {
            best_pgwire = Some((rows_per_second, method.label));
        }
    }
    if let Some((best, label)) = best_pgwire {
        println!();
        println!(
            "Flight SQL rows/s ÷ best PostgreSQL path's ({label}): {:.2}×",
            flight_sql / best
        );
    }
    Ok(())
}
