//! `quarry-bench runtime`: measures the host runtime against the work it wraps, in process.
//!
//! - Scan throughput of tpch `lineitem` through the sandboxed tpch component, against the same
//!   generator (tpchgen + tpchgen-arrow) compiled natively into this binary, in the same run,
//!   alternating, on one thread each: native generation alone, and native generation plus the
//!   Arrow IPC encode/decode round trip the component boundary costs.
//! - Cold compile, precompiled-artifact load and instantiate times of the component.
//! - Pre-initialisation off and on: load time, artifact size, a fresh instance's first row and
//!   the memory per warm instance ([`crate::pre_initialization_figures`]).
//! - Resident memory of 1,000 loaded, idle catalogs of one plugin.
//!
//! Run: `cargo build --release --workspace && target/release/quarry-bench runtime
//! [--plugin target/plugins/tpch.wasm] [--schema sf1] [--rounds 2] [--splits 8]
//! [--catalogs 1000]`. Figures go to docs/benchmarks.md.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arrow_array::RecordBatch;
use futures::TryStreamExt;
use quarry_runtime::{CatalogConfig, Plugin, Runtime, RuntimeConfig, ScanRequest};
use tpchgen::generators::LineItemGenerator;
use tpchgen_arrow::LineItemArrow;

use crate::bench_flags;
use crate::resident_memory::resident_bytes;
use crate::sync_bench::read_component;

pub const HELP: &str = "\
quarry-bench runtime [FLAGS]
    The host runtime, in this process: tpch lineitem scanned through the sandboxed component
    against the same generator compiled natively (alone, and with the Arrow IPC round trip),
    cold compile / artifact load / instantiate times, resident memory of idle catalogs,
    and pre-initialisation off against on (load time, artifact size, a fresh instance's first
    row, memory per warm instance).

    --plugin PATH            the tpch component [default: target/plugins/tpch.wasm]
    --schema NAME            tiny or sfN [default: sf1]
    --rounds N               paired throughput rounds [default: 2]
    --splits N               splits of the scanned table [default: 8]
    --catalogs N             idle catalogs opened [default: 1000]
";

const BATCH_ROWS: usize = 8192;

struct Options {
    plugin: PathBuf,
    schema: String,
    rounds: usize,
    splits: u32,
    catalogs: usize,
}

fn parse_options(args: impl IntoIterator<Item = String>) -> anyhow::Result<Options> {
    let mut o = Options {
        plugin: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins/tpch.wasm"),
        schema: "sf1".into(),
        rounds: 2,
        splits: 8,
        catalogs: 1000,
    };
    bench_flags::parse(args, HELP, &[], |flag| {
        match flag.name() {
            "--plugin" => o.plugin = flag.path()?,
            "--schema" => o.schema = flag.text()?,
            "--rounds" => o.rounds = flag.positive()?,
            "--splits" => o.splits = u32::try_from(flag.positive()?)?,
            "--catalogs" => o.catalogs = flag.count()?,
            other => bail!("unknown flag {other} (see `quarry-bench runtime --help`)"),
        }
        Ok(())
    })?;
    Ok(o)
}

/// Runs the runtime benchmark with the flags that follow `quarry-bench runtime`.
pub fn run(args: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let o = parse_options(args)?;
    let bytes = read_component(&o.plugin)?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tokio.block_on(measure(&o, bytes))
}

async fn measure(o: &Options, bytes: Vec<u8>) -> anyhow::Result<()> {
    println!(
        "quarry-bench: {} ({} bytes)",
        o.plugin.display(),
        bytes.len()
    );

    // --- Load paths -------------------------------------------------------------------
    let cache = tempfile::tempdir()?;
    let config = || RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..RuntimeConfig::default()
    };
    let rt = Runtime::new(config())?;
    println!("pooling allocator: {}", rt.is_pooling());
    let t = Instant::now();
    let plugin = rt.load_plugin(bytes.clone()).await?;
    let cold = t.elapsed();
    anyhow::ensure!(rt.cache_stats().compiles == 1, "expected a compile");

    let mut artifact_loads = Vec::new();
    for _ in 0..5 {
        let rt2 = Runtime::new(config())?;
        let t = Instant::now();
        rt2.load_plugin(bytes.clone()).await?;
        artifact_loads.push(t.elapsed());
        anyhow::ensure!(rt2.cache_stats().disk_hits == 1, "expected a disk hit");
    }

    // Idle catalogs first, before scans leave freed memory for the allocator to reuse.
    idle_catalogs(&rt, &plugin, o.catalogs)?;

    let catalog = rt.open_catalog(CatalogConfig::new("bench", &plugin))?;
    let mut instantiations = Vec::new();
    for _ in 0..200 {
        catalog.release_instances();
        let t = Instant::now();
        catalog.warm_up().await?;
        instantiations.push(t.elapsed());
    }
    println!();
    println!(
        "cold load (validate + compile + link + spec):  {}",
        ms(cold)
    );
    println!(
        "artifact load (verify + deserialize + link + spec), median of 5: {}",
        ms(median(&mut artifact_loads))
    );
    println!(
        "instantiate + open catalog, median of 200:      {}",
        us(median(&mut instantiations))
    );

    crate::pre_initialization_figures::compare(&bytes).await?;

    // --- Throughput ---------------------------------------------------------------------
    let sf = bench_flags::tpch_scale(&o.schema)?;
    let tpch = rt.open_catalog(
        CatalogConfig::new("tpch", &plugin).property("splits", o.splits.to_string()),
    )?;
    let request = ScanRequest::table(&o.schema, "lineitem");
    // Warm both sides before anything is timed: the component's instance (its text pool comes
    // from the pre-initialised snapshot) and the native text pool (built once per process).
    let rss_before_warm_up = resident_bytes("self")?;
    let t = Instant::now();
    let mut warm = ScanRequest::table("tiny", "lineitem");
    warm.limit = Some(1);
    let plan = tpch.plan_scan(&warm).await?;
    if let Some(split) = plan.splits.into_iter().next() {
        let _ = tpch
            .scan(warm, split)
            .await?
            .try_collect::<Vec<_>>()
            .await?;
    }
    let wasm_warmup = t.elapsed();
    let warm_instance_rss = resident_bytes("self")?.saturating_sub(rss_before_warm_up);
    let t = Instant::now();
    let _ = native_rows(0.01, 1, 1, false)?;
    let native_warmup = t.elapsed();
    println!();
    println!(
        "first row: component {} (fresh instance, pre-initialised), native {} (text pool)",
        ms(wasm_warmup),
        ms(native_warmup)
    );
    println!(
        "resident memory a warm tpch instance adds:     {} MiB",
        warm_instance_rss >> 20
    );

    let (mut best_wasm, mut best_native, mut best_native_ipc) = (0f64, 0f64, 0f64);
    for round in 1..=o.rounds {
        let t = Instant::now();
        let rows = wasm_rows(&tpch, &request).await?;
        let wasm = rows as f64 / t.elapsed().as_secs_f64();

        let t = Instant::now();
        let native_count = native_rows(sf, 1, o.splits, false)?;
        let native = native_count as f64 / t.elapsed().as_secs_f64();

        let t = Instant::now();
        let ipc_count = native_rows(sf, 1, o.splits, true)?;
        let native_ipc = ipc_count as f64 / t.elapsed().as_secs_f64();

        anyhow::ensure!(
            rows == native_count && rows == ipc_count,
            "row counts differ: wasm {rows}, native {native_count}, native+ipc {ipc_count}"
        );
        println!(
            "round {round}: {rows} rows; sandboxed {} rows/s, native {} rows/s, native+IPC {} rows/s",
            mrows(wasm),
            mrows(native),
            mrows(native_ipc)
        );
        best_wasm = best_wasm.max(wasm);
        best_native = best_native.max(native);
        best_native_ipc = best_native_ipc.max(native_ipc);
    }
    println!();
    println!(
        "best of {}: sandboxed {} rows/s; native {} rows/s; native+IPC {} rows/s",
        o.rounds,
        mrows(best_wasm),
        mrows(best_native),
        mrows(best_native_ipc)
    );
    println!(
        "ratio sandboxed / native generation:           {:.2}",
        best_wasm / best_native
    );
    println!(
        "ratio sandboxed / native generation + IPC:     {:.2}",
        best_wasm / best_native_ipc
    );

    drop(tpch);
    drop(catalog);
    Ok(())
}

/// Reads every split of `request`, one after the other, in one instance.
async fn wasm_rows(
    tpch: &quarry_runtime::Connector,
    request: &ScanRequest,
) -> anyhow::Result<usize> {
    let plan = tpch.plan_scan(request).await?;
    let mut rows = 0;
    for split in plan.splits {
        let mut stream = tpch.scan(request.clone(), split).await?;
        while let Some(batch) = stream.try_next().await? {
            rows += batch.num_rows();
        }
    }
    Ok(rows)
}

/// Generates lineitem natively, part by part; with `ipc`, also encodes each batch as an Arrow
/// IPC stream and decodes it again (what crossing the component boundary costs).
fn native_rows(sf: f64, first_part: u32, parts: u32, ipc: bool) -> anyhow::Result<usize> {
    let mut rows = 0;
    for part in first_part..=parts {
        let generator = LineItemGenerator::new(sf, i32::try_from(part)?, i32::try_from(parts)?);
        for batch in LineItemArrow::new(generator).with_batch_size(BATCH_ROWS) {
            let batch = batch?;
            let batch = if ipc { ipc_round_trip(&batch)? } else { batch };
            rows += batch.num_rows();
        }
    }
    Ok(rows)
}

fn ipc_round_trip(batch: &RecordBatch) -> anyhow::Result<RecordBatch> {
    let mut bytes = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut bytes, &batch.schema())?;
        w.write(batch)?;
        w.finish()?;
    }
    let mut reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)?;
    reader.next().context("no batch")?.map_err(Into::into)
}

fn idle_catalogs(rt: &Runtime, plugin: &Plugin, n: usize) -> anyhow::Result<()> {
    let before = resident_bytes("self")?;
    let catalogs = (0..n)
        .map(|i| {
            rt.open_catalog(CatalogConfig::new(format!("idle{i}"), plugin).property("splits", "4"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let after = resident_bytes("self")?;
    anyhow::ensure!(catalogs.iter().all(|c| c.warm_instances() == 0));
    let delta = after.saturating_sub(before);
    println!(
        "{n} idle catalogs: resident +{:.1} MiB ({} bytes per catalog; RSS {:.1} MiB)",
        delta as f64 / 1048576.0,
        delta / n.max(1) as u64,
        after as f64 / 1048576.0
    );
    Ok(())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A duration in milliseconds, one decimal.
pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn mrows(r: f64) -> String {
    format!("{:.3} M", r / 1e6)
}
