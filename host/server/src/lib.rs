//! Quarry's server processes: the [`coordinator`] (control API, catalog store, sync task) and
//! the [`worker`] (holds catalogs, runs plugins), plus the layer they share, the crate-level
//! modules: the messages between them, with types of their own ([`sync_protocol`]); the
//! cluster-secret channels of query execution ([`execution_channels`]); opening a catalog on the
//! host that runs its plugin ([`catalog_open`], the one path, with its steps in
//! [`catalog_properties`] and [`env_allow_list`] for which variables `${ENV:…}` may read); HTTP
//! errors ([`api_error`]) and the bearer-token check ([`expected_token`]); a worker's identity
//! ([`worker_identity`]); optional TLS ([`tls`]); the Prometheus text both `/metrics` are
//! written in ([`prometheus_text`]) and the plugin call gauges both show
//! ([`plugin_call_metrics`]); the HTTP accept loop both processes serve with ([`http_server`]);
//! and the shutdown signal. The worker builds on this layer only, never on the coordinator or
//! the store (a test in [`worker`] holds it to that). The `quarry` binary stays a thin wrapper
//! that parses configuration and calls `serve`.

pub mod api_error;
pub mod catalog_open;
pub mod catalog_properties;
pub mod coordinator;
pub mod env_allow_list;
pub mod execution_channels;
pub mod expected_token;
pub mod http_server;
pub mod plugin_call_metrics;
pub mod prometheus_text;
pub mod shutdown_signal;
pub mod sync_protocol;
pub mod tls;
pub mod worker;
pub mod worker_identity;
