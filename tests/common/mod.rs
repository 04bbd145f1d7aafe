//! Helpers shared by the end-to-end tests: real `quarry` processes and how to drive them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod cli_helpers;
pub mod cluster;
pub mod psql;
pub mod python;
pub mod test_certificates;
