//! [`AppState`]: what every handler shares: the store, the sandbox runtime, the expected tokens,
//! the request counters, the loaded plugins and the SQL engine.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use quarry_runtime::{Plugin as LoadedPlugin, Runtime};
use quarry_sql::{QuarryCatalogs, QueryEngine};
use quarry_store::{Plugin, Store};

use crate::api_error::ApiError;
use crate::catalog_properties::EnvLookup;
use crate::coordinator::config::{ConfigError, Coordinator, SqlLimits};
use crate::coordinator::metrics::HttpMetrics;
use crate::coordinator::sql::coordinator_open_failures::CoordinatorOpenFailures;
use crate::coordinator::sql::distributed_session::distributed;
use crate::coordinator::sql::query_metrics::QueryMetrics;
use crate::coordinator::sync::SyncTask;
use crate::coordinator::users::Users;
use crate::env_allow_list::EnvAllowList;
use crate::expected_token::ExpectedToken;
use crate::http_server::HttpServing;

/// The coordinator's shared state. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    runtime: Runtime,
    admin_token: ExpectedToken,
    cluster_secret: ExpectedToken,
    /// The secret itself, for the coordinator's own calls to workers.
    cluster_secret_value: Option<String>,
    max_plugin_size: u64,
    /// Who may run SQL; empty in dev mode without an admin token (then everyone is an admin).
    users: Arc<Users>,
    sql_limits: SqlLimits,
    /// TLS and the header timeout of the HTTP API; the TLS acceptor serves the PostgreSQL port
    /// too.
    http_serving: HttpServing,
    /// Calls workers (trusting `tls_ca` for `https://` workers).
    worker_http: reqwest::Client,
    /// Catalogs the coordinator cannot open for SQL.
    open_failures: CoordinatorOpenFailures,
    environment: Option<BTreeMap<String, String>>,
    env_allow: EnvAllowList,
    http_metrics: HttpMetrics,
    query_metrics: QueryMetrics,
    sync: SyncTask,
    /// The SQL engine over the queryable catalogs.
    engine: QueryEngine,
    /// Plugins loaded into the runtime, by sha256, so validating a catalog does not read the
    /// component back from the database every time.
    loaded: Mutex<HashMap<String, LoadedPlugin>>,
}

impl AppState {
    /// State for `config` over an opened store and a runtime. Fails when the config lacks the
    /// tokens it needs (see [`Coordinator::check`]).
    pub fn new(config: &Coordinator, store: Store, runtime: Runtime) -> Result<Self, ConfigError> {
        config.check()?;
        if config.dev_mode && config.admin_token.is_none() {
            tracing::warn!(
                "dev mode without an admin token: anyone on this machine can change the cluster (loopback only)"
            );
        }
        if config.dev_mode && config.cluster_secret.is_none() {
            tracing::warn!("dev mode without a cluster secret: worker endpoints are open");
        }
        let sync = SyncTask::new(config.sync_settings());
        let engine = QueryEngine::with_session(QuarryCatalogs::new(), |builder| {
            distributed(
                builder,
                sync.view().clone(),
                config.cluster_secret.as_deref(),
            )
        });
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                runtime,
                admin_token: ExpectedToken::new(config.admin_token.as_deref(), "admin token"),
                cluster_secret: ExpectedToken::new(
                    config.cluster_secret.as_deref(),
                    "cluster secret",
                ),
                cluster_secret_value: config.cluster_secret.clone(),
                max_plugin_size: config.max_plugin_size,
                users: Arc::new(Users::new(
                    config.users.clone(),
                    config.admin_token.as_deref(),
                )?),
                sql_limits: config.sql_limits.clone(),
                http_serving: HttpServing {
                    tls: config.tls.as_ref().map(crate::tls::acceptor).transpose()?,
                    header_timeout: config.http_header_timeout,
                },
                worker_http: crate::tls::http_client(config.tls_ca.as_deref())?,
                open_failures: CoordinatorOpenFailures::default(),
                environment: config.environment.clone(),
                env_allow: config.env_allow.clone(),
                http_metrics: HttpMetrics::default(),
                query_metrics: QueryMetrics::default(),
                sync,
                engine,
                loaded: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    pub(crate) fn admin_token(&self) -> &ExpectedToken {
        &self.inner.admin_token
    }

    pub(crate) fn cluster_secret(&self) -> &ExpectedToken {
        &self.inner.cluster_secret
    }

    pub(crate) fn cluster_secret_value(&self) -> Option<String> {
        self.inner.cluster_secret_value.clone()
    }

    pub fn max_plugin_size(&self) -> u64 {
        self.inner.max_plugin_size
    }

    /// Who may run SQL.
    pub fn users(&self) -> &Arc<Users> {
        &self.inner.users
    }

    /// Whether SQL runs without passwords (dev mode without an admin token, loopback only):
    /// then every session is an admin.
    pub fn sql_is_open(&self) -> bool {
        self.inner.users.is_empty()
    }

    pub fn sql_limits(&self) -> &SqlLimits {
        &self.inner.sql_limits
    }

    /// The options a statement runs with: `session`'s engine settings (checked again when the
    /// statement is planned) and the memory limit of one query.
    pub fn query_options(&self, session: &[(String, String)]) -> quarry_sql::QueryOptions {
        quarry_sql::QueryOptions {
            settings: session.to_vec(),
            memory_limit: self.inner.sql_limits.query_memory,
        }
    }

    /// How the HTTP API is served (TLS, header timeout).
    pub fn http_serving(&self) -> &HttpServing {
        &self.inner.http_serving
    }

    /// The catalogs the coordinator cannot open for SQL.
    pub fn open_failures(&self) -> &CoordinatorOpenFailures {
        &self.inner.open_failures
    }

    /// The client for calls to workers.
    pub fn worker_http(&self) -> &reqwest::Client {
        &self.inner.worker_http
    }

    /// The sync task's handle: tell it what changed.
    pub fn sync(&self) -> &SyncTask {
        &self.inner.sync
    }

    /// The SQL engine.
    pub fn engine(&self) -> &QueryEngine {
        &self.inner.engine
    }

    pub(crate) fn http_metrics(&self) -> &HttpMetrics {
        &self.inner.http_metrics
    }

    /// Statements running and finished, from every front end.
    pub fn query_metrics(&self) -> &QueryMetrics {
        &self.inner.query_metrics
    }

    /// The value of the environment variable `name` for `${ENV:NAME}` references.
    pub(crate) fn env_var(&self, name: &str) -> EnvLookup {
        self.inner
            .env_allow
            .lookup(name, self.inner.environment.as_ref())
    }

    /// Remembers a plugin the runtime loaded.
    pub(crate) fn remember_loaded(&self, plugin: &LoadedPlugin) {
        if let Ok(mut loaded) = self.inner.loaded.lock() {
            loaded.insert(plugin.info().sha256.clone(), plugin.clone());
        }
    }

    /// The stored plugin loaded into the runtime: from memory, or read from the store and
    /// loaded (compiled, or found in the artifact cache).
    pub(crate) async fn loaded_plugin(&self, plugin: &Plugin) -> Result<LoadedPlugin, ApiError> {
        let cached = self
            .inner
            .loaded
            .lock()
            .ok()
            .and_then(|loaded| loaded.get(&plugin.sha256).cloned());
        if let Some(loaded) = cached {
            return Ok(loaded);
        }
        let bytes = self.store().plugin_component(&plugin.sha256).await?;
        let loaded = self.runtime().load_plugin(bytes).await.map_err(|error| {
            // It was validated at upload; failing now is the host's problem, not the caller's.
            ApiError::Internal(format!(
                "stored plugin \"{}\" no longer loads: {error}",
                plugin.reference()
            ))
        })?;
        self.remember_loaded(&loaded);
        Ok(loaded)
    }

    /// Forgets a loaded plugin (after it was deleted).
    pub(crate) fn forget_loaded(&self, sha256: &str) {
        if let Ok(mut loaded) = self.inner.loaded.lock() {
            loaded.remove(sha256);
        }
    }
}
