//! The coordinator: owns the catalog database and serves the HTTP control API under `/v1`.
//!
//! Where to look: [`config`] for what it is configured with, [`serve`] for start-up,
//! [`api`] for the route table and one handler file per resource, [`catalog_validation`] for
//! what a catalog must pass before it is stored, [`auth`] for who a request is (admin, worker or
//! SQL user), [`metrics`] for `/metrics`, [`state`] for what handlers
//! share, [`sync`] for the task that keeps every worker at the desired state,
//! [`catalog_changes`] for creating, altering and deleting catalogs (API and SQL alike),
//! [`users`] for who may run SQL with which role, [`sql`] for queries, and [`flight_sql`] for
//! the Arrow Flight SQL endpoint.

pub mod api;
pub mod auth;
pub mod catalog_changes;
pub mod catalog_validation;
pub mod config;
pub mod flight_sql;
pub mod metrics;
pub mod serve;
pub mod sql;
pub mod state;
pub mod sync;
pub mod users;

pub use api::router;
pub use config::{ConfigError, Coordinator, DEFAULT_MAX_PLUGIN_SIZE, SqlLimits};
pub use serve::{ServeError, serve, serve_on};
pub use state::AppState;
