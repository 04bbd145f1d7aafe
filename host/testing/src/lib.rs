//! Helpers for Quarry's tests, shared by the test suites of several crates (a dev-dependency
//! only, never shipped): [`TestDb`], a fresh database per test on SQLite or PostgreSQL, and
//! [`tpch_reference`], the native TPC-H answers query results are checked against;
//! and [`tpch_postgres`], the same tables loaded into a PostgreSQL database.

// A helper that cannot set up what a test needs fails that test: panicking is the point.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod test_db;
pub mod tpch_postgres;
pub mod tpch_reference;

pub use test_db::TestDb;
