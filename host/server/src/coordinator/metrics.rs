//! The coordinator's Prometheus metrics, written with [`PrometheusText`]: a handful of series do
//! not need a metrics framework (ADR 0026).
//!
//! Request counters are kept in memory per (route template, method, status) by a middleware;
//! catalog and plugin counts are read from the store when `/metrics` is scraped, so they are
//! right on every coordinator sharing the database.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use quarry_store::CatalogState;

use crate::coordinator::sql::query_metrics::{Outcome, QueryCounts};
use crate::coordinator::state::AppState;
use crate::coordinator::sync::sync_metrics::SyncCounts;
use crate::prometheus_text::{Kind, PrometheusText};

/// Counts HTTP requests by route template (`/v1/catalogs/{name}`, never the raw path, so the
/// series stay few), method and status.
#[derive(Clone, Debug, Default)]
pub struct HttpMetrics {
    requests: Arc<Mutex<BTreeMap<RequestKey, u64>>>,
}

/// Route template, method, status.
type RequestKey = (String, String, u16);

impl HttpMetrics {
    fn record(&self, route: String, method: String, status: u16) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((route, method, status)).or_insert(0) += 1;
        }
    }

    fn snapshot(&self) -> Vec<(RequestKey, u64)> {
        self.requests
            .lock()
            .map(|r| r.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }
}

/// Middleware that counts every request once its response is known.
pub async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    state
        .http_metrics()
        .record(route, method, response.status().as_u16());
    response
}

/// What the store says at scrape time; `None` when it could not be read.
#[derive(Debug, Default)]
pub struct StoreGauges {
    pub catalogs_by_state: BTreeMap<&'static str, u64>,
    pub plugins: u64,
    pub workers_by_state: BTreeMap<&'static str, u64>,
}

/// Reads the gauges from the store.
pub async fn store_gauges(state: &AppState) -> Result<StoreGauges, quarry_store::Error> {
    let store = state.store();
    let mut gauges = StoreGauges::default();
    for name in ["pending", "ready", "failed"] {
        gauges.catalogs_by_state.insert(name, 0);
    }
    for status in store.catalog_statuses().await? {
        let name = match status.state {
            CatalogState::Pending => "pending",
            CatalogState::Ready => "ready",
            CatalogState::Failed => "failed",
        };
        *gauges.catalogs_by_state.entry(name).or_insert(0) += 1;
    }
    gauges.plugins = u64::try_from(store.list_plugins().await?.len()).unwrap_or(u64::MAX);
    for worker in store.list_workers().await? {
        *gauges
            .workers_by_state
            .entry(worker.state.as_str())
            .or_insert(0) += 1;
    }
    Ok(gauges)
}

/// Renders the exposition text.
pub fn render(
    http: &HttpMetrics,
    gauges: Option<&StoreGauges>,
    sync: &SyncCounts,
    queries: &QueryCounts,
    plugin_calls: quarry_runtime::CallGauges,
) -> String {
    let mut text = PrometheusText::new();
    crate::plugin_call_metrics::write(&mut text, plugin_calls);
    text.family(
        "quarry_store_up",
        "Whether the catalog store answered this scrape.",
        Kind::Gauge,
    )
    .sample(&[], u8::from(gauges.is_some()));
    if let Some(gauges) = gauges {
        let mut catalogs = text.family(
            "quarry_catalogs",
            "Catalogs by derived status.",
            Kind::Gauge,
        );
        for (state, count) in &gauges.catalogs_by_state {
            catalogs.sample(&[("status", *state)], *count);
        }
        text.family(
            "quarry_plugins",
            "Uploaded plugins (name@version).",
            Kind::Gauge,
        )
        .sample(&[], gauges.plugins);
        let mut workers = text.family("quarry_workers", "Known workers by state.", Kind::Gauge);
        for (state, count) in &gauges.workers_by_state {
            workers.sample(&[("state", *state)], *count);
        }
    }
    text.family(
        "quarry_queries_running",
        "Statements whose results are being produced or sent.",
        Kind::Gauge,
    )
    .sample(&[], queries.running);
    let mut finished = text.family(
        "quarry_queries_total",
        "Finished statements by outcome, from every front end.",
        Kind::Counter,
    );
    for (outcome, count) in [
        (Outcome::Succeeded, queries.succeeded),
        (Outcome::Failed, queries.failed),
        (Outcome::Cancelled, queries.cancelled),
    ] {
        finished.sample(&[("outcome", outcome.as_str())], count);
    }
    for (name, help, to_coordinator, between_workers) in [
        (
            "quarry_stage_rows_moved_total",
            "Rows the stages of distributed queries sent on, by consumer: the coordinator \
             (the last stage's input) or a worker (the next stage).",
            queries.rows_to_coordinator,
            queries.rows_between_workers,
        ),
        (
            "quarry_stage_bytes_moved_total",
            "Bytes of Arrow Flight messages the stages of distributed queries sent on, by \
             consumer.",
            queries.bytes_to_coordinator,
            queries.bytes_between_workers,
        ),
    ] {
        text.family(name, help, Kind::Counter)
            .sample(&[("to", "coordinator")], to_coordinator)
            .sample(&[("to", "worker")], between_workers);
    }
    let counters: [(&str, &str, f64); 7] = [
        (
            "quarry_query_rows_total",
            "Rows returned to clients.",
            queries.rows as f64,
        ),
        (
            "quarry_sync_pushes_total",
            "Syncs that sent loads or unloads to a worker.",
            sync.syncs as f64,
        ),
        (
            "quarry_sync_catalogs_sent_total",
            "Catalog loads sent to workers.",
            sync.catalogs_sent as f64,
        ),
        (
            "quarry_sync_seconds_total",
            "Time spent in those syncs, first request to last answer (divide by pushes for \
             the mean sync latency).",
            sync.sync_seconds_total,
        ),
        (
            "quarry_sync_worker_call_failures_total",
            "Calls to workers that failed or timed out.",
            sync.worker_call_failures as f64,
        ),
        (
            "quarry_catalog_load_failures_total",
            "Catalog loads a worker reported failed.",
            sync.load_failures as f64,
        ),
        (
            "quarry_workers_marked_dead_total",
            "Workers marked dead for missing heartbeats.",
            sync.workers_marked_dead as f64,
        ),
    ];
    for (name, help, value) in counters {
        text.family(name, help, Kind::Counter).sample(&[], value);
    }
    let mut requests = text.family(
        "quarry_http_requests_total",
        "HTTP requests by route template, method and status.",
        Kind::Counter,
    );
    for ((route, method, status), count) in http.snapshot() {
        let status = status.to_string();
        requests.sample(
            &[
                ("route", route.as_str()),
                ("method", method.as_str()),
                ("status", status.as_str()),
            ],
            count,
        );
    }
    text.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges() {
        let http = HttpMetrics::default();
        http.record("/v1/catalogs".into(), "GET".into(), 200);
        http.record("/v1/catalogs".into(), "GET".into(), 200);
        let mut gauges = StoreGauges::default();
        gauges.catalogs_by_state.insert("ready", 2);
        gauges.plugins = 1;
        let sync = SyncCounts {
            syncs: 3,
            ..SyncCounts::default()
        };
        let queries = QueryCounts {
            running: 1,
            succeeded: 4,
            rows: 10,
            bytes_to_coordinator: 2048,
            ..QueryCounts::default()
        };
        let text = render(
            &http,
            Some(&gauges),
            &sync,
            &queries,
            quarry_runtime::CallGauges::default(),
        );
        assert!(text.contains("quarry_queries_running 1"), "{text}");
        assert!(
            text.contains("quarry_stage_bytes_moved_total{to=\"coordinator\"} 2048"),
            "{text}"
        );
        assert!(
            text.contains("quarry_queries_total{outcome=\"succeeded\"} 4"),
            "{text}"
        );
        assert!(
            text.contains("quarry_queries_total{outcome=\"cancelled\"} 0"),
            "{text}"
        );
        assert!(text.contains("quarry_query_rows_total 10"), "{text}");
        assert!(text.contains("quarry_sync_pushes_total 3"), "{text}");
        assert!(
            text.contains("quarry_catalogs{status=\"ready\"} 2"),
            "{text}"
        );
        assert!(text.contains("quarry_plugins 1"), "{text}");
        assert!(
            text.contains(
                "quarry_http_requests_total{route=\"/v1/catalogs\",method=\"GET\",status=\"200\"} 2"
            ),
            "{text}"
        );
    }

    /// The whole text, byte for byte: what scrapers, the tests and the benchmarks read.
    #[test]
    fn renders_the_exposition_text_byte_for_byte() {
        let http = HttpMetrics::default();
        http.record("/v1/catalogs".into(), "GET".into(), 200);
        http.record("/v1/catalogs".into(), "GET".into(), 200);
        http.record("/x\"y\\z\n".into(), "POST".into(), 404);
        let gauges = StoreGauges {
            catalogs_by_state: BTreeMap::from([("failed", 0), ("pending", 1), ("ready", 2)]),
            plugins: 3,
            workers_by_state: BTreeMap::from([("alive", 2), ("dead", 1)]),
        };
        let sync = SyncCounts {
            syncs: 3,
            catalogs_sent: 5,
            sync_seconds_total: 1.25,
            worker_call_failures: 1,
            load_failures: 2,
            workers_marked_dead: 0,
        };
        let queries = QueryCounts {
            running: 1,
            succeeded: 4,
            failed: 2,
            cancelled: 0,
            rows: 10,
            rows_to_coordinator: 7,
            bytes_to_coordinator: 2048,
            rows_between_workers: 8,
            bytes_between_workers: 4096,
        };
        let calls = quarry_runtime::CallGauges {
            calls_running: 2,
            io_threads: 3,
            calls_abandoned: 4,
        };
        let text = render(&http, Some(&gauges), &sync, &queries, calls);
        let expected = r#"# HELP quarry_plugin_calls_running Threads inside a call into a plugin now.
# TYPE quarry_plugin_calls_running gauge
quarry_plugin_calls_running 2
# HELP quarry_plugin_io_threads Threads of the plugin I/O runtime: one reactor, plus threads doing plugins' file I/O (an idle one exits after 2 s).
# TYPE quarry_plugin_io_threads gauge
quarry_plugin_io_threads 3
# HELP quarry_plugin_calls_abandoned_total Plugin calls given up at their deadline while waiting in a host call.
# TYPE quarry_plugin_calls_abandoned_total counter
quarry_plugin_calls_abandoned_total 4
# HELP quarry_store_up Whether the catalog store answered this scrape.
# TYPE quarry_store_up gauge
quarry_store_up 1
# HELP quarry_catalogs Catalogs by derived status.
# TYPE quarry_catalogs gauge
quarry_catalogs{status="failed"} 0
quarry_catalogs{status="pending"} 1
quarry_catalogs{status="ready"} 2
# HELP quarry_plugins Uploaded plugins (name@version).
# TYPE quarry_plugins gauge
quarry_plugins 3
# HELP quarry_workers Known workers by state.
# TYPE quarry_workers gauge
quarry_workers{state="alive"} 2
quarry_workers{state="dead"} 1
# HELP quarry_queries_running Statements whose results are being produced or sent.
# TYPE quarry_queries_running gauge
quarry_queries_running 1
# HELP quarry_queries_total Finished statements by outcome, from every front end.
# TYPE quarry_queries_total counter
quarry_queries_total{outcome="succeeded"} 4
quarry_queries_total{outcome="failed"} 2
quarry_queries_total{outcome="cancelled"} 0
# HELP quarry_stage_rows_moved_total Rows the stages of distributed queries sent on, by consumer: the coordinator (the last stage's input) or a worker (the next stage).
# TYPE quarry_stage_rows_moved_total counter
quarry_stage_rows_moved_total{to="coordinator"} 7
quarry_stage_rows_moved_total{to="worker"} 8
# HELP quarry_stage_bytes_moved_total Bytes of Arrow Flight messages the stages of distributed queries sent on, by consumer.
# TYPE quarry_stage_bytes_moved_total counter
quarry_stage_bytes_moved_total{to="coordinator"} 2048
quarry_stage_bytes_moved_total{to="worker"} 4096
# HELP quarry_query_rows_total Rows returned to clients.
# TYPE quarry_query_rows_total counter
quarry_query_rows_total 10
# HELP quarry_sync_pushes_total Syncs that sent loads or unloads to a worker.
# TYPE quarry_sync_pushes_total counter
quarry_sync_pushes_total 3
# HELP quarry_sync_catalogs_sent_total Catalog loads sent to workers.
# TYPE quarry_sync_catalogs_sent_total counter
quarry_sync_catalogs_sent_total 5
# HELP quarry_sync_seconds_total Time spent in those syncs, first request to last answer (divide by pushes for the mean sync latency).
# TYPE quarry_sync_seconds_total counter
quarry_sync_seconds_total 1.25
# HELP quarry_sync_worker_call_failures_total Calls to workers that failed or timed out.
# TYPE quarry_sync_worker_call_failures_total counter
quarry_sync_worker_call_failures_total 1
# HELP quarry_catalog_load_failures_total Catalog loads a worker reported failed.
# TYPE quarry_catalog_load_failures_total counter
quarry_catalog_load_failures_total 2
# HELP quarry_workers_marked_dead_total Workers marked dead for missing heartbeats.
# TYPE quarry_workers_marked_dead_total counter
quarry_workers_marked_dead_total 0
# HELP quarry_http_requests_total HTTP requests by route template, method and status.
# TYPE quarry_http_requests_total counter
quarry_http_requests_total{route="/v1/catalogs",method="GET",status="200"} 2
quarry_http_requests_total{route="/x\"y\\z\n",method="POST",status="404"} 1
"#;
        assert_eq!(text, expected);

        // Without the store, only its gauge says so; the rest is the same.
        let text = render(&http, None, &sync, &queries, calls);
        assert!(
            text.contains("quarry_store_up 0\n# HELP quarry_queries_running"),
            "{text}"
        );
        assert!(!text.contains("quarry_catalogs"), "{text}");
    }
}
