//! The store against real databases: a SQLite file and a fresh PostgreSQL database per test.
//!
//! One test binary for the whole crate (ADR 0012): each test binary links large dependencies, so
//! one link instead of one per file saves minutes and gigabytes of disk. Each file below is a
//! module; `tests/test_layout.rs` fails if one is left out.

// Test code: an unwrap that panics is a failed test. (clippy.toml allows unwrap in `#[test]`
// functions only, and these bodies are plain async fns that `backend_tests!` calls.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

mod catalog_reports;
mod catalogs;
mod open;
mod plugins;
mod workers;
