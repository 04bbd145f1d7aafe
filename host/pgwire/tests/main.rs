//! The PostgreSQL wire protocol front end, tested through real clients (tokio-postgres and the psql
//! binary).
//!
//! One test binary for the whole crate (ADR 0012): each test binary links large dependencies, so
//! one link instead of one per file saves minutes and gigabytes of disk. Each file below is a
//! module; `tests/test_layout.rs` fails if one is left out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod authentication;
mod extended_protocol;
mod psql;
mod server_cursors;
mod session_settings;
