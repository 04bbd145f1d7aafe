//! The pre-initialisation part of `quarry-bench runtime`: the tpch component loaded with and
//! without its `pre-initialize` snapshot (ADR 0020), side by side in one run: cold load time,
//! artifact size, a fresh instance's time to its first row, and the memory each warm instance
//! adds (resident and proportional).

use std::path::Path;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use quarry_runtime::{CatalogConfig, Connector, Runtime, RuntimeConfig, ScanRequest};

use crate::resident_memory::{proportional_bytes, resident_bytes};
use crate::runtime_bench::ms;

/// Fresh instances timed per setting.
const FRESH_INSTANCES: usize = 5;
/// Warm instances (one per catalog) whose memory is measured per setting.
const WARM_INSTANCES: usize = 4;

/// One setting's figures.
struct Figures {
    cold_load: Duration,
    artifact_bytes: u64,
    first_row: Duration,
    rss_per_instance: u64,
    pss_per_instance: u64,
}

/// Prints the table; `bytes` is the tpch component.
pub async fn compare(bytes: &[u8]) -> anyhow::Result<()> {
    let off = measure(bytes, false).await?;
    let on = measure(bytes, true).await?;
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / 1048576.0);
    println!();
    println!("pre-initialisation (tpch text pool in the snapshot)      off          on   on/off");
    let rows = [
        (
            "cold load (validate, [pre-initialise,] compile, spec)",
            ms(off.cold_load),
            ms(on.cold_load),
            on.cold_load.as_secs_f64() / off.cold_load.as_secs_f64(),
        ),
        (
            "artifact on disk",
            mib(off.artifact_bytes),
            mib(on.artifact_bytes),
            on.artifact_bytes as f64 / off.artifact_bytes as f64,
        ),
        (
            "fresh instance to first lineitem row (median)",
            ms(off.first_row),
            ms(on.first_row),
            on.first_row.as_secs_f64() / off.first_row.as_secs_f64(),
        ),
        (
            "resident memory per warm instance (VmRSS)",
            mib(off.rss_per_instance),
            mib(on.rss_per_instance),
            on.rss_per_instance as f64 / off.rss_per_instance.max(1) as f64,
        ),
        (
            "proportional memory per warm instance (Pss)",
            mib(off.pss_per_instance),
            mib(on.pss_per_instance),
            on.pss_per_instance as f64 / off.pss_per_instance.max(1) as f64,
        ),
    ];
    for (name, off, on, ratio) in rows {
        println!("  {name:<53} {off:>11} {on:>11} {ratio:>7.2}");
    }
    Ok(())
}

async fn measure(bytes: &[u8], pre_initialize: bool) -> anyhow::Result<Figures> {
    let cache = tempfile::tempdir()?;
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        pre_initialize,
        ..RuntimeConfig::default()
    })?;
    let t = Instant::now();
    let plugin = rt.load_plugin(bytes.to_vec()).await?;
    let cold_load = t.elapsed();
    anyhow::ensure!(plugin.info().pre_initialized == pre_initialize);
    let artifact_bytes = artifacts_size(cache.path())?;

    let catalog = rt.open_catalog(CatalogConfig::new("fresh", &plugin))?;
    let mut first_rows = Vec::new();
    for _ in 0..FRESH_INSTANCES {
        catalog.release_instances();
        let t = Instant::now();
        first_row(&catalog).await?;
        first_rows.push(t.elapsed());
    }
    drop(catalog);
    first_rows.sort();

    let (rss_before, pss_before) = (resident_bytes("self")?, proportional_bytes("self")?);
    let mut warm = Vec::new();
    for i in 0..WARM_INSTANCES {
        let catalog = rt.open_catalog(CatalogConfig::new(format!("warm{i}"), &plugin))?;
        first_row(&catalog).await?;
        warm.push(catalog);
    }
    let rss = resident_bytes("self")?.saturating_sub(rss_before);
    let pss = proportional_bytes("self")?.saturating_sub(pss_before);
    anyhow::ensure!(warm.iter().all(|c| c.warm_instances() == 1));
    drop(warm);
    Ok(Figures {
        cold_load,
        artifact_bytes,
        first_row: first_rows[first_rows.len() / 2],
        rss_per_instance: rss / WARM_INSTANCES as u64,
        pss_per_instance: pss / WARM_INSTANCES as u64,
    })
}

/// Plans and reads the first row of `tiny.lineitem` (`l_comment` draws on the text pool).
async fn first_row(catalog: &Connector) -> anyhow::Result<()> {
    let mut request = ScanRequest::table("tiny", "lineitem");
    request.limit = Some(1);
    let plan = catalog.plan_scan(&request).await?;
    let split = plan
        .splits
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("tpch planned no split for tiny.lineitem"))?;
    let batches: Vec<_> = catalog.scan(request, split).await?.try_collect().await?;
    anyhow::ensure!(batches.iter().map(|b| b.num_rows()).sum::<usize>() >= 1);
    Ok(())
}

/// Bytes of the `.cwasm` artifacts in a cache directory.
fn artifacts_size(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.path().extension().is_some_and(|e| e == "cwasm") {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}
