//! The plugin call gauges in Prometheus text, for the `/metrics` of both processes (each runs
//! plugins: the coordinator to plan, workers to scan).

use std::fmt::Write as _;

use quarry_runtime::CallGauges;

/// Appends the gauges of the threads plugin calls hold, and the count of calls abandoned at
/// their deadline.
pub fn write(out: &mut String, gauges: CallGauges) {
    let series: [(&str, &str, &str, f64); 3] = [
        (
            "quarry_plugin_calls_running",
            "gauge",
            "Threads inside a call into a plugin now.",
            gauges.calls_running as f64,
        ),
        (
            "quarry_plugin_io_threads",
            "gauge",
            "Threads of the plugin I/O runtime: one reactor, plus threads doing plugins' file \
             I/O (an idle one exits after 2 s).",
            gauges.io_threads as f64,
        ),
        (
            "quarry_plugin_calls_abandoned_total",
            "counter",
            "Plugin calls given up at their deadline while waiting in a host call.",
            gauges.calls_abandoned as f64,
        ),
    ];
    for (name, kind, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {value}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_each_series_with_its_type() {
        let mut out = String::new();
        super::write(
            &mut out,
            quarry_runtime::CallGauges {
                calls_running: 2,
                io_threads: 3,
                calls_abandoned: 4,
            },
        );
        assert!(
            out.contains(
                "# TYPE quarry_plugin_calls_running gauge\nquarry_plugin_calls_running 2\n"
            )
        );
        assert!(out.contains("quarry_plugin_io_threads 3\n"));
        assert!(out.contains("# TYPE quarry_plugin_calls_abandoned_total counter\nquarry_plugin_calls_abandoned_total 4\n"));
    }
}
