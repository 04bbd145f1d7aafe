//! Pre-initialisation: a component that exports `pre-initialize` is run once when it is loaded,
//! and what it leaves in memory becomes the starting memory of every later instance.
//!
//! Why: some connectors build large read-only state before their first row (tpch's text pool:
//! 300 MiB and 1.5–3 s). Built per instance, a burst of first queries rebuilds it once per
//! instance, on the same cores, past the call deadline, and each warm instance keeps its own
//! copy. Snapshotted once, the state is part of the compiled component's memory image, which
//! Wasmtime maps copy-on-write into every instance: instantiation costs what it costs for any
//! plugin, and the pages are shared (ADR 0020).
//!
//! How: `wasmtime-wizer` instruments the component so its memories and globals can be read,
//! the instrumented component runs `pre-initialize` in the same sandbox as every call (no
//! grants, the default memory limit and call deadline, on the plugin call driver), and wizer
//! writes a new component whose data segments hold the memory the call left. That component,
//! not the uploaded one, is compiled and cached. It still exports `pre-initialize` (wizer 48
//! cannot take it out of a component), but the host never calls it again.

use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::{Component, Instance as ComponentInstance, Lift, Linker, WasmList};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

use crate::error::{Error, Result};
use crate::instance_pool::{CallContext, sandbox_store, settle_call};
use crate::sandbox::{Grants, StoreState};

/// The export a component names to ask for pre-initialisation: `func()`, at the top level.
pub const PRE_INITIALIZE_EXPORT: &str = "pre-initialize";

/// The call name in errors and logs.
const CALL: &str = "pre-initialize";

/// Runs the component's `pre-initialize` in a sandbox and returns the component rewritten
/// with the memory it left. Errors name the plugin and the reason: a trap, the deadline, the
/// memory limit, or a component wizer cannot snapshot (wizer panics on some of those; the
/// panic is caught and reported the same way).
pub(crate) fn snapshot(
    linker: &Linker<StoreState>,
    ctx: &CallContext,
    bytes: &[u8],
) -> Result<Vec<u8>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        snapshot_unguarded(linker, ctx, bytes)
    }))
    .unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        let first_line = message.lines().next().unwrap_or_default();
        Err(Error::InvalidComponent {
            reason: format!("cannot be pre-initialised: {first_line}"),
        })
    })
}

fn snapshot_unguarded(
    linker: &Linker<StoreState>,
    ctx: &CallContext,
    bytes: &[u8],
) -> Result<Vec<u8>> {
    let started = Instant::now();
    let mut wizer = Wizer::new();
    // Kept: removing it leaves the component's lift of the core export dangling (wizer 48).
    // Calling it again is harmless, and the host never does.
    wizer.init_func(PRE_INITIALIZE_EXPORT).keep_init_func(true);
    let refused = |what: &str, e: &dyn std::fmt::Display| Error::InvalidComponent {
        reason: format!("cannot be pre-initialised: {what}: {e:#}"),
    };
    let (cx, instrumented) = wizer
        .instrument_component(bytes)
        .map_err(|e| refused("its state cannot be snapshotted", &e))?;
    let component = Component::new(linker.engine(), &instrumented)
        .map_err(|e| refused("the instrumented component does not compile", &e))?;
    let mut store = sandbox_store(linker.engine(), ctx, &Grants::default())?;
    // Wizer reads each memory whole as one `list<u8>`; the memory limit already bounds it.
    store.set_hostcall_fuel(usize::try_from(ctx.limits.memory_bytes).unwrap_or(usize::MAX));

    // The plugin's own code, under the call deadline like any call.
    let initialised = ctx.calls.drive(ctx.limits.call_deadline, async {
        let instance = linker.instantiate_async(&mut store, &component).await?;
        let init = instance.get_typed_func::<(), ()>(&mut store, PRE_INITIALIZE_EXPORT)?;
        init.call_async(&mut store, ()).await?;
        Ok(instance)
    });
    let instance = settle_call(initialised, ctx, CALL, &store)?;
    let initialised_at = started.elapsed();

    // Wizer's accessors read the state out; they are its code, not the plugin's, but get a
    // deadline of their own all the same.
    store.set_epoch_deadline(ctx.deadline_ticks);
    let snapshotted = ctx.calls.drive(ctx.limits.call_deadline, async {
        let mut reader = StateReader {
            store: &mut store,
            instance,
            failure: None,
        };
        let rewritten = wizer.snapshot_component(&cx, &mut reader).await?;
        match reader.failure {
            Some(e) => Err(e),
            None => Ok(rewritten),
        }
    });
    let rewritten = settle_call(snapshotted, ctx, CALL, &store)?;
    tracing::info!(
        plugin = %ctx.at.plugin,
        memory_mib = store.data().limiter.used_bytes() / (1024 * 1024),
        component_mib = rewritten.len() / (1024 * 1024),
        initialised_ms = initialised_at.as_millis() as u64,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "plugin pre-initialised: later instances start from its snapshot"
    );
    Ok(rewritten)
}

/// Reads the instrumented instance's memories and globals through the accessor functions
/// wizer added. Wizer's interface returns plain values, so the first failure is kept here and
/// reported after the snapshot (the values read after it are zeros and thrown away).
struct StateReader<'a> {
    store: &'a mut Store<StoreState>,
    instance: ComponentInstance,
    failure: Option<wasmtime::Error>,
}

impl StateReader<'_> {
    async fn read<R, V: Default>(
        &mut self,
        interface: &str,
        func: &str,
        take: impl FnOnce(&Store<StoreState>, R) -> V,
    ) -> V
    where
        R: Lift + Send + Sync + 'static,
    {
        if self.failure.is_some() {
            return V::default();
        }
        match self.call::<R>(interface, func).await {
            Ok(value) => take(self.store, value),
            Err(e) => {
                self.failure = Some(e);
                V::default()
            }
        }
    }

    async fn call<R>(&mut self, interface: &str, func: &str) -> wasmtime::Result<R>
    where
        R: Lift + Send + Sync + 'static,
    {
        let missing = || wasmtime::format_err!("wizer accessor {interface}#{func} not found");
        let (_, iface) = self
            .instance
            .get_export(&mut *self.store, None, interface)
            .ok_or_else(missing)?;
        let (_, index) = self
            .instance
            .get_export(&mut *self.store, Some(&iface), func)
            .ok_or_else(missing)?;
        let typed = self
            .instance
            .get_typed_func::<(), (R,)>(&mut *self.store, index)?;
        let (value,) = typed.call_async(&mut *self.store, ()).await?;
        Ok(value)
    }
}

impl ComponentInstanceState for StateReader<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        // Read in place, in the instance's memory; not called at all after a failure.
        self.read(instance, func, |store, list: WasmList<u8>| {
            contents(list.as_le_slice(store))
        })
        .await
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.read(instance, func, |_, v: i32| v).await
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.read(instance, func, |_, v: i64| v).await
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.read(instance, func, |_, v: f32| v.to_bits()).await
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.read(instance, func, |_, v: f64| v.to_bits()).await
    }
}
