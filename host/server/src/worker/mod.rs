//! The worker: holds every catalog the coordinator assigns it and runs their plugins in the
//! sandbox.
//!
//! Where to look: [`config`] for what it is configured with; [`serve`] for start-up and
//! shutdown; [`membership`] for registering and heartbeats; [`api`] for the endpoint the
//! coordinator calls; [`state`] for applying a sync; [`catalog_loader`] for loading one
//! catalog; [`plugin_fetch`] for getting a plugin's component and compiled artifact;
//! [`held_catalogs`] for what is held; [`coordinator_link`] for the calls to the coordinator;
//! [`execution_service`] for the query stages it runs (the distributed worker service over
//! gRPC), [`held_scan_sources`] for reading a scan's splits through the held connectors, and
//! [`scan_metrics`] for what scans did, [`metrics`] for the `/metrics` text.
//!
//! The worker uses the layer it shares with the coordinator (the crate-level modules:
//! [`sync_protocol`](crate::sync_protocol), [`catalog_open`](crate::catalog_open),
//! [`api_error`](crate::api_error), …) and nothing of the coordinator's or of its catalog
//! store's: the test below fails on any such import.

pub mod api;
pub mod catalog_loader;
pub mod config;
pub mod coordinator_link;
pub mod execution_service;
pub mod held_catalogs;
pub mod held_scan_sources;
pub mod membership;
pub mod metrics;
pub mod plugin_fetch;
pub mod scan_metrics;
pub mod serve;
pub mod state;

pub use config::{Worker, WorkerConfigError};
pub use serve::{ServeError, serve, serve_on};
pub use state::WorkerState;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// What the worker's code must not name: the coordinator's modules and the store crate
    /// (spelled in pieces, so that this file does not name them).
    const FORBIDDEN: [&str; 2] = [concat!("coordinator", "::"), concat!("quarry", "_store")];

    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn the_worker_imports_neither_the_coordinator_nor_the_store() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        rust_files(&root.join("src/worker"), &mut files);
        assert!(
            files.len() > 5,
            "no worker sources under {}",
            root.display()
        );
        let mut offending = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                if FORBIDDEN.iter().any(|name| line.contains(name)) {
                    offending.push(format!(
                        "{}:{}: {}",
                        file.strip_prefix(root).unwrap_or(&file).display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
        assert!(
            offending.is_empty(),
            "the worker uses only the shared layer, not the coordinator or the store:\n{}",
            offending.join("\n")
        );
    }
}
