//! Waiting for a catalog to roll out: polls `GET /v1/catalogs/{name}`, prints one line per
//! worker change (`worker w1: loaded (generation 1)`), and ends when every live worker has the
//! generation loaded (ready), when one failed (with the workers' errors), or at the timeout.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::api_client::{ApiClient, segment};
use crate::api_types::{CatalogView, WorkerStatusView};

/// How often the catalog is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Where progress lines go: stdout when the result is a table, stderr when stdout is JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressSink {
    Stdout,
    Stderr,
}

impl ProgressSink {
    fn line(self, prefix: &str, text: &str) {
        match self {
            ProgressSink::Stdout => println!("{prefix}{text}"),
            ProgressSink::Stderr => eprintln!("{prefix}{text}"),
        }
    }
}

/// Waits until catalog `name` is ready at `generation` (or a newer one). Answers the final
/// catalog and its raw JSON; a failed catalog or the timeout is an error listing the workers'
/// errors.
pub async fn wait_ready(
    client: &ApiClient,
    name: &str,
    generation: i64,
    timeout: Duration,
    sink: ProgressSink,
    prefix: &str,
) -> Result<(CatalogView, Value)> {
    let path = format!("/v1/catalogs/{}", segment(name));
    let deadline = Instant::now() + timeout;
    let mut seen: BTreeMap<String, WorkerStatusView> = BTreeMap::new();
    let mut said_no_workers = false;
    loop {
        let body = client
            .get_optional(&path)
            .await?
            .ok_or_else(|| anyhow!("catalog \"{name}\" was deleted while waiting for it"))?;
        let catalog: CatalogView = serde_json::from_value(body.clone())
            .context("the catalog is not what this quarry reads")?;
        for worker in &catalog.workers {
            if seen.get(&worker.worker) != Some(worker) {
                sink.line(prefix, &describe_worker(worker));
                seen.insert(worker.worker.clone(), worker.clone());
            }
        }
        if catalog.workers.is_empty() && !said_no_workers {
            sink.line(
                prefix,
                "no live worker yet: waiting for workers to register",
            );
            said_no_workers = true;
        }
        if catalog.generation >= generation {
            match catalog.status.as_str() {
                "ready" => {
                    sink.line(
                        prefix,
                        &format!(
                            "catalog {name}: ready on {} worker{} (generation {})",
                            catalog.workers.len(),
                            if catalog.workers.len() == 1 { "" } else { "s" },
                            catalog.generation
                        ),
                    );
                    return Ok((catalog, body));
                }
                "failed" => bail!("{}", describe_failure(&catalog)),
                _ => {}
            }
        }
        if Instant::now() >= deadline {
            let mut message = format!(
                "timed out after {}s waiting for catalog \"{name}\" to be ready (status {}, \
                 generation {})",
                timeout.as_secs(),
                catalog.status,
                catalog.generation
            );
            for worker in &catalog.workers {
                let _ = write!(message, "\n  {}", describe_worker(worker));
            }
            bail!("{message}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// `worker w1: loaded (generation 1)`, with the error when there is one.
pub fn describe_worker(worker: &WorkerStatusView) -> String {
    let mut line = format!("worker {}: {}", worker.worker, worker.state);
    if let Some(generation) = worker.generation {
        let _ = write!(line, " (generation {generation})");
    }
    if let Some(error) = &worker.error {
        let _ = write!(line, ": {error}");
    }
    line
}

/// What a failed catalog's error says: which workers failed and why.
pub fn describe_failure(catalog: &CatalogView) -> String {
    let failed = catalog.errors.len();
    let mut message = format!(
        "catalog \"{}\" failed to load on {failed} of {} worker{} (generation {})",
        catalog.name,
        catalog.workers.len(),
        if catalog.workers.len() == 1 { "" } else { "s" },
        catalog.generation
    );
    for error in &catalog.errors {
        let _ = write!(message, "\n  worker {}: {}", error.worker, error.error);
    }
    message
}
