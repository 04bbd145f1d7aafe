//! The worker: holds every catalog the coordinator assigns it and runs their plugins in the
//! sandbox.
//!
//! Where to look: [`config`] for what it is configured with; [`serve`] for start-up and
//! shutdown; [`membership`] for registering and heartbeats; [`api`] for the endpoint the
//! coordinator calls; [`state`] for applying a sync; [`catalog_loader`] for loading one
//! catalog; [`plugin_fetch`] for getting a plugin's component and compiled artifact;
//! [`held_catalogs`] for what is held; [`coordinator_link`] for the calls to the coordinator;
//! [`execution_service`] for the query stages it runs (the distributed worker service over
//! gRPC), [`held_scan_sources`] for reading a scan's splits through the held connectors, and
//! [`scan_metrics`] for what scans did.

pub mod api;
pub mod catalog_loader;
pub mod config;
pub mod coordinator_link;
pub mod execution_service;
pub mod held_catalogs;
pub mod held_scan_sources;
pub mod membership;
pub mod plugin_fetch;
pub mod scan_metrics;
pub mod serve;
pub mod state;

pub use config::{Worker, WorkerConfigError};
pub use serve::{ServeError, serve, serve_on};
pub use state::WorkerState;
