//! How a cluster benchmark runs: on a tokio runtime of its own, until it ends or Ctrl-C. Ctrl-C
//! drops the benchmark's future, and with it its clusters, which kills their processes.

use std::future::Future;

use anyhow::bail;

/// Runs `measure` to its end, or fails with "interrupted" at Ctrl-C.
pub fn run(measure: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tokio.block_on(async {
        tokio::select! {
            result = measure => result,
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        }
    })
}
