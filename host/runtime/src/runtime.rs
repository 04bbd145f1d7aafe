//! [`Runtime`]: the engine, the compiled-code cache, the linker and the housekeeping thread;
//! loads plugins and opens catalogs.
//!
//! A loaded [`Plugin`] is compiled code plus an `InstancePre` shared by every catalog of that
//! plugin. An opened catalog ([`crate::Connector`]) is configuration plus a pool that is empty
//! while the catalog is idle: a thousand idle catalogs cost a thousand configs.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

use crate::artifact_cache::{ArtifactCache, CacheStats};
use crate::bindings::v0_1_0;
use crate::call_driver::{CallDriver, CallGauges};
use crate::connector::{CatalogState, Connector};
use crate::contract::{self, ContractVersion};
use crate::engine::{Allocation, EngineSettings, build_engine};
use crate::error::{At, Error, Result};
use crate::instance_pool::{CallContext, Instance, InstancePool};
use crate::instance_slots::{InstanceSlots, SlotSettings};
use crate::pre_initialize;
use crate::sandbox::{Grants, SandboxLimits, StoreState};
use crate::secret_scrubber::SecretScrubber;
use crate::types::ConnectorSpec;

/// Everything the operator decides for the whole process.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where precompiled artifacts are kept; `None` keeps compiled code in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Ed25519 public keys whose signed artifact bundles this host installs (a worker trusts
    /// its coordinator's; see [`Runtime::trust_artifact_key`] for one learnt later).
    pub trusted_artifact_keys: Vec<[u8; 32]>,
    /// Pooling (with fallback) or on-demand instance allocation.
    pub allocation: Allocation,
    /// Native stack wasm may use (engine-wide: wasmtime does not set it per store).
    pub max_wasm_stack: usize,
    /// Instances live at once across all catalogs (the pooling allocator's slot count).
    pub max_live_instances: u32,
    /// Limits a catalog gets when it sets none.
    pub default_limits: SandboxLimits,
    /// The most a catalog may ask for.
    pub max_limits: SandboxLimits,
    /// Epoch tick: the granularity of call deadlines.
    pub epoch_tick: Duration,
    /// Warm instances kept per catalog (at most its share of instance slots; by default all of
    /// it, so a catalog busy up to its share does not rebuild instances it just dropped).
    pub max_idle_instances: usize,
    /// A warm instance unused this long is dropped.
    pub idle_timeout: Duration,
    /// Threads the plugin I/O runtime may use for plugins' file I/O at once (ADR 0018).
    pub io_threads: usize,
    /// Instances one catalog may hold at once, busy or warm; its calls beyond that wait.
    pub max_catalog_instances: usize,
    /// Calls of one catalog that may wait for an instance slot at once; one more is refused as
    /// busy.
    pub max_waiting_calls: usize,
    /// The longest a call waits for an instance slot before it is refused as busy.
    pub slot_wait: Duration,
    /// The longest a plugin load (validation, compile, the spec call) may take before it is
    /// refused.
    pub compile_timeout: Duration,
    /// Runs a component's `pre-initialize` export once at load and compiles the snapshot of
    /// the memory it leaves, so instances start with its state built (ADR 0020).
    pub pre_initialize: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            trusted_artifact_keys: Vec::new(),
            allocation: Allocation::Auto,
            max_wasm_stack: 512 * 1024,
            max_live_instances: 256,
            default_limits: SandboxLimits::default(),
            max_limits: SandboxLimits::default_maxima(),
            epoch_tick: Duration::from_millis(10),
            max_idle_instances: default_catalog_instances(),
            idle_timeout: Duration::from_secs(300),
            io_threads: 64,
            max_catalog_instances: default_catalog_instances(),
            max_waiting_calls: 256,
            slot_wait: Duration::from_secs(300),
            compile_timeout: Duration::from_secs(120),
            pre_initialize: true,
        }
    }
}

/// Instances one catalog may hold by default: two per core, at least four. More would not run
/// faster on the cores there are, and each may hold hundreds of MiB (tpch's text pool).
pub fn default_catalog_instances() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    (2 * cores).max(4)
}

/// What a loaded plugin is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Hex sha256 of the component bytes.
    pub sha256: String,
    /// The contract version it exports.
    pub contract: ContractVersion,
    /// What `spec()` returned when it was loaded.
    pub spec: ConnectorSpec,
    /// Size of the component in bytes.
    pub size: usize,
    /// Instances start from the snapshot its `pre-initialize` left (ADR 0020).
    pub pre_initialized: bool,
}

impl PluginInfo {
    /// `name@version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.spec.name, self.spec.version)
    }
}

/// A loaded plugin: compiled, linked, ready to instantiate. Cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    pub(crate) inner: Arc<LoadedPlugin>,
}

pub(crate) struct LoadedPlugin {
    pub info: PluginInfo,
    pub pre: v0_1_0::ConnectorPre<StoreState>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("info", &self.inner.info)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    pub fn info(&self) -> &PluginInfo {
        &self.inner.info
    }
}

/// A catalog to open: a name, a plugin, properties, limits and grants.
#[derive(Debug, Clone)]
pub struct CatalogConfig {
    pub name: String,
    pub plugin: Plugin,
    /// Properties, `${ENV:…}` references already resolved.
    pub properties: Vec<(String, String)>,
    /// `None` takes the runtime's defaults.
    pub limits: Option<SandboxLimits>,
    pub grants: Grants,
    /// Values never to be shown (what secret fields and `${ENV:…}` references resolved to):
    /// scrubbed, in their common encodings, from the plugin's errors, validation messages and
    /// log lines.
    pub secrets: Vec<String>,
}

impl CatalogConfig {
    /// A catalog with default limits and no grants.
    pub fn new(name: impl Into<String>, plugin: &Plugin) -> Self {
        CatalogConfig {
            name: name.into(),
            plugin: plugin.clone(),
            properties: Vec::new(),
            limits: None,
            grants: Grants::default(),
            secrets: Vec::new(),
        }
    }

    /// Adds a property.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.push((key.into(), value.into()));
        self
    }
}

/// The host runtime. Cheap to clone; one per process.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("pooling", &self.inner.pooling)
            .field("cache", &self.inner.cache.stats())
            .finish_non_exhaustive()
    }
}

pub(crate) struct RuntimeInner {
    pub engine: Engine,
    pub pooling: bool,
    pub linker: Linker<StoreState>,
    pub cache: ArtifactCache,
    pub config: RuntimeConfig,
    plugins: Mutex<HashMap<String, Plugin>>,
    pools: Mutex<Vec<Weak<InstancePool>>>,
    /// Drives every call into a plugin (ADR 0018).
    calls: CallDriver,
    /// Admission: instance slots per process and per catalog.
    pub slots: InstanceSlots,
    /// Plugin loads (compiles) at once: one per core, so a burst of uploads queues instead of
    /// taking every core and all the memory Cranelift needs.
    loads: Arc<tokio::sync::Semaphore>,
    load_turns: usize,
}

impl Runtime {
    /// Builds the engine (pooling where possible), opens the artifact cache, links WASI,
    /// `wasi:http` and the contract's imports, and starts the epoch ticker.
    pub fn new(config: RuntimeConfig) -> Result<Runtime> {
        let built = build_engine(&EngineSettings {
            allocation: config.allocation,
            max_wasm_stack: config.max_wasm_stack,
            max_memory_bytes: config.max_limits.memory_bytes,
            max_live_instances: config.max_live_instances,
        })?;
        let engine = built.engine;
        let cache = ArtifactCache::open(
            &engine,
            config.cache_dir.clone(),
            config.trusted_artifact_keys.clone(),
            config.pre_initialize,
        )?;
        let mut linker = Linker::<StoreState>::new(&engine);
        let link = |r: wasmtime::Result<()>| r.map_err(|e| Error::Engine(format!("linker: {e:#}")));
        link(wasmtime_wasi::p2::add_to_linker_async(&mut linker))?;
        link(crate::socket_policy::link(
            &mut linker,
            StoreState::guarded_sockets,
        ))?;
        link(wasmtime_wasi_http::p2::add_only_http_to_linker_async(
            &mut linker,
        ))?;
        link(v0_1_0::Connector::add_to_linker::<_, HasSelf<StoreState>>(
            &mut linker,
            |s| s,
        ))?;
        let calls = CallDriver::start(config.io_threads)?;
        let loads = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        // The slots plugin loads use (one throwaway instance each, for the spec) are kept
        // out of what catalogs share.
        let process_slots = usize::try_from(config.max_live_instances)
            .unwrap_or(usize::MAX)
            .saturating_sub(loads)
            .max(1);
        let slots = InstanceSlots::new(SlotSettings {
            process_slots,
            per_catalog: config.max_catalog_instances.min(process_slots),
            max_waiting_calls: config.max_waiting_calls,
            slot_wait: config.slot_wait,
        });
        let inner = Arc::new(RuntimeInner {
            calls,
            slots,
            engine,
            pooling: built.pooling,
            linker,
            cache,
            config,
            plugins: Mutex::new(HashMap::new()),
            pools: Mutex::new(Vec::new()),
            loads: Arc::new(tokio::sync::Semaphore::new(loads)),
            load_turns: loads,
        });
        start_housekeeping(&inner)?;
        Ok(Runtime { inner })
    }

    /// True when instances come from the pooling allocator.
    pub fn is_pooling(&self) -> bool {
        self.inner.pooling
    }

    /// The engine (for benchmarks and tools that precompile).
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Instance slots free for catalogs right now, and the admission settings.
    pub fn free_instance_slots(&self) -> (usize, SlotSettings) {
        (self.inner.slots.free(), self.inner.slots.settings())
    }

    /// Threads plugin calls hold right now, and calls abandoned at their deadline.
    pub fn call_gauges(&self) -> CallGauges {
        self.inner.calls.handle().gauges()
    }

    /// Where compiled code came from so far.
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.cache.stats()
    }

    /// The engine's compatibility hash: a signed artifact moves only between hosts that agree on
    /// it (same wasmtime, same settings, same CPU features).
    pub fn compatibility_hash(&self) -> &str {
        self.inner.cache.compatibility_hash()
    }

    /// The on-disk artifact of a component, if a cache directory is configured.
    pub fn artifact_path(&self, sha256: &str) -> Option<PathBuf> {
        self.inner.cache.artifact_path(sha256)
    }

    /// The precompiled artifact of a loaded component as a bundle signed with this host's
    /// Ed25519 key, to hand to a host that trusts [`Runtime::artifact_public_key`].
    pub fn signed_artifact(&self, sha256: &str) -> Option<Vec<u8>> {
        self.inner.cache.read_signed(sha256)
    }

    /// The public key this host's artifact bundles are signed with.
    pub fn artifact_public_key(&self) -> [u8; 32] {
        self.inner.cache.signing_public_key()
    }

    /// Installs the bundles `public_key` signs from now on (a worker, once it has asked its
    /// coordinator for its key).
    pub fn trust_artifact_key(&self, public_key: [u8; 32]) {
        self.inner.cache.trust(public_key);
    }

    /// Installs an artifact bundle another host signed, so loading that component compiles
    /// nothing. Refused unless a trusted key signed it for this component and engine.
    pub fn install_signed_artifact(&self, sha256: &str, file: &[u8]) -> Result<()> {
        self.inner.cache.install_signed(sha256, file)
    }

    /// Forgets the in-memory compiled code of every plugin (open catalogs keep theirs), so the
    /// next load goes to disk. For tests and benchmarks.
    pub fn clear_memory_cache(&self) {
        if let Ok(mut plugins) = self.inner.plugins.lock() {
            plugins.clear();
        }
    }

    /// Loads a plugin on a blocking thread; see [`Runtime::load_plugin_blocking`]. At most one
    /// load per core runs at once; the others wait their turn. A load that takes longer than
    /// `compile_timeout` is refused then; Cranelift cannot be stopped mid-compile, so the load
    /// keeps its turn until it really ends, and what it produced (compiled code in memory, an
    /// artifact on disk) is thrown away.
    pub async fn load_plugin(&self, bytes: Vec<u8>) -> Result<Plugin> {
        let turn = self
            .inner
            .loads
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(format!("plugin loads closed: {e}")))?;
        let rt = self.clone();
        let abandoned = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let given_up = abandoned.clone();
        let load = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let loaded = rt.load_plugin_blocking(&bytes);
            if given_up.load(Ordering::SeqCst)
                && let Ok(plugin) = &loaded
            {
                rt.forget_plugin(&plugin.info().sha256);
                tracing::warn!(
                    plugin = %plugin.info().id(),
                    "a plugin load given up at its timeout finished; its compiled code is dropped"
                );
            }
            loaded
        });
        let limit = self.inner.config.compile_timeout;
        match tokio::time::timeout(limit, load).await {
            Ok(joined) => {
                joined.map_err(|e| Error::Internal(format!("plugin load task failed: {e}")))?
            }
            Err(_) => {
                abandoned.store(true, Ordering::SeqCst);
                Err(Error::InvalidComponent {
                    reason: format!(
                        "compiling took longer than the compile timeout of {limit:?}; refused"
                    ),
                })
            }
        }
    }

    /// Plugin loads running now (each holds a core's turn until its compile really ends).
    pub fn loads_running(&self) -> usize {
        self.inner.load_turns - self.inner.loads.available_permits()
    }

    /// Drops a loaded plugin's compiled code from memory and disk.
    fn forget_plugin(&self, sha256: &str) {
        if let Ok(mut plugins) = self.inner.plugins.lock() {
            plugins.remove(sha256);
        }
        self.inner.cache.forget(sha256);
    }

    /// Validates, compiles (or finds cached) and links a component, then asks it for its spec
    /// in a throwaway sandbox. CPU-bound for about a second on a cold cache: call from a
    /// blocking context.
    pub fn load_plugin_blocking(&self, bytes: &[u8]) -> Result<Plugin> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        if let Some(plugin) = self.cached_plugin(&sha256) {
            self.inner
                .cache
                .counters
                .memory_hits
                .fetch_add(1, Ordering::Relaxed);
            return Ok(plugin);
        }
        let inspected = contract::inspect(bytes)?;
        let pre_initialized = inspected.pre_initialize && self.inner.config.pre_initialize;
        let component = self
            .inner
            .cache
            .load_or_compile(&self.inner.engine, &sha256, || {
                if !pre_initialized {
                    return Ok(Cow::Borrowed(bytes));
                }
                let ctx = self.call_context(
                    plugin_at(&sha256),
                    &self.inner.config.default_limits,
                    SecretScrubber::default(),
                );
                pre_initialize::snapshot(&self.inner.linker, &ctx, bytes).map(Cow::Owned)
            })?;
        // A component refused after it compiled leaves no compiled code behind.
        let facts = Loaded {
            contract: inspected.contract,
            size: bytes.len(),
            pre_initialized,
        };
        self.link_and_describe(&sha256, facts, &component)
            .inspect_err(|_| self.inner.cache.forget(&sha256))
    }

    /// Links a compiled component and asks it for its spec; remembers the loaded plugin.
    fn link_and_describe(
        &self,
        sha256: &str,
        facts: Loaded,
        component: &wasmtime::component::Component,
    ) -> Result<Plugin> {
        let sha256 = sha256.to_owned();
        let pre =
            self.inner
                .linker
                .instantiate_pre(component)
                .map_err(|e| Error::InvalidComponent {
                    reason: format!("cannot be linked in this host: {e:#}"),
                })?;
        let pre = v0_1_0::ConnectorPre::new(pre).map_err(|e| Error::InvalidComponent {
            reason: format!("does not match the connector world: {e:#}"),
        })?;

        let ctx = self.call_context(
            plugin_at(&sha256),
            &self.inner.config.default_limits,
            SecretScrubber::default(),
        );
        let mut instance = Instance::new(&pre, &ctx, &Grants::default(), Vec::new(), None)?;
        let spec = instance.call(&ctx, "spec", async |store, b| {
            b.quarry_connector_source().call_spec(store).await
        })?;
        drop(instance);

        let plugin = Plugin {
            inner: Arc::new(LoadedPlugin {
                info: PluginInfo {
                    sha256: sha256.clone(),
                    contract: facts.contract,
                    spec: spec.into(),
                    size: facts.size,
                    pre_initialized: facts.pre_initialized,
                },
                pre,
            }),
        };
        if let Ok(mut plugins) = self.inner.plugins.lock() {
            plugins.insert(sha256, plugin.clone());
        }
        Ok(plugin)
    }

    fn cached_plugin(&self, sha256: &str) -> Option<Plugin> {
        self.inner.plugins.lock().ok()?.get(sha256).cloned()
    }

    /// Opens a catalog: checks its limits against the operator maxima and its grants, and
    /// returns its handle. Instantiates nothing: the first call does.
    pub fn open_catalog(&self, config: CatalogConfig) -> Result<Connector> {
        let limits = config
            .limits
            .clone()
            .unwrap_or_else(|| self.inner.config.default_limits.clone());
        limits.check_within(&self.inner.config.max_limits, &config.name)?;
        let grants = config.grants.resolve(&config.name)?;
        let at = At {
            catalog: config.name.clone(),
            plugin: config.plugin.info().id(),
        };
        let ctx = self.call_context(at, &limits, SecretScrubber::new(&config.secrets));
        let pool = Arc::new(InstancePool::new(
            self.inner
                .config
                .max_idle_instances
                .min(self.inner.slots.settings().per_catalog),
            self.inner.config.idle_timeout,
        ));
        if let Ok(mut pools) = self.inner.pools.lock() {
            pools.retain(|p| p.strong_count() > 0);
            pools.push(Arc::downgrade(&pool));
        }
        Ok(Connector::new(CatalogState {
            _runtime: self.clone(),
            plugin: config.plugin,
            properties: config.properties,
            grants,
            ctx,
            pool,
            slots: self.inner.slots.catalog(),
        }))
    }

    pub(crate) fn call_context(
        &self,
        at: At,
        limits: &SandboxLimits,
        scrubber: SecretScrubber,
    ) -> CallContext {
        let tick = self.inner.config.epoch_tick.as_nanos().max(1);
        let ticks = limits.call_deadline.as_nanos().div_ceil(tick) + 1;
        CallContext {
            at,
            limits: limits.clone(),
            deadline_ticks: u64::try_from(ticks).unwrap_or(u64::MAX),
            max_wasm_stack: self.inner.config.max_wasm_stack,
            calls: self.inner.calls.handle(),
            scrubber,
        }
    }

    /// Drops idle instances older than the idle timeout in every catalog.
    pub fn sweep_idle(&self) {
        self.inner.sweep_idle(Instant::now());
    }
}

impl RuntimeInner {
    fn live_pools(&self) -> Vec<Arc<InstancePool>> {
        match self.pools.lock() {
            Ok(mut pools) => {
                pools.retain(|p| p.strong_count() > 0);
                pools.iter().filter_map(Weak::upgrade).collect()
            }
            Err(_) => Vec::new(),
        }
    }

    fn sweep_idle(&self, now: Instant) {
        for pool in self.live_pools() {
            pool.sweep(now);
        }
    }

    /// Drops the least recently used warm instance of any catalog, freeing its slot; false
    /// when no catalog holds one.
    pub(crate) fn evict_one_idle(&self) -> bool {
        let oldest = self
            .live_pools()
            .into_iter()
            .filter_map(|pool| Some((pool.oldest_use()?, pool)))
            .min_by_key(|(used, _)| *used);
        match oldest.and_then(|(_, pool)| pool.take_oldest()) {
            Some(instance) => {
                drop(instance);
                true
            }
            None => false,
        }
    }
}

/// What loading learnt about a plugin before it was linked.
struct Loaded {
    contract: ContractVersion,
    size: usize,
    pre_initialized: bool,
}

/// Where a call into a plugin being loaded (no catalog yet) happens, for errors and logs.
fn plugin_at(sha256: &str) -> At {
    At {
        catalog: String::new(),
        plugin: format!("sha256:{}", &sha256[..12]),
    }
}

/// The housekeeping thread: advances the engine's epoch every tick (which is what makes call
/// deadlines fire) and sweeps idle instances about once a second. It holds only weak
/// references and ends when the runtime is dropped.
fn start_housekeeping(inner: &Arc<RuntimeInner>) -> Result<()> {
    let weak = Arc::downgrade(inner);
    let tick = inner.config.epoch_tick;
    let sweep_every = Duration::from_secs(1);
    std::thread::Builder::new()
        .name("quarry-epoch".into())
        .spawn(move || {
            let mut last_sweep = Instant::now();
            loop {
                std::thread::sleep(tick);
                let Some(inner) = weak.upgrade() else { break };
                inner.engine.increment_epoch();
                let now = Instant::now();
                if now.duration_since(last_sweep) >= sweep_every {
                    last_sweep = now;
                    inner.sweep_idle(now);
                }
            }
        })
        .map_err(|e| Error::Engine(format!("cannot start the epoch ticker: {e}")))?;
    Ok(())
}
