//! `quarry-bench`: Quarry's benchmarks, one subcommand each.
//!
//! - `quarry-bench runtime`: the host runtime in process: sandboxed tpch scans against native
//!   generation, load and instantiate times, idle catalog memory ([`runtime_bench`]).
//! - `quarry-bench sync`: the catalog sync on real `quarry` processes: propagation latency
//!   against a periodic-sync baseline, and 10,000 catalogs ([`sync_bench`]).
//! - `quarry-bench load`: concurrent clients on a real cluster, quiet and with a hostile catalog
//!   flooded: queries/s, p50/p99, failures, peak memory ([`load_bench`]).
//! - `quarry-bench sql`: TPC-H Q1, Q3, Q5, Q6, Q10 and Q18 through a real cluster against
//!   DataFusion in process over the native generator, and the bytes moved ([`sql_bench`]).
//! - `quarry-bench files`: the same queries through the files connector over Parquet, against
//!   DuckDB and DataFusion from PyPI reading the same files ([`files_bench`]).
//! - `quarry-bench clients`: `lineitem` fetched into a Python client through the PostgreSQL port
//!   (psycopg text and binary, COPY binary) and through Flight SQL: rows/s of each
//!   ([`clients_bench`]).
//! - `quarry-bench postgres`: `lineitem` in PostgreSQL scanned through the postgres connector
//!   against `psql \copy` of the same columns: rows/s of each ([`postgres_bench`]).
//!
//! Figures and how to run each go to docs/benchmarks.md.

mod bench_cluster;
mod bench_flags;
mod clients_bench;
mod files_bench;
mod interruptible;
mod latency_summary;
mod load_bench;
mod postgres_bench;
mod pre_initialization_figures;
mod resident_memory;
mod runtime_bench;
mod sql_bench;
mod sync_bench;

use std::process::ExitCode;

const HELP: &str = "\
quarry-bench — Quarry's benchmarks (build with `cargo build --release --workspace` and
`cargo xtask build-plugins` first; figures go to docs/benchmarks.md)

USAGE:
    quarry-bench runtime [FLAGS]
    quarry-bench load [FLAGS]
    quarry-bench sync [FLAGS]
    quarry-bench sql [FLAGS]
    quarry-bench files [FLAGS]
    quarry-bench clients [FLAGS]
    quarry-bench postgres [FLAGS]
    quarry-bench help

";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("runtime") => runtime_bench::run(args),
        Some("load") => load_bench::run(args),
        Some("sync") => sync_bench::run(args),
        Some("sql") => sql_bench::run(args),
        Some("files") => files_bench::run(args),
        Some("clients") => clients_bench::run(args),
        Some("postgres") => postgres_bench::run(args),
        Some("help" | "--help" | "-h") | None => {
            print!(
                "{HELP}{}\n{}\n{}\n{}\n{}\n{}\n{}",
                runtime_bench::HELP,
                load_bench::HELP,
                sync_bench::HELP,
                sql_bench::HELP,
                files_bench::HELP,
                clients_bench::HELP,
                postgres_bench::HELP
            );
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(anyhow::anyhow!(
            "unknown subcommand {other:?}: run `quarry-bench help`"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
