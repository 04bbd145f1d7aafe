//! Quarry's server processes. Today the coordinator's control API ([`coordinator`]); the worker
//! service, the sync task between them and the SQL front ends join it here, so the `quarry`
//! binary stays a thin wrapper that parses configuration and calls `serve`.

pub mod coordinator;
