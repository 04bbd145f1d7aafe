//! The connector contract (`wit/connector.wit`) as plain Rust types, written once for both sides.
//!
//! The host (`quarry-runtime`, the store, the CLI) and the guest SDK (`plugins/sdk`, a path
//! dependency from the plugins workspace) both use these types; each side keeps only the
//! conversions between them and its own generated bindings (wasmtime's `bindgen!` in the
//! runtime's `bindings.rs`, wit-bindgen in the SDK's `guest.rs`). Whatever is not generated code
//! lives here, so the two sides cannot drift apart.
//!
//! By file:
//!
//! - [`version`]: the contract version and the interface name, the one place they are written.
//! - [`spec`]: what a connector says about itself ([`ConnectorSpec`], [`ConfigField`]) and what
//!   `validate` answers ([`ConfigIssue`]).
//! - [`grants`]: what a catalog declares its plugin may reach ([`Grants`]).
//! - [`error_kind`]: why a connector call failed ([`ConnectorErrorKind`]).
//! - [`schema`]: column types, columns and table schemas.
//! - [`scalar`]: literals in predicates, and how two of them compare.
//! - [`predicate`]: the flat predicate form that crosses the boundary, read as a tree.
//! - [`expr`]: a predicate as a tree ([`Expr`]), evaluated row by row or read as a range.
//! - [`scan`]: scan requests, splits, pushdown answers and scan plans.
//! - [`inspect`] (feature `inspect`): which contract a component's bytes export.
//! - [`samples`] (feature `samples`, for tests): values that use every case of every type.
//!
//! No Arrow here: the host and the plugins build different Arrow versions, so each side maps
//! these types onto its own Arrow. serde derives (feature `serde`) are for the host, which stores
//! config fields and grants as JSON; the plugins do not need them (ADR 0025).

pub mod error_kind;
pub mod expr;
pub mod grants;
#[cfg(feature = "inspect")]
pub mod inspect;
pub mod predicate;
#[cfg(feature = "samples")]
pub mod samples;
pub mod scalar;
pub mod scan;
pub mod schema;
pub mod spec;
pub mod version;

pub use error_kind::ConnectorErrorKind;
pub use expr::Expr;
pub use grants::Grants;
pub use predicate::{CompareOp, Predicate, PredicateError, PredicateNode};
pub use scalar::Scalar;
pub use scan::{Pushdown, ScanPlan, ScanRequest, Split};
pub use schema::{Column, DataType, TableSchema};
pub use spec::{ConfigField, ConfigIssue, ConnectorSpec};
pub use version::{CONTRACT_VERSION, ContractVersion, SOURCE_INTERFACE};
