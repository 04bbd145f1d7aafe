//! The Quarry guest SDK: everything a connector author needs besides their own logic.
//!
//! A connector implements three traits — [`Connector`] (what it is and how to open a catalog),
//! [`Catalog`] (metadata and scan planning for one configured catalog) and [`SplitReader`]
//! (reading one split as Arrow record batches) — and calls [`export_connector!`] once. The SDK
//! hides wit-bindgen, the conversion between WIT records and these Rust types, the Arrow IPC
//! encoding of batches and the sizing of batches to the host's row and byte caps.
//!
//! Everything except the export glue compiles natively too, so connector logic is unit-tested
//! with plain `cargo test`, without wasm.
//!
//! The contract's plain types ([`ConnectorSpec`], [`TableSchema`], [`ScanRequest`], [`Predicate`]
//! and the rest) come from `quarry-contract`, the crate the host uses too (ADR 0025), and are
//! re-exported here; [`CONTRACT_VERSION`] is the contract version they describe. This crate adds
//! their mapping onto Arrow ([`DataTypeArrow`], [`ColumnArrow`], [`TableSchemaArrow`]).
//!
//! Three optional features carry what several connectors share:
//!
//! - `rows`: rows of text or JSON into typed Arrow columns ([`values`], [`rows`]), column type
//!   inference from a sample, and the textual type syntax of declared columns ([`type_syntax`]).
//! - `http`: outbound HTTP through the host's allow-listed `wasi:http` ([`http`]), with
//!   redirects, retries, and errors that say which grant is missing.
//! - `split-json`: split payloads as the JSON of a serde type ([`split_json`]).

extern crate self as quarry_sdk;

mod connector;
mod error;
#[cfg(feature = "http")]
pub mod http;
pub mod ipc;
pub mod log;
mod pacer;
pub mod predicate;
mod properties;
#[cfg(feature = "rows")]
pub mod rows;
mod schema;
#[cfg(feature = "split-json")]
pub mod split_json;
#[cfg(feature = "rows")]
pub mod type_syntax;
#[cfg(feature = "rows")]
pub mod values;

// Also compiled for native unit tests, which check its conversions with a round trip.
#[cfg(any(target_arch = "wasm32", test))]
#[doc(hidden)]
pub mod guest;

pub use arrow_array;
pub use arrow_schema;
pub use connector::{Catalog, Connector, SplitReader};
pub use error::{ConnectorError, ErrorKind, Result};
pub use pacer::BatchPacer;
pub use predicate::{CompareOp, Predicate, PredicateNode, Scalar};
pub use properties::Properties;
pub use quarry_contract::{
    CONTRACT_VERSION, Column, ConfigField, ConfigIssue, ConnectorSpec, DataType, Pushdown,
    ScanPlan, ScanRequest, Split, TableSchema,
};
pub use schema::{ColumnArrow, DataTypeArrow, TableSchemaArrow};

/// Exports a [`Connector`] implementation as the component's `quarry:connector/source`.
///
/// ```text
/// struct MyConnector;
/// impl quarry_sdk::Connector for MyConnector { /* ... */ }
/// quarry_sdk::export_connector!(MyConnector);
/// ```
///
/// With `, pre_initialize` the component also exports `pre-initialize`, which runs
/// [`Connector::pre_initialize`]: the host calls it once per plugin version and starts every
/// instance from the memory it leaves (see that method).
///
/// ```text
/// quarry_sdk::export_connector!(MyConnector, pre_initialize);
/// ```
///
/// Expands to nothing on native targets, so the same crate also builds as a plain library for
/// tests.
#[macro_export]
macro_rules! export_connector {
    ($connector:ty, pre_initialize) => {
        $crate::export_connector!($connector);
        // A world of its own, generated here and only here, so a connector that does not ask
        // for pre-initialisation has no `pre-initialize` export for the host to run.
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        mod quarry_pre_initialize {
            #[allow(unused_imports)]
            use super::*;
            $crate::guest::wit_bindgen::generate!({
                inline: "package quarry:pre-initialize; world pre-initialize { export pre-initialize: func(); }",
                world: "pre-initialize",
                runtime_path: "quarry_sdk::guest::wit_bindgen::rt",
            });
            struct QuarryPreInitialize;
            impl Guest for QuarryPreInitialize {
                fn pre_initialize() {
                    <$connector as $crate::Connector>::pre_initialize();
                }
            }
            export!(QuarryPreInitialize);
        }
    };
    ($connector:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
            type QuarryGuest = $crate::guest::GuestAdapter<$connector>;
            $crate::guest::bindings::export_source!(
                QuarryGuest with_types_in $crate::guest::bindings
            );
        };
    };
}
