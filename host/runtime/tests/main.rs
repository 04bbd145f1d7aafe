//! The runtime against real components built from plugins/: loading, the artifact cache, the
//! instance pool, the sandbox and its limits, and each bundled connector.
//!
//! One test binary for the whole crate (ADR 0012): each test binary links large dependencies, so
//! one link instead of one per file saves minutes and gigabytes of disk. Each file below is a
//! module; `tests/test_layout.rs` fails if one is left out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod artifact_cache;
mod component_validation;
mod escape;
mod files_connector;
mod hello_connector;
mod host_call_deadlines;
mod instance_pool;
mod instance_slots;
mod invalid_output;
mod outbound_http;
mod pre_initialize;
mod sandbox_limits;
mod sockets;
mod tpch;
