//! Instances of a catalog's plugin, and the small pool of warm ones kept between calls.
//!
//! A plugin may build expensive state on first use (tpch's text pool: ~300 MB and ~1.4 s per
//! instance), so an instance lives across the splits and queries of its catalog: a call takes
//! a warm instance from the pool (or instantiates one from the shared `InstancePre`, ~30 µs),
//! and gives it back when it is done. An instance is never given back after a trap, a limit
//! hit or invalid output: it is dropped, and its memory with it. Idle instances are dropped
//! after a timeout by the runtime's housekeeping thread, so an idle catalog holds none.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceAny;
use wasmtime::{Store, Trap, WasmBacktrace};

use crate::bindings::v0_1_0;
use crate::error::{At, ByteSize, Error, Result};
use crate::instance_slots::SlotPermit;
use crate::sandbox::{Grants, SandboxLimits, StoreState};
use crate::socket_policy::{ResolvedSockets, SocketDenial};

/// What a call needs to know to set its deadline and name things in its errors.
#[derive(Debug, Clone)]
pub(crate) struct CallContext {
    pub at: At,
    pub limits: SandboxLimits,
    pub deadline_ticks: u64,
    pub max_wasm_stack: usize,
    /// Drives the call's future on the plugin I/O runtime, under its deadline.
    pub calls: crate::call_driver::CallHandle,
    /// The catalog's secret values, scrubbed from the plugin's errors and log lines.
    pub scrubber: crate::secret_scrubber::SecretScrubber,
}

/// One live instance of a plugin, in its own store.
pub(crate) struct Instance {
    store: Store<StoreState>,
    bindings: v0_1_0::Connector,
    /// The catalog's properties, for opening the catalog resource.
    properties: Vec<(String, String)>,
    /// The catalog resource, opened on the first call that needs it.
    catalog: Option<ResourceAny>,
    last_used: Instant,
    /// What the socket policy refused during the last call, reported if the call failed.
    socket_denial: Option<SocketDenial>,
    /// The instance slots it holds (none for the throwaway instance that asks a plugin being
    /// loaded for its spec); freed when the instance is dropped.
    _slot: Option<SlotPermit>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("catalog_open", &self.catalog.is_some())
            .field("last_used", &self.last_used)
            .finish_non_exhaustive()
    }
}

impl Instance {
    /// Instantiates the plugin in a fresh sandbox, within the call deadline.
    pub fn new(
        pre: &v0_1_0::ConnectorPre<StoreState>,
        ctx: &CallContext,
        grants: &Grants,
        properties: Vec<(String, String)>,
        slot: Option<SlotPermit>,
    ) -> Result<Self> {
        let started = Instant::now();
        let mut store = sandbox_store(pre.engine(), ctx, grants)?;
        // One deadline for the whole set-up: what resolving the socket grants took is gone.
        let remaining = ctx.limits.call_deadline.saturating_sub(started.elapsed());
        let instantiated = ctx
            .calls
            .drive(remaining, pre.instantiate_async(&mut store))
            .ok_or_else(|| deadline_exceeded(ctx, "instantiate"))?;
        let bindings = instantiated.map_err(|e| {
            if store.data().limiter.memory_refused {
                Error::MemoryLimit {
                    at: ctx.at.clone(),
                    call: "instantiate",
                    limit: ByteSize(ctx.limits.memory_bytes),
                }
            } else if e.downcast_ref::<Trap>().is_some() {
                classify(e, ctx, "instantiate", false, String::new())
            } else {
                Error::Instantiate {
                    at: ctx.at.clone(),
                    message: format!("{e:#}"),
                }
            }
        })?;
        Ok(Instance {
            store,
            bindings,
            properties,
            catalog: None,
            last_used: Instant::now(),
            socket_denial: None,
            _slot: slot,
        })
    }

    /// Runs one call into the guest with a fresh deadline, and turns whatever went wrong into
    /// the runtime's error. The deadline holds twice: the epoch traps wasm that computes past
    /// it, and the call's future is dropped when the plugin is still waiting in a host call
    /// (a WASI sleep, a file read, an HTTP response) at that time. A trap after the socket
    /// policy refused something says what was refused; a connector error after one is replaced
    /// by the refusal in [`Instance::connector_result`].
    pub fn call<R>(
        &mut self,
        ctx: &CallContext,
        call: &'static str,
        f: impl AsyncFnOnce(&mut Store<StoreState>, &v0_1_0::Connector) -> wasmtime::Result<R>,
    ) -> Result<R> {
        self.store.set_epoch_deadline(ctx.deadline_ticks);
        self.store.data_mut().limiter.memory_refused = false;
        self.store.data().log.clear_stderr_tail();
        self.store.data().sockets.take_denial();
        let result = ctx
            .calls
            .drive(ctx.limits.call_deadline, f(&mut self.store, &self.bindings));
        self.last_used = Instant::now();
        self.socket_denial = self.store.data().sockets.take_denial();
        settle_call(result, ctx, call, &self.store).map_err(|e| match (e, &self.socket_denial) {
            (Error::Trap { at, call, message }, Some(denial)) => Error::Trap {
                at,
                call,
                message: format!("{message}; before it: {denial}"),
            },
            (e, _) => e,
        })
    }

    /// What the socket policy refused during the last call, if anything (taken: asked once).
    pub fn take_socket_denial(&mut self) -> Option<SocketDenial> {
        self.socket_denial.take()
    }

    /// Unwraps the connector's own `result` of the last call, naming catalog and plugin in the
    /// error; when the socket policy refused something during that call, the error is the
    /// refusal ([`Error::SocketDenied`]), which says what to grant.
    pub fn connector_result<T>(
        &mut self,
        ctx: &CallContext,
        r: std::result::Result<T, v0_1_0::quarry::connector::types::ConnectorError>,
    ) -> Result<T> {
        let denial = self.socket_denial.take();
        let result = connector_result(ctx, r);
        match (result, denial) {
            (Err(Error::Connector { at, kind, message }), Some(denial)) => {
                tracing::info!(
                    catalog = %at.catalog,
                    plugin = %at.plugin,
                    %kind,
                    plugin_error = %message,
                    "connector error after a socket refusal; reporting the refusal"
                );
                Err(Error::SocketDenied { at, denial })
            }
            (result, _) => result,
        }
    }

    /// The opened catalog resource, opening it with the catalog's properties on first use.
    pub fn catalog(&mut self, ctx: &CallContext) -> Result<ResourceAny> {
        if let Some(catalog) = self.catalog {
            return Ok(catalog);
        }
        let properties = std::mem::take(&mut self.properties);
        let opened = self.call(ctx, "catalog.open", async |store, b| {
            b.quarry_connector_source()
                .catalog()
                .call_open(store, &properties)
                .await
        });
        self.properties = properties;
        let opened = opened?;
        let catalog = self.connector_result(ctx, opened)?;
        self.catalog = Some(catalog);
        Ok(catalog)
    }

    /// Drops a resource the guest handed out (a split reader), running its destructor.
    pub fn drop_resource(&mut self, ctx: &CallContext, resource: ResourceAny) -> Result<()> {
        self.call(ctx, "split-reader.drop", async |store, _| {
            resource.resource_drop_async(store).await
        })
    }
}

/// Unwraps a connector's own `result`, naming catalog and plugin in the error.
pub(crate) fn connector_result<T>(
    ctx: &CallContext,
    r: std::result::Result<T, v0_1_0::quarry::connector::types::ConnectorError>,
) -> Result<T> {
    r.map_err(|e| {
        let (kind, message) = e.into();
        Error::Connector {
            at: ctx.at.clone(),
            kind,
            message,
        }
    })
}

/// A store for one instance: the sandbox's WASI context with `grants`, the memory limiter,
/// and the call deadline's epoch set. The granted socket names are resolved first, under the
/// call deadline: a name server that never answers cannot hold the call past it.
pub(crate) fn sandbox_store(
    engine: &wasmtime::Engine,
    ctx: &CallContext,
    grants: &Grants,
) -> Result<Store<StoreState>> {
    let log = crate::plugin_log::PluginLog::new(
        &ctx.at.catalog,
        &ctx.at.plugin,
        ctx.limits.log_rate,
        ctx.scrubber.clone(),
    );
    let sockets = ctx
        .calls
        .drive(
            ctx.limits.call_deadline,
            ResolvedSockets::resolve(&grants.allowed_sockets, &log),
        )
        .ok_or_else(|| deadline_exceeded(ctx, "resolve allowed sockets"))?;
    let state = StoreState::new(&ctx.limits, grants, sockets, log)?;
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    store.epoch_deadline_trap();
    store.set_epoch_deadline(ctx.deadline_ticks);
    Ok(store)
}

/// What a call driven under its deadline came to: its value, the deadline (logged: the plugin
/// was still waiting in a host call), or its error sorted by [`classify`].
pub(crate) fn settle_call<T>(
    outcome: Option<wasmtime::Result<T>>,
    ctx: &CallContext,
    call: &'static str,
    store: &Store<StoreState>,
) -> Result<T> {
    let Some(result) = outcome else {
        tracing::warn!(
            catalog = %ctx.at.catalog,
            plugin = %ctx.at.plugin,
            call,
            deadline = ?ctx.limits.call_deadline,
            "plugin call abandoned at its deadline while waiting in a host call"
        );
        return Err(deadline_exceeded(ctx, call));
    };
    result.map_err(|e| {
        let state = store.data();
        classify(
            e,
            ctx,
            call,
            state.limiter.memory_refused,
            state.log.stderr_tail(),
        )
    })
}

fn deadline_exceeded(ctx: &CallContext, call: &'static str) -> Error {
    Error::DeadlineExceeded {
        at: ctx.at.clone(),
        call,
        limit: ctx.limits.call_deadline,
    }
}

/// Sorts a failed call into deadline, memory, stack, trap or host error.
fn classify(
    e: wasmtime::Error,
    ctx: &CallContext,
    call: &'static str,
    memory_refused: bool,
    stderr: String,
) -> Error {
    let at = ctx.at.clone();
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => return deadline_exceeded(ctx, call),
        Some(Trap::StackOverflow) => {
            return Error::StackOverflow {
                at,
                call,
                limit: ByteSize(ctx.max_wasm_stack as u64),
            };
        }
        _ => {}
    }
    if memory_refused {
        return Error::MemoryLimit {
            at,
            call,
            limit: ByteSize(ctx.limits.memory_bytes),
        };
    }
    let Some(trap) = e.downcast_ref::<Trap>() else {
        // Not a trap: a host function failed (a WASI call the sandbox turned into a trap, or
        // a canonical ABI check such as invalid UTF-8 in a string). Still the plugin's fault.
        return Error::Trap {
            at,
            call,
            message: format!("{e:#}"),
        };
    };
    let mut message = trap.to_string();
    let last_lines: Vec<&str> = stderr.lines().rev().take(3).collect();
    if !last_lines.is_empty() {
        let lines: Vec<&str> = last_lines.into_iter().rev().collect();
        message.push_str(&format!("; plugin stderr: {}", lines.join(" | ")));
    }
    if let Some(bt) = e.downcast_ref::<WasmBacktrace>() {
        let frames: Vec<String> = bt
            .frames()
            .iter()
            .filter_map(|f| f.func_name().map(|n| n.to_owned()))
            .filter(|n| !is_noise_frame(n))
            .take(4)
            .collect();
        if !frames.is_empty() {
            message.push_str(&format!("; at {}", frames.join(" <- ")));
        }
    }
    Error::Trap { at, call, message }
}

/// Frames of the panic machinery that say nothing about where the plugin went wrong.
fn is_noise_frame(name: &str) -> bool {
    const NOISE: &[&str] = &[
        "abort",
        "panic",
        "rust_begin_unwind",
        "__rust_start_panic",
        "__rust_abort",
        "std::sys",
        "std::process::abort",
        "core::panicking",
        "std::panicking",
        "__rustc",
    ];
    NOISE.iter().any(|n| name.contains(n))
}

/// Warm instances of one catalog, most recently used last.
#[derive(Debug)]
pub(crate) struct InstancePool {
    idle: Mutex<Vec<Instance>>,
    max_idle: usize,
    idle_timeout: Duration,
}

impl InstancePool {
    pub fn new(max_idle: usize, idle_timeout: Duration) -> Self {
        InstancePool {
            idle: Mutex::new(Vec::new()),
            max_idle,
            idle_timeout,
        }
    }

    /// The most recently used warm instance, if any.
    pub fn take(&self) -> Option<Instance> {
        self.idle.lock().ok()?.pop()
    }

    /// Gives a healthy instance back; the oldest is dropped when the pool is full.
    pub fn put(&self, mut instance: Instance) {
        instance.last_used = Instant::now();
        let evicted = match self.idle.lock() {
            Ok(mut idle) => {
                idle.push(instance);
                if idle.len() > self.max_idle {
                    Some(idle.remove(0))
                } else {
                    None
                }
            }
            Err(_) => None,
        };
        drop(evicted);
    }

    /// Drops instances idle for longer than the timeout (outside the lock: dropping a store
    /// unmaps its memory).
    pub fn sweep(&self, now: Instant) {
        let expired: Vec<Instance> = match self.idle.lock() {
            Ok(mut idle) => {
                let (old, keep): (Vec<_>, Vec<_>) = idle
                    .drain(..)
                    .partition(|i| now.duration_since(i.last_used) >= self.idle_timeout);
                *idle = keep;
                old
            }
            Err(_) => Vec::new(),
        };
        drop(expired);
    }

    /// Takes the least recently used idle instance out, for the caller to drop (another
    /// catalog needs its slot).
    pub fn take_oldest(&self) -> Option<Instance> {
        let mut idle = self.idle.lock().ok()?;
        (!idle.is_empty()).then(|| idle.remove(0))
    }

    /// When the least recently used idle instance was last used.
    pub fn oldest_use(&self) -> Option<Instant> {
        self.idle.lock().ok()?.first().map(|i| i.last_used)
    }

    /// Drops every idle instance.
    pub fn clear(&self) {
        let all: Vec<Instance> = match self.idle.lock() {
            Ok(mut idle) => idle.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        drop(all);
    }

    /// How many warm instances are held.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().map(|i| i.len()).unwrap_or(0)
    }
}
