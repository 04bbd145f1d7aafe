//! Helpers shared by the runtime's integration tests: finding plugin components, building a
//! runtime, opening catalogs and draining scans.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // shared test code: may panic

use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow_array::RecordBatch;
use futures::TryStreamExt;
use quarry_runtime::{
    CatalogConfig, Connector, Plugin, Result, Runtime, RuntimeConfig, SandboxLimits, ScanRequest,
};

/// The deadline testkit catalogs run under: every misbehaviour must end within it.
pub const TEST_DEADLINE: Duration = Duration::from_secs(2);

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The built component of plugin `name`: `target/plugins/<name>.wasm` as written by
/// `cargo xtask build-plugins`, or the plugins workspace's own release output, whichever is
/// newer. Panics, saying how to build it, when there is neither.
pub fn plugin_path(name: &str) -> PathBuf {
    let root = workspace_root();
    let candidates = [
        root.join("target/plugins").join(format!("{name}.wasm")),
        root.join("plugins/target/wasm32-wasip2/release")
            .join(format!("{name}.wasm")),
    ];
    candidates
        .iter()
        .filter_map(|p| Some((std::fs::metadata(p).ok()?.modified().ok()?, p.clone())))
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| {
            panic!(
                "plugin component {name}.wasm not found at {}: run `cargo xtask build-plugins` \
                 (or `cd plugins && cargo build --release --target wasm32-wasip2 -p {name}`) first",
                candidates[0].display()
            )
        })
}

pub fn plugin_bytes(name: &str) -> Vec<u8> {
    let path = plugin_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A runtime with an in-memory cache only (tests that need a disk cache build their own).
pub fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig::default()).expect("runtime")
}

pub async fn load(rt: &Runtime, name: &str) -> Plugin {
    rt.load_plugin(plugin_bytes(name))
        .await
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// Limits for testkit catalogs: the test deadline, default everything else.
pub fn test_limits() -> SandboxLimits {
    SandboxLimits {
        call_deadline: TEST_DEADLINE,
        ..SandboxLimits::default()
    }
}

/// A testkit catalog named after its behaviour.
pub fn testkit(rt: &Runtime, plugin: &Plugin, behaviour: &str) -> Connector {
    let mut config = CatalogConfig::new(behaviour, plugin).property("behaviour", behaviour);
    config.limits = Some(test_limits());
    rt.open_catalog(config).expect("open testkit catalog")
}

/// Plans `request` and reads every split, in order.
pub async fn scan_all(connector: &Connector, request: &ScanRequest) -> Result<Vec<RecordBatch>> {
    let plan = connector.plan_scan(request).await?;
    let mut batches = Vec::new();
    for split in plan.splits {
        let stream = connector.scan(request.clone(), split).await?;
        batches.extend(stream.try_collect::<Vec<_>>().await?);
    }
    Ok(batches)
}

pub fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// Logs plugin lines during tests (`RUST_LOG=debug cargo test` to see them).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
