//! Helpers shared by the runtime's integration tests: the plugin components (found by
//! quarry-testing), building a runtime, opening catalogs and draining scans.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // shared test code: may panic

use std::time::Duration;

use arrow_array::RecordBatch;
use futures::TryStreamExt;
use quarry_runtime::{
    CatalogConfig, Connector, Plugin, Result, Runtime, RuntimeConfig, SandboxLimits, ScanRequest,
};

/// The deadline testkit catalogs run under: every misbehaviour must end within it.
pub const TEST_DEADLINE: Duration = Duration::from_secs(2);

pub use quarry_testing::plugin_component::plugin_bytes;

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
