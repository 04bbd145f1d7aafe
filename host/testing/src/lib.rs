//! Helpers for Quarry's tests, shared by the test suites of several crates (a dev-dependency
//! only, never shipped): [`TestDb`], a fresh database per test on SQLite or PostgreSQL.

// A helper that cannot set up what a test needs fails that test: panicking is the point.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod test_db;

pub use test_db::TestDb;
