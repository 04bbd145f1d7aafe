//! Helpers shared by the SQL layer's integration tests: the tpch component, a runtime, and an
//! engine with a `tpch` catalog.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // shared test code: may panic

use std::sync::Arc;

use quarry_runtime::{CatalogConfig, Connector, Plugin, Runtime, RuntimeConfig};
use quarry_sql::{CatalogVersion, LocalSplitSource, QuarryCatalogs, QueryEngine};

use quarry_testing::plugin_component::plugin_bytes;

pub async fn load(rt: &Runtime, name: &str) -> Plugin {
    rt.load_plugin(plugin_bytes(name))
        .await
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// A runtime with the tpch plugin loaded.
pub async fn tpch_plugin() -> (Runtime, Plugin) {
    let rt = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let plugin = load(&rt, "tpch").await;
    (rt, plugin)
}

/// Opens catalog `name` of the tpch plugin with `properties`.
pub fn open(rt: &Runtime, plugin: &Plugin, name: &str, properties: &[(&str, &str)]) -> Connector {
    let mut config = CatalogConfig::new(name, plugin);
    for (k, v) in properties {
        config = config.property(*k, *v);
    }
    rt.open_catalog(config).expect("open tpch catalog")
}

/// Sets catalog `name` at `generation`, read through the local connector.
pub fn set_local(catalogs: &QuarryCatalogs, name: &str, generation: i64, connector: Connector) {
    let source = Arc::new(LocalSplitSource::new(connector.clone()));
    catalogs.set_catalog(name, version(generation), connector, source);
}

/// An engine with one catalog `tpch` (generation 1).
pub async fn engine_with_tpch() -> (QueryEngine, Runtime, Plugin) {
    let (rt, plugin) = tpch_plugin().await;
    let catalogs = QuarryCatalogs::new();
    set_local(&catalogs, "tpch", 1, open(&rt, &plugin, "tpch", &[]));
    (QueryEngine::new(catalogs), rt, plugin)
}

pub fn rows(batches: &[arrow_array::RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

/// Column 0 of a one-column string result.
pub fn strings(batches: &[arrow_array::RecordBatch]) -> Vec<String> {
    use arrow_array::Array;
    let mut out = Vec::new();
    for b in batches {
        let col =
            datafusion::arrow::compute::cast(b.column(0), &arrow_schema::DataType::Utf8).unwrap();
        let col = col
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .unwrap();
        for i in 0..col.len() {
            out.push(col.value(i).to_owned());
        }
    }
    out
}

/// Version `generation` of the first incarnation.
pub fn version(generation: i64) -> CatalogVersion {
    CatalogVersion {
        incarnation: 1,
        generation,
    }
}
