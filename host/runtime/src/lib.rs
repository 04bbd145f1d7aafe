//! The host runtime: loads connector components, caches their compiled code, and runs them in a
//! sandbox.
//!
//! What lives here, by file:
//!
//! - [`engine`]: the one `wasmtime::Engine` per process, configured for untrusted code, and the
//!   epoch ticker that enforces per-call deadlines.
//! - [`contract`]: checks that bytes are a component exporting a contract version this host
//!   serves, before anything is compiled (reading the exports is `quarry-contract`'s).
//! - [`artifact_cache`]: compiled code cached by sha256, in memory and on disk as signed
//!   precompiled artifacts.
//! - [`bindings`]: the one `bindgen!` of the contract, a module per contract version, with the
//!   conversions between its generated types and the contract crate's.
//! - [`sandbox`]: limits and grants (memory, deadline, stack, read-only directories, allowed
//!   HTTP hosts) and the per-instance store state that enforces them.
//! - [`outbound_http`]: every request a plugin sends: the allow-list, the host's own name
//!   resolution and address check (no private addresses by name), timeouts and the response cap.
//! - [`socket_grant`]: one `allowed_sockets` entry (`host:port`), parsed and checked.
//! - [`socket_policy`]: TCP through `wasi:sockets` to the granted endpoints only: the host's
//!   own resolution of the granted names, the check on every connect, the name lookup that
//!   answers granted names only, and the refusal reported with the call's error.
//! - [`plugin_log`]: plugin log lines and guest stdout/stderr into `tracing`, rate-limited.
//! - [`types`]: the contract's types (from `quarry-contract`, shared with the guest SDK; ADR
//!   0025) and their mapping onto Arrow, so the rest of the host never sees generated bindings.
//! - [`call_driver`]: the small tokio runtime every plugin call is driven on (WASI clocks,
//!   sockets, file I/O), which lets a call be dropped at its deadline even while the plugin waits
//!   in a host call; and the gauges of the threads plugin calls hold.
//! - [`pre_initialize`]: runs a component's `pre-initialize` once at load and compiles the
//!   snapshot of its memory instead, so instances start with its expensive state built.
//! - [`instance_pool`]: warm instances per catalog, reused across splits and queries.
//! - [`instance_slots`]: admission: instance slots per process and per catalog, a bounded
//!   wait queue, and the "busy" error when it is full.
//! - [`connector`]: the typed [`Connector`] handle the rest of the host calls.
//! - [`batch_check`]: decoding a batch of Arrow IPC and checking it against the declared schema.
//! - [`runtime`]: [`Runtime`], which ties the above together.
//!
//! Concurrency: every call into a plugin runs on a tokio blocking thread with an epoch deadline
//! (`docs/adr/0001-runtime-concurrency.md`); the call is a future driven there, so a plugin
//! waiting in a WASI call is dropped at the same deadline (`docs/adr/0018-deadlines-in-host-calls.md`).

pub mod artifact_cache;
pub mod batch_check;
pub mod bindings;
pub mod call_driver;
pub mod connector;
pub mod contract;
pub mod engine;
pub mod error;
pub mod instance_pool;
pub mod instance_slots;
pub mod metadata_check;
pub mod outbound_http;
pub mod plugin_log;
pub mod pre_initialize;
pub mod runtime;
pub mod sandbox;
pub mod secret_scrubber;
pub mod socket_grant;
pub mod socket_policy;
pub mod types;

pub use artifact_cache::CacheStats;
pub use call_driver::CallGauges;
pub use connector::{BatchStream, Connector};
pub use contract::{ContractVersion, SUPPORTED_CONTRACTS};
pub use engine::Allocation;
pub use error::{At, ByteSize, Error, Result};
pub use instance_slots::SlotSettings;
pub use plugin_log::LogRate;
pub use runtime::{CatalogConfig, Plugin, PluginInfo, Runtime, RuntimeConfig};
pub use sandbox::{Grants, HostPattern, SandboxLimits};
pub use secret_scrubber::SecretScrubber;
pub use socket_grant::{SocketGrant, SocketHost};
pub use socket_policy::SocketDenial;
pub use types::{
    Column, CompareOp, ConfigField, ConfigIssue, ConnectorErrorKind, ConnectorSpec, DataType,
    DataTypeArrow, Predicate, PredicateNode, Pushdown, Scalar, ScanPlan, ScanRequest, Split,
    TableSchema, TableSchemaArrow,
};
