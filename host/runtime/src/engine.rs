//! The one `wasmtime::Engine` per process, configured for untrusted code.
//!
//! - Epoch interruption: every store gets a deadline in ticks; a ticker thread (see
//!   [`crate::runtime`]) advances the epoch, and code past its deadline traps.
//! - The pooling allocator where the host can reserve its virtual memory; on-demand allocation
//!   otherwise (a container with a small `ulimit -v`, say). Either way linear memories start from
//!   copy-on-write images of the component's data segments.
//! - A wasm stack limit for all instances (wasmtime sets it per engine, not per store).
//! - Async support: calls run on fibers, so a call blocked in a host function can be dropped
//!   at its deadline (ADR 0018).

use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::{Error, Result};

/// Fiber stack above the wasm stack limit, for the host functions a plugin calls.
const ASYNC_HOST_STACK: usize = 1024 * 1024;

/// How to allocate instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// The pooling allocator if its reservation succeeds, on-demand otherwise.
    Auto,
    /// Always on-demand (no up-front reservation).
    OnDemand,
}

/// Engine-wide settings (those wasmtime does not allow per store).
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub allocation: Allocation,
    /// Native stack wasm code may use, for every instance.
    pub max_wasm_stack: usize,
    /// The largest linear memory any catalog may be granted (the pool's slot size).
    pub max_memory_bytes: u64,
    /// How many component instances may be live at once (pool slots).
    pub max_live_instances: u32,
}

/// The configured engine and what it ended up with.
#[derive(Debug, Clone)]
pub struct BuiltEngine {
    pub engine: Engine,
    /// True when the pooling allocator is in use.
    pub pooling: bool,
}

fn base_config(settings: &EngineSettings) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // Calls are futures (ADR 0018; wasmtime 48 always supports them): a plugin waiting in a
    // WASI call is a pending future the call's deadline can drop. Each call runs on a fiber
    // stack of its own, which must hold the wasm stack limit plus the host frames below it.
    config.max_wasm_stack(settings.max_wasm_stack);
    config.async_stack_size(settings.max_wasm_stack + ASYNC_HOST_STACK);
    config.memory_init_cow(true);
    // Connectors are single-threaded; shared memories would let a guest escape the memory
    // accounting of one store. Wasmtime is built without its `threads` feature (ADR 0014), so
    // the threads proposal, and shared memory with it, cannot be enabled at all.
    config
}

/// Builds the engine: pooling when possible, falling back to on-demand when the pool's virtual
/// memory cannot be reserved.
pub fn build_engine(settings: &EngineSettings) -> Result<BuiltEngine> {
    if settings.allocation == Allocation::Auto {
        let mut config = base_config(settings);
        let n = settings.max_live_instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(8))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(4))
            .total_stacks(n)
            .max_memory_size(usize::try_from(settings.max_memory_bytes).unwrap_or(usize::MAX))
            // A slot keeps nothing resident once its instance is gone: an idle catalog costs
            // no memory.
            .linear_memory_keep_resident(0);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(&config) {
            Ok(engine) => {
                return Ok(BuiltEngine {
                    engine,
                    pooling: true,
                });
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "pooling allocator unavailable (virtual memory reservation failed?); \
                     falling back to on-demand instance allocation"
                );
            }
        }
    }
    let mut config = base_config(settings);
    config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    let engine = Engine::new(&config).map_err(|e| Error::Engine(e.to_string()))?;
    Ok(BuiltEngine {
        engine,
        pooling: false,
    })
}

/// Feeds `Hash` into sha256, so the engine's compatibility hash is the same across processes
/// and Rust versions (`DefaultHasher` promises neither).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}

/// A hex digest of everything that makes a precompiled artifact usable by this engine
/// (wasmtime version, target, compiler settings, whether it pre-initialises): part of every
/// artifact's cache key.
pub fn compatibility_hash(engine: &Engine, pre_initialize: bool) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    // A host that pre-initialises compiles a different component from the same upload.
    pre_initialize.hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..16])
}
