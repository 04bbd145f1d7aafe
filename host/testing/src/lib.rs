//! Helpers for Quarry's tests and benchmarks, shared by the test suites of several crates and
//! by `quarry-bench` (never shipped in the `quarry` binary): [`TestDb`], a fresh database per
//! test on SQLite or PostgreSQL; [`plugin_component`], finding the built plugin components;
//! [`QuarryProcess`], a `quarry` child process with its output kept and awaited;
//! [`CoordinatorClient`], the calls of the coordinator's control API the tests and benchmarks
//! make; [`metrics_text`], reading a sample out of a `/metrics` scrape;
//! [`wasm_custom_section`], other bytes for the same component; [`tpch_reference`], the
//! native TPC-H answers query results are checked against; and [`tpch_postgres`], the same
//! tables loaded into a PostgreSQL database.

// A test helper that cannot set up what a test needs fails that test: panicking is the point
// (`TestDb`, `plugin_component`). What the benchmarks use answers errors instead.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod coordinator_client;
pub mod metrics_text;
pub mod plugin_component;
pub mod quarry_process;
mod test_db;
pub mod tpch_postgres;
pub mod tpch_reference;
pub mod wasm_custom_section;

pub use coordinator_client::CoordinatorClient;
pub use quarry_process::QuarryProcess;
pub use test_db::TestDb;
