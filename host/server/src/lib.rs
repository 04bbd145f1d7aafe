//! Quarry's server processes: the [`coordinator`] (control API, catalog store, sync task) and
//! the [`worker`] (holds catalogs, runs plugins), plus what they share: the messages between
//! them ([`sync_protocol`]), the cluster-secret channels of query execution
//! ([`execution_channels`]), catalog
//! properties on the host that runs a plugin ([`catalog_properties`], [`catalog_open`], and
//! [`env_allow_list`] for which variables `${ENV:…}` may read), a worker's own identity key
//! ([`worker_identity`]), optional TLS ([`tls`]), the plugin call gauges both `/metrics` show ([`plugin_call_metrics`]) and the HTTP accept loop both processes serve
//! with ([`http_server`]), and the shutdown signal. The `quarry` binary stays a thin wrapper that parses configuration and calls `serve`.

pub mod catalog_open;
pub mod catalog_properties;
pub mod coordinator;
pub mod env_allow_list;
pub mod execution_channels;
pub mod http_server;
pub mod plugin_call_metrics;
pub mod shutdown_signal;
pub mod sync_protocol;
pub mod tls;
pub mod worker;
pub mod worker_identity;
