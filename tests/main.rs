//! End to end: real `quarry` processes (coordinator and workers) talking HTTP and the PostgreSQL
//! protocol on 127.0.0.1.
//!
//! One test binary for the whole crate (ADR 0012): each test binary links large dependencies, so
//! one link instead of one per file saves minutes and gigabytes of disk. Each file below is a
//! module; `tests/test_layout.rs` fails if one is left out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod cli;
mod clients;
mod http_connector;
mod postgres_connector;
mod sandbox;
mod security;
mod sql;
mod sync;
mod test_layout;
