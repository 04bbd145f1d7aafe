//! Quarry's server processes: the [`coordinator`] (control API, catalog store, sync task) and
//! the [`worker`] (holds catalogs, runs plugins), plus what they share: the messages between
//! them ([`sync_protocol`]), the framing of a split scan's batches ([`split_stream`]), catalog
//! properties on the host that runs a plugin ([`catalog_properties`], [`catalog_open`]), the cluster-wide artifact key ([`cluster_key`]) and the shutdown
//! signal. The `quarry` binary stays a thin wrapper that parses configuration and calls `serve`.

pub mod catalog_open;
pub mod catalog_properties;
pub mod cluster_key;
pub mod coordinator;
pub mod shutdown_signal;
pub mod split_stream;
pub mod sync_protocol;
pub mod worker;
