//! Quarry's catalog store: the coordinator's durable state, on SQLite (the embedded default, a
//! file in the data directory) or PostgreSQL (a cluster, where every coordinator shares it).
//!
//! It holds uploaded plugins and their component bytes, catalogs (a named plugin instance with
//! properties, grants and a generation), workers with their heartbeats, and what each worker
//! reports per catalog. A catalog's status (`pending`, `ready`, `failed`) is derived from those
//! reports on read, never stored ([`catalog_status`]). Every change is one transaction; names
//! are unique, and a name taken concurrently yields [`Error::Conflict`], never a second row.
//!
//! Where to look: [`Store::open`] and the backend choice in `store.rs`; migrations and the
//! schema-version check in `migrate.rs`; one `*_store.rs` file per table family; the stored
//! shapes in `plugin.rs`, `catalog.rs`, `worker.rs` and `catalog_worker.rs`.
//!
//! This crate knows nothing about HTTP or WebAssembly: the server validates a plugin and a
//! catalog's properties before storing them.

mod catalog;
pub mod catalog_status;
mod catalog_store;
mod catalog_worker;
mod catalog_worker_store;
mod error;
mod migrate;
mod plugin;
mod plugin_store;
mod row_decoding;
mod secret_redaction;
mod store;
pub mod validation;
mod worker;
mod worker_store;

pub use catalog::{Catalog, CatalogSpec, Grants};
pub use catalog_status::{
    CatalogState, CatalogStatus, WorkerCatalogState, WorkerCatalogStatus, WorkerError,
    derive_status,
};
pub use catalog_worker::{CatalogReport, LoadState, ReportOutcome};
pub use error::{Entity, Error, Result, UnknownState};
pub use plugin::{ConfigField, NewPlugin, Plugin};
pub use secret_redaction::{REDACTED, redact_properties};
pub use store::Store;
pub use worker::{Worker, WorkerState};
