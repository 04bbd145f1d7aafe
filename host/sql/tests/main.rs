//! The SQL layer in-process: catalogs kept in step with the cluster, pushdown, cancellation and
//! TPC-H answers.
//!
//! One test binary for the whole crate (ADR 0012): each test binary links large dependencies, so
//! one link instead of one per file saves minutes and gigabytes of disk. Each file below is a
//! module; `tests/test_layout.rs` fails if one is left out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod cancellation;
mod catalog_changes;
mod query_options;
mod read_only;
mod scan_pushdown;
mod tpch_answers;
