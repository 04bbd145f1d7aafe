//! The worker's `/metrics` text, written with [`PrometheusText`]: the catalogs it holds,
//! whether it is ready, where compiled plugin code came from, the plugin call gauges and what
//! split scans did.

use quarry_runtime::{CacheStats, CallGauges};

use crate::prometheus_text::{Kind, PrometheusText};
use crate::worker::scan_metrics::ScanCounts;

/// Renders the exposition text: `loaded` and `failed` catalogs held, `ready` once the worker
/// holds the desired state, the artifact `cache` figures, the plugin `calls` and the `scans`.
pub fn render(
    loaded: usize,
    failed: usize,
    ready: bool,
    cache: CacheStats,
    calls: CallGauges,
    scans: &ScanCounts,
) -> String {
    let mut text = PrometheusText::new();
    text.family(
        "quarry_worker_catalogs",
        "Catalogs held, by state.",
        Kind::Gauge,
    )
    .sample(&[("state", "loaded")], loaded)
    .sample(&[("state", "failed")], failed);
    text.family(
        "quarry_worker_ready",
        "1 once the worker holds the desired state.",
        Kind::Gauge,
    )
    .sample(&[], u8::from(ready));
    for (name, help, value) in [
        (
            "quarry_plugin_compiles_total",
            "Components compiled on this worker.",
            cache.compiles,
        ),
        (
            "quarry_plugin_artifact_loads_total",
            "Components loaded from a verified precompiled artifact.",
            cache.disk_hits,
        ),
        (
            "quarry_plugin_artifact_rejects_total",
            "Artifacts that failed verification and were replaced.",
            cache.disk_rejects,
        ),
    ] {
        text.family(name, help, Kind::Counter).sample(&[], value);
    }
    crate::plugin_call_metrics::write(&mut text, calls);
    text.family(
        "quarry_worker_scans_active",
        "Splits being read for queries now.",
        Kind::Gauge,
    )
    .sample(&[], scans.active);
    for (name, help, value) in [
        (
            "quarry_worker_splits_total",
            "Splits scanned for queries.",
            scans.splits,
        ),
        (
            "quarry_worker_scan_rows_total",
            "Rows read by split scans.",
            scans.rows,
        ),
        (
            "quarry_worker_scan_bytes_total",
            "Bytes of Arrow data read by split scans.",
            scans.bytes,
        ),
    ] {
        text.family(name, help, Kind::Counter).sample(&[], value);
    }
    let mut failures = text.family(
        "quarry_worker_scan_failures_total",
        "Failed split scans, by kind of error.",
        Kind::Counter,
    );
    for (kind, count) in &scans.failures {
        failures.sample(&[("kind", *kind)], *count);
    }
    let mut limits = text.family(
        "quarry_sandbox_limits_hit_total",
        "Sandbox limits plugins ran into during scans.",
        Kind::Counter,
    );
    for (limit, count) in &scans.limits {
        limits.sample(&[("limit", *limit)], *count);
    }
    text.finish()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The whole text, byte for byte: what scrapers and the tests' parsers read.
    #[test]
    fn renders_the_exposition_text_byte_for_byte() {
        let cache = CacheStats {
            compiles: 2,
            disk_hits: 5,
            memory_hits: 9,
            disk_rejects: 1,
            disk_writes: 2,
        };
        let calls = CallGauges {
            calls_running: 1,
            io_threads: 2,
            calls_abandoned: 0,
        };
        let scans = ScanCounts {
            splits: 12,
            active: 3,
            rows: 6000,
            bytes: 123_456,
            failures: BTreeMap::from([("deadline", 2), ("connector", 1)]),
            limits: BTreeMap::from([("deadline", 2)]),
        };
        let text = render(7, 1, true, cache, calls, &scans);
        let expected = r#"# HELP quarry_worker_catalogs Catalogs held, by state.
# TYPE quarry_worker_catalogs gauge
quarry_worker_catalogs{state="loaded"} 7
quarry_worker_catalogs{state="failed"} 1
# HELP quarry_worker_ready 1 once the worker holds the desired state.
# TYPE quarry_worker_ready gauge
quarry_worker_ready 1
# HELP quarry_plugin_compiles_total Components compiled on this worker.
# TYPE quarry_plugin_compiles_total counter
quarry_plugin_compiles_total 2
# HELP quarry_plugin_artifact_loads_total Components loaded from a verified precompiled artifact.
# TYPE quarry_plugin_artifact_loads_total counter
quarry_plugin_artifact_loads_total 5
# HELP quarry_plugin_artifact_rejects_total Artifacts that failed verification and were replaced.
# TYPE quarry_plugin_artifact_rejects_total counter
quarry_plugin_artifact_rejects_total 1
# HELP quarry_plugin_calls_running Threads inside a call into a plugin now.
# TYPE quarry_plugin_calls_running gauge
quarry_plugin_calls_running 1
# HELP quarry_plugin_io_threads Threads of the plugin I/O runtime: one reactor, plus threads doing plugins' file I/O (an idle one exits after 2 s).
# TYPE quarry_plugin_io_threads gauge
quarry_plugin_io_threads 2
# HELP quarry_plugin_calls_abandoned_total Plugin calls given up at their deadline while waiting in a host call.
# TYPE quarry_plugin_calls_abandoned_total counter
quarry_plugin_calls_abandoned_total 0
# HELP quarry_worker_scans_active Splits being read for queries now.
# TYPE quarry_worker_scans_active gauge
quarry_worker_scans_active 3
# HELP quarry_worker_splits_total Splits scanned for queries.
# TYPE quarry_worker_splits_total counter
quarry_worker_splits_total 12
# HELP quarry_worker_scan_rows_total Rows read by split scans.
# TYPE quarry_worker_scan_rows_total counter
quarry_worker_scan_rows_total 6000
# HELP quarry_worker_scan_bytes_total Bytes of Arrow data read by split scans.
# TYPE quarry_worker_scan_bytes_total counter
quarry_worker_scan_bytes_total 123456
# HELP quarry_worker_scan_failures_total Failed split scans, by kind of error.
# TYPE quarry_worker_scan_failures_total counter
quarry_worker_scan_failures_total{kind="connector"} 1
quarry_worker_scan_failures_total{kind="deadline"} 2
# HELP quarry_sandbox_limits_hit_total Sandbox limits plugins ran into during scans.
# TYPE quarry_sandbox_limits_hit_total counter
quarry_sandbox_limits_hit_total{limit="deadline"} 2
"#;
        assert_eq!(text, expected);
    }
}
