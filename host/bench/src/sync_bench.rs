//! `quarry-bench sync`: the benchmark of the catalog sync (issue 6), on real `quarry`
//! processes over HTTP on 127.0.0.1.
//!
//! - Propagation latency, create → every worker loaded, with the plugin already on the workers:
//!   catalogs created one at a time, `GET /v1/catalogs/{name}` polled every 2 ms until it is
//!   `ready` with every worker `loaded`.
//! - The same for a newly uploaded plugin: each round uploads tpch with one more custom section
//!   (new bytes, new sha256), so every worker must fetch it and load it before the catalog is
//!   ready.
//! - The baseline: the same as the first, on a coordinator started with `--no-push
//!   --sync-interval 1s`, which notices a change only at its periodic reconcile (the periodic
//!   WorkerCatalogSyncTask of the design we start from).
//! - 10,000 catalogs: the registration rate through the API (8 concurrent clients), the time
//!   until all are loaded everywhere, the workers' resident memory per idle catalog, and the
//!   time a worker killed with SIGKILL and started again takes to be ready with all of them.
//!
//! Each part runs on its own fresh cluster (coordinator + 4 workers), one after the other.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use quarry_testing::coordinator_client::{CoordinatorClient, PluginRef};
use quarry_testing::metrics_text::sample;
use quarry_testing::plugin_component::plugin_path_near_executable;
use quarry_testing::wasm_custom_section::with_custom_section;
use tokio::task::JoinSet;

use crate::bench_cluster::{BenchCluster, SyncMode};
use crate::bench_flags;
use crate::latency_summary::{LatencySummary, fmt_duration};
use crate::resident_memory::resident_bytes;

/// How often a catalog's status is polled while its propagation is timed.
const POLL: Duration = Duration::from_millis(2);
/// How long one catalog may take to be loaded everywhere before the run fails.
const CATALOG_TIMEOUT: Duration = Duration::from_secs(120);
/// How long 10,000 catalogs may take to be loaded everywhere (or a restarted worker to be ready).
const SCALE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Progress is reported on stderr every this many catalogs.
const PROGRESS_EVERY: usize = 1000;

pub const HELP: &str = "\
quarry-bench sync [FLAGS]
    Starts real `quarry coordinator` and `quarry worker` processes on 127.0.0.1 and measures:
    propagation latency create -> every worker loaded (plugin cached; plugin newly uploaded),
    the same against a periodic-sync baseline (--no-push --sync-interval 1s), and, with 10,000
    catalogs, the registration rate, time until all are loaded, worker memory per idle catalog
    and the time a restarted worker takes to be ready. Build first:
    `cargo build --release --workspace && cargo xtask build-plugins`.

    --quarry PATH            the quarry binary [default: `quarry` next to quarry-bench]
    --plugin PATH            the tpch component [default: target/plugins/tpch.wasm]
    --workers N              workers per cluster [default: 4]
    --latency-catalogs N     catalogs timed with the plugin cached [default: 100]
    --new-plugins N          catalogs timed with a newly uploaded plugin [default: 20]
    --baseline-catalogs N    catalogs timed on the periodic-sync baseline [default: 20]
    --catalogs N             catalogs of the scale part [default: 10000]
    --clients N              concurrent clients registering them [default: 8]
    --keep                   keep each cluster's directory (logs, SQLite database)
    A count of 0 skips that part.
";

struct Options {
    quarry: Option<PathBuf>,
    plugin: Option<PathBuf>,
    workers: usize,
    latency_catalogs: usize,
    new_plugins: usize,
    baseline_catalogs: usize,
    catalogs: usize,
    clients: usize,
    keep: bool,
}

fn parse_options(args: impl IntoIterator<Item = String>) -> anyhow::Result<Options> {
    let mut o = Options {
        quarry: None,
        plugin: None,
        workers: 4,
        latency_catalogs: 100,
        new_plugins: 20,
        baseline_catalogs: 20,
        catalogs: 10_000,
        clients: 8,
        keep: false,
    };
    bench_flags::parse(args, HELP, &["--keep"], |flag| {
        match flag.name() {
            "--keep" => o.keep = true,
            "--quarry" => o.quarry = Some(flag.path()?),
            "--plugin" => o.plugin = Some(flag.path()?),
            "--workers" => o.workers = flag.count()?,
            "--latency-catalogs" => o.latency_catalogs = flag.count()?,
            "--new-plugins" => o.new_plugins = flag.count()?,
            "--baseline-catalogs" => o.baseline_catalogs = flag.count()?,
            "--catalogs" => o.catalogs = flag.count()?,
            "--clients" => o.clients = flag.count()?,
            other => bail!("unknown flag {other} (see `quarry-bench sync --help`)"),
        }
        Ok(())
    })?;
    anyhow::ensure!(o.workers > 0, "--workers must be at least 1");
    anyhow::ensure!(o.clients > 0, "--clients must be at least 1");
    anyhow::ensure!(
        o.catalogs != 1,
        "--catalogs is 0 (skip that part) or at least 2"
    );
    Ok(o)
}

/// Runs the sync benchmark with the flags that follow `quarry-bench sync`.
pub fn run(args: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let o = parse_options(args)?;
    crate::interruptible::run(measure(&o))
}

/// Where the `quarry` binary is: `--quarry`, else next to this executable.
pub(crate) fn quarry_binary(quarry: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    let path = match quarry {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .context("finding quarry-bench's own path")?
            .parent()
            .context("quarry-bench's path has no directory")?
            .join("quarry"),
    };
    if !path.is_file() {
        bail!(
            "the quarry binary is not at {}: run `cargo build --release --workspace` first \
             (or pass --quarry PATH)",
            path.display()
        );
    }
    Ok(path)
}

/// The bytes of the component at `path`, or an error that says how to build the plugins.
pub(crate) fn read_component(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| {
        format!(
            "reading {} (run `cargo xtask build-plugins` first)",
            path.display()
        )
    })
}

/// Plugin `name`'s component: `--plugin`, else `target/plugins/<name>.wasm` (next to the
/// `release` directory this executable is in, else in this source tree).
pub(crate) fn plugin_path(plugin: Option<&PathBuf>, name: &str) -> PathBuf {
    plugin
        .cloned()
        .unwrap_or_else(|| plugin_path_near_executable(name))
}

async fn measure(o: &Options) -> anyhow::Result<()> {
    let quarry = quarry_binary(o.quarry.as_ref())?;
    let plugin = plugin_path(o.plugin.as_ref(), "tpch");
    let tpch = read_component(&plugin)?;
    println!(
        "quarry-bench sync: {}; plugin {} ({} bytes); {} workers per cluster",
        quarry.display(),
        plugin.display(),
        tpch.len(),
        o.workers
    );

    let mut report = Report::default();
    if o.latency_catalogs > 0 || o.new_plugins > 0 {
        let mut cluster =
            BenchCluster::start(&quarry, "push", o.workers, SyncMode::Push, o.keep).await?;
        let plugin = cluster.client.upload_plugin(tpch.clone()).await?;
        let mut created = Vec::new();
        if o.latency_catalogs > 0 {
            eprintln!(
                "push cluster: timing {} catalogs, plugin cached",
                o.latency_catalogs
            );
            let (latency, names) =
                propagation(&cluster, &plugin.reference(), "cached", o.latency_catalogs).await?;
            report.cached = Some(latency);
            created = names;
        }
        if o.new_plugins > 0 {
            eprintln!(
                "push cluster: timing {} catalogs, each of a newly uploaded plugin",
                o.new_plugins
            );
            for name in &created {
                cluster.client.delete_catalog(name).await?;
            }
            cluster.client.delete_plugin(&plugin).await?;
            report.new_plugin = Some(new_plugin_propagation(&cluster, &tpch, o.new_plugins).await?);
        }
        cluster.check_running()?;
        cluster.stop().await?;
    }

    if o.baseline_catalogs > 0 {
        let mut cluster = BenchCluster::start(
            &quarry,
            "baseline",
            o.workers,
            SyncMode::PeriodicOnly,
            o.keep,
        )
        .await?;
        eprintln!(
            "baseline cluster (--no-push --sync-interval 1s): timing {} catalogs",
            o.baseline_catalogs
        );
        let plugin = cluster.client.upload_plugin(tpch.clone()).await?;
        let (latency, _) = propagation(
            &cluster,
            &plugin.reference(),
            "baseline",
            o.baseline_catalogs,
        )
        .await?;
        report.baseline = Some(latency);
        cluster.check_running()?;
        cluster.stop().await?;
    }

    if o.catalogs > 0 {
        report.scale = Some(scale(&quarry, o, &tpch).await?);
    }

    report.print(o);
    Ok(())
}

/// Latencies of one propagation part.
struct Propagation {
    /// Create call sent → every worker loaded.
    total: LatencySummary,
    /// The create call alone (`POST /v1/catalogs` until its 201).
    create_call: LatencySummary,
}

/// Creates `n` catalogs of `plugin`, one at a time, timing each from the create call until it is
/// loaded on every worker; answers the latencies and the catalogs' names. A first, untimed
/// catalog puts the plugin on every worker, so that what is timed is the cached case.
async fn propagation(
    cluster: &BenchCluster,
    plugin: &str,
    prefix: &str,
    n: usize,
) -> anyhow::Result<(Propagation, Vec<String>)> {
    let mut totals = Vec::with_capacity(n);
    let mut calls = Vec::with_capacity(n);
    let mut names = Vec::with_capacity(n + 1);
    let warm_up = format!("{prefix}_warm_up");
    timed_create(cluster, &warm_up, plugin).await?;
    names.push(warm_up);
    for i in 0..n {
        let name = format!("{prefix}_{i:05}");
        let (total, call) = timed_create(cluster, &name, plugin).await?;
        totals.push(total);
        calls.push(call);
        names.push(name);
    }
    Ok((
        Propagation {
            total: LatencySummary::of(&totals).context("no samples")?,
            create_call: LatencySummary::of(&calls).context("no samples")?,
        },
        names,
    ))
}

/// Creates catalog `name` and polls it every 2 ms until every worker has it loaded: answers
/// (create sent → all loaded, create call alone).
async fn timed_create(
    cluster: &BenchCluster,
    name: &str,
    plugin: &str,
) -> anyhow::Result<(Duration, Duration)> {
    let workers = cluster.workers.len();
    let started = Instant::now();
    cluster.client.create_catalog(name, plugin).await?;
    let call = started.elapsed();
    loop {
        let status = cluster.client.catalog(name).await?;
        if status.loaded_on(workers) {
            return Ok((started.elapsed(), call));
        }
        if status.status == "failed" {
            bail!("catalog {name} failed: {}", status.errors());
        }
        if started.elapsed() > CATALOG_TIMEOUT {
            bail!(
                "catalog {name} is not loaded on all {workers} workers after {}s: {status:?}",
                CATALOG_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The new-plugin part's figures.
struct NewPlugin {
    total: LatencySummary,
    upload: LatencySummary,
    /// Sums over the workers of their counters' growth during the part.
    worker_compiles: f64,
    worker_artifact_loads: f64,
}

/// `n` rounds of: upload tpch with a distinct custom section, create a catalog of it (timed
/// until loaded everywhere), delete the catalog and the plugin.
async fn new_plugin_propagation(
    cluster: &BenchCluster,
    tpch: &[u8],
    n: usize,
) -> anyhow::Result<NewPlugin> {
    let compiles_before = worker_counter_sum(cluster, "quarry_plugin_compiles_total").await?;
    let loads_before = worker_counter_sum(cluster, "quarry_plugin_artifact_loads_total").await?;
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut totals = Vec::with_capacity(n);
    let mut uploads = Vec::with_capacity(n);
    let mut previous: Option<(String, PluginRef)> = None;
    let mut seen = std::collections::HashSet::new();
    for i in 0..n {
        if let Some((catalog, plugin)) = previous.take() {
            cluster.client.delete_catalog(&catalog).await?;
            cluster.client.delete_plugin(&plugin).await?;
        }
        let bytes = with_custom_section(
            tpch,
            "quarry-bench",
            format!("new plugin {i} of run {run}").as_bytes(),
        );
        let t = Instant::now();
        let plugin = cluster.client.upload_plugin(bytes).await?;
        uploads.push(t.elapsed());
        anyhow::ensure!(
            seen.insert(plugin.sha256.clone()),
            "upload {i} has the sha256 of an earlier one ({}): the custom section did not make it new",
            plugin.sha256
        );
        let name = format!("fresh_{i:05}");
        let (total, _) = timed_create(cluster, &name, &plugin.reference()).await?;
        totals.push(total);
        previous = Some((name, plugin));
    }
    if let Some((catalog, plugin)) = previous {
        cluster.client.delete_catalog(&catalog).await?;
        cluster.client.delete_plugin(&plugin).await?;
    }
    Ok(NewPlugin {
        total: LatencySummary::of(&totals).context("no samples")?,
        upload: LatencySummary::of(&uploads).context("no samples")?,
        worker_compiles: worker_counter_sum(cluster, "quarry_plugin_compiles_total").await?
            - compiles_before,
        worker_artifact_loads: worker_counter_sum(cluster, "quarry_plugin_artifact_loads_total")
            .await?
            - loads_before,
    })
}

/// The sum over the running workers of one of their `/metrics` counters (0 where absent).
async fn worker_counter_sum(cluster: &BenchCluster, series: &str) -> anyhow::Result<f64> {
    let mut sum = 0.0;
    for index in 0..cluster.workers.len() {
        sum += sample(&cluster.worker_metrics(index).await?, series).unwrap_or(0.0);
    }
    Ok(sum)
}

/// The scale part's figures.
struct Scale {
    catalogs: usize,
    /// Registered concurrently (the first catalog is created alone, before memory is measured).
    registered: usize,
    registration: Duration,
    /// First concurrent create → every catalog loaded on every worker.
    all_loaded: Duration,
    /// Resident bytes of each worker (id, before, after).
    memory: Vec<(String, u64, u64)>,
    restart_listening: Duration,
    restart_ready: Duration,
    restart_all_loaded: Duration,
    restart_compiles: f64,
}

const LOADED: &str = "quarry_worker_catalogs{state=\"loaded\"}";
const READY: &str = "quarry_catalogs{status=\"ready\"}";

async fn scale(quarry: &Path, o: &Options, tpch: &[u8]) -> anyhow::Result<Scale> {
    let n = o.catalogs;
    let mut cluster =
        BenchCluster::start(quarry, "scale", o.workers, SyncMode::Push, o.keep).await?;
    let plugin = cluster.client.upload_plugin(tpch.to_vec()).await?;
    let reference = plugin.reference();

    // The first catalog alone, so that the plugin's code is in every worker before memory is
    // measured: what follows is the cost of idle catalogs, not of the plugin.
    timed_create(&cluster, &catalog_name(0), &reference).await?;
    let mut memory = Vec::new();
    for worker in &cluster.workers {
        let pid = worker.running()?.pid();
        memory.push((worker.id.clone(), resident_bytes(&pid.to_string())?, 0));
    }

    eprintln!(
        "scale cluster: registering {} catalogs with {} clients",
        n - 1,
        o.clients
    );
    let started = Instant::now();
    register(&cluster.client, &reference, 1..n, o.clients).await?;
    let registration = started.elapsed();
    eprintln!(
        "registered {} catalogs in {}; waiting until all are loaded on every worker",
        n - 1,
        fmt_duration(registration)
    );
    wait_all_loaded(&cluster, n).await?;
    let all_loaded = started.elapsed();
    for (index, worker) in cluster.workers.iter().enumerate() {
        let pid = worker.running()?.pid();
        if let Some(entry) = memory.get_mut(index) {
            entry.2 = resident_bytes(&pid.to_string())?;
        }
    }

    eprintln!("scale cluster: kill -9 of worker w1, then starting it again");
    cluster.kill_worker(0).await?;
    let restarted = Instant::now();
    cluster.start_worker(0).await?;
    let restart_listening = restarted.elapsed();
    cluster.wait_worker_ready(0, SCALE_TIMEOUT).await?;
    let restart_ready = restarted.elapsed();
    loop {
        let loaded = sample(&cluster.worker_metrics(0).await?, LOADED).unwrap_or(0.0);
        if loaded >= n as f64 {
            break;
        }
        if restarted.elapsed() > SCALE_TIMEOUT {
            bail!("the restarted worker holds {loaded} of {n} catalogs after {SCALE_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let restart_all_loaded = restarted.elapsed();
    let restart_compiles = sample(
        &cluster.worker_metrics(0).await?,
        "quarry_plugin_compiles_total",
    )
    .unwrap_or(0.0);
    cluster.check_running()?;
    cluster.stop().await?;
    Ok(Scale {
        catalogs: n,
        registered: n - 1,
        registration,
        all_loaded,
        memory,
        restart_listening,
        restart_ready,
        restart_all_loaded,
        restart_compiles,
    })
}

fn catalog_name(index: usize) -> String {
    format!("scale_{index:05}")
}

/// Creates the catalogs `indexes` of `plugin` from `clients` concurrent clients, each taking the
/// next index as soon as its previous create is answered.
async fn register(
    client: &CoordinatorClient,
    plugin: &str,
    indexes: std::ops::Range<usize>,
    clients: usize,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicUsize::new(indexes.start));
    let done = Arc::new(AtomicUsize::new(0));
    let total = indexes.len();
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..clients {
        let (client, plugin, next, done) = (
            client.clone(),
            plugin.to_owned(),
            next.clone(),
            done.clone(),
        );
        let end = indexes.end;
        tasks.spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= end {
                    return Ok::<_, anyhow::Error>(());
                }
                client.create_catalog(&catalog_name(index), &plugin).await?;
                let count = done.fetch_add(1, Ordering::Relaxed) + 1;
                if count % PROGRESS_EVERY == 0 {
                    eprintln!(
                        "  registered {count}/{total} ({:.0} catalogs/s)",
                        count as f64 / started.elapsed().as_secs_f64()
                    );
                }
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        // The first failure ends the part; dropping the set aborts the other clients.
        result.context("a registering client panicked")??;
    }
    Ok(())
}

/// Polls the coordinator's and the workers' `/metrics` until the coordinator counts `n` ready
/// catalogs and every worker `n` loaded ones.
async fn wait_all_loaded(cluster: &BenchCluster, n: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut reported = 0;
    loop {
        let ready = sample(&cluster.client.metrics().await?, READY)
            .with_context(|| format!("the coordinator's /metrics has no {READY}"))?;
        let mut least_loaded = f64::INFINITY;
        for index in 0..cluster.workers.len() {
            let loaded = sample(&cluster.worker_metrics(index).await?, LOADED)
                .with_context(|| format!("worker #{index}'s /metrics has no {LOADED}"))?;
            least_loaded = least_loaded.min(loaded);
        }
        if ready >= n as f64 && least_loaded >= n as f64 {
            return Ok(());
        }
        let progress = (least_loaded.min(ready) as usize) / PROGRESS_EVERY;
        if progress > reported {
            reported = progress;
            eprintln!(
                "  {} ready on the coordinator; every worker holds at least {}",
                ready, least_loaded
            );
        }
        if started.elapsed() > SCALE_TIMEOUT {
            bail!(
                "after {SCALE_TIMEOUT:?}: {ready} of {n} ready, the least loaded worker holds {least_loaded}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Everything measured, printed at the end as one table.
#[derive(Default)]
struct Report {
    cached: Option<Propagation>,
    new_plugin: Option<NewPlugin>,
    baseline: Option<Propagation>,
    scale: Option<Scale>,
}

impl Report {
    fn print(&self, o: &Options) {
        let baseline_p50 = self.baseline.as_ref().map(|b| b.total.p50);
        let ratio = |figure: Duration| match baseline_p50 {
            Some(base) if !figure.is_zero() => {
                format!("{:.1}×", base.as_secs_f64() / figure.as_secs_f64())
            }
            _ => "—".to_owned(),
        };
        let workers = o.workers;
        let mut rows: Vec<[String; 3]> = Vec::new();
        if let Some(p) = &self.cached {
            rows.push([
                format!(
                    "propagation, plugin cached, push ({} catalogs, {workers} workers)",
                    p.total.samples
                ),
                summary(&p.total),
                format!("baseline p50 / this p50 = {}", ratio(p.total.p50)),
            ]);
            rows.push([
                "  of which the create call (POST /v1/catalogs → 201)".into(),
                summary(&p.create_call),
                "—".into(),
            ]);
        }
        if let Some(p) = &self.new_plugin {
            rows.push([
                format!(
                    "propagation, newly uploaded plugin, push ({} catalogs, {workers} workers)",
                    p.total.samples
                ),
                summary(&p.total),
                format!("baseline p50 / this p50 = {}", ratio(p.total.p50)),
            ]);
            rows.push([
                "  upload before it (POST /v1/plugins, not in the figure above)".into(),
                summary(&p.upload),
                "—".into(),
            ]);
            rows.push([
                "  compiles / artifact loads on the workers (sum)".into(),
                format!(
                    "{} / {} for {} new plugins × {workers} workers",
                    p.worker_compiles, p.worker_artifact_loads, p.total.samples
                ),
                "—".into(),
            ]);
        }
        if let Some(b) = &self.baseline {
            let p99 = match &self.cached {
                Some(p) if !p.total.p99.is_zero() => format!(
                    "1.0 (baseline / push at p99: {:.1}×)",
                    b.total.p99.as_secs_f64() / p.total.p99.as_secs_f64()
                ),
                _ => "1.0".into(),
            };
            rows.push([
                format!(
                    "baseline: periodic sync only, --no-push --sync-interval 1s ({} catalogs, {workers} workers)",
                    b.total.samples
                ),
                summary(&b.total),
                p99,
            ]);
        }
        if let Some(s) = &self.scale {
            let rate = s.registered as f64 / s.registration.as_secs_f64();
            rows.push([
                format!(
                    "registration through the API, {} catalogs, {} clients",
                    s.registered, o.clients
                ),
                format!(
                    "{rate:.0} catalogs/s ({} in all)",
                    fmt_duration(s.registration)
                ),
                "—".into(),
            ]);
            rows.push([
                format!(
                    "all {} catalogs loaded on every worker, from the first concurrent create",
                    s.catalogs
                ),
                format!(
                    "{} ({} after the last create was answered)",
                    fmt_duration(s.all_loaded),
                    fmt_duration(s.all_loaded.saturating_sub(s.registration))
                ),
                "—".into(),
            ]);
            let per_catalog: Vec<String> = s
                .memory
                .iter()
                .map(|(id, before, after)| {
                    format!(
                        "{id} {} ({:.1} → {:.1} MiB)",
                        bytes(after.saturating_sub(*before) / s.registered.max(1) as u64),
                        *before as f64 / 1048576.0,
                        *after as f64 / 1048576.0
                    )
                })
                .collect();
            rows.push([
                format!(
                    "worker resident memory per idle catalog ({} catalogs)",
                    s.registered
                ),
                per_catalog.join("; "),
                "—".into(),
            ]);
            rows.push([
                format!(
                    "restarted worker (kill -9, same id and cache) → /readyz 200 with {} catalogs",
                    s.catalogs
                ),
                format!(
                    "{} (listening after {}; all {} loaded at {}; {} compiles)",
                    fmt_duration(s.restart_ready),
                    fmt_duration(s.restart_listening),
                    s.catalogs,
                    fmt_duration(s.restart_all_loaded),
                    s.restart_compiles
                ),
                "—".into(),
            ]);
        }
        println!();
        println!("| measurement | figure | ratio against the baseline |");
        println!("| --- | --- | --- |");
        for [what, figure, ratio] in rows {
            println!("| {what} | {figure} | {ratio} |");
        }
    }
}

fn summary(s: &LatencySummary) -> String {
    format!(
        "p50 {} · p99 {} · max {}",
        fmt_duration(s.p50),
        fmt_duration(s.p99),
        fmt_duration(s.max)
    )
}

fn bytes(n: u64) -> String {
    if n >= 10 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}
