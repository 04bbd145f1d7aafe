//! Running an async connector call from one of DataFusion's synchronous catalog methods.
//!
//! `CatalogProvider::schema_names`, `SchemaProvider::table_names` and
//! `TableProvider::supports_filters_pushdown` are synchronous, while every connector call is
//! async (it runs on a tokio blocking thread under the catalog's deadline). Their answers are
//! cached per catalog generation, so this bridge runs at most once per question and generation:
//! the future is driven to completion on a short-lived helper thread through a tokio runtime
//! handle while the calling thread waits. On a multi-threaded runtime the wait goes through
//! `block_in_place`, so the runtime moves its other tasks off the waiting worker.

use std::future::Future;

use datafusion::error::{DataFusionError, Result};
use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `fut` to completion and returns its output. Uses the current tokio runtime, or
/// `fallback` when called from outside one.
pub(crate) fn block_on<F>(fallback: Option<&Handle>, fut: F) -> Result<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let handle = match Handle::try_current() {
        Ok(handle) => handle,
        Err(_) => fallback.cloned().ok_or_else(|| {
            DataFusionError::Execution(
                "connector metadata: no tokio runtime to run the connector call on".to_owned(),
            )
        })?,
    };
    let multi_thread = matches!(handle.runtime_flavor(), RuntimeFlavor::MultiThread);
    let run = || std::thread::scope(|s| s.spawn(|| handle.block_on(fut)).join());
    let joined = if multi_thread {
        tokio::task::block_in_place(run)
    } else {
        run()
    };
    joined.map_err(|_| {
        DataFusionError::Internal("connector metadata: the helper thread panicked".to_owned())
    })
}
