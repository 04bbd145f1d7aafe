//! The plugin call gauges in Prometheus text, for the `/metrics` of both processes (each runs
//! plugins: the coordinator to plan, workers to scan).

use quarry_runtime::CallGauges;

use crate::prometheus_text::{Kind, PrometheusText};

/// Appends the gauges of the threads plugin calls hold, and the count of calls abandoned at
/// their deadline.
pub fn write(text: &mut PrometheusText, gauges: CallGauges) {
    let series: [(&str, Kind, &str, f64); 3] = [
        (
            "quarry_plugin_calls_running",
            Kind::Gauge,
            "Threads inside a call into a plugin now.",
            gauges.calls_running as f64,
        ),
        (
            "quarry_plugin_io_threads",
            Kind::Gauge,
            "Threads of the plugin I/O runtime: one reactor, plus threads doing plugins' file \
             I/O (an idle one exits after 2 s).",
            gauges.io_threads as f64,
        ),
        (
            "quarry_plugin_calls_abandoned_total",
            Kind::Counter,
            "Plugin calls given up at their deadline while waiting in a host call.",
            gauges.calls_abandoned as f64,
        ),
    ];
    for (name, kind, help, value) in series {
        text.family(name, help, kind).sample(&[], value);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_each_series_with_its_type() {
        let mut text = crate::prometheus_text::PrometheusText::new();
        super::write(
            &mut text,
            quarry_runtime::CallGauges {
                calls_running: 2,
                io_threads: 3,
                calls_abandoned: 4,
            },
        );
        let out = text.finish();
        assert!(
            out.contains(
                "# TYPE quarry_plugin_calls_running gauge\nquarry_plugin_calls_running 2\n"
            )
        );
        assert!(out.contains("quarry_plugin_io_threads 3\n"));
        assert!(out.contains("# TYPE quarry_plugin_calls_abandoned_total counter\nquarry_plugin_calls_abandoned_total 4\n"));
    }
}
