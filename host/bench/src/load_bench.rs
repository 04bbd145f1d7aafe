//! `quarry-bench load`: many concurrent clients on a real cluster (a coordinator and 2 workers),
//! mixing short and long queries over two catalogs, for a fixed time; then the same load with a
//! hostile catalog flooded at the same time. Reports queries/s, p50 and p99, failures and wrong
//! answers (goal: none), the peak resident memory of each process, and the ratio of the loaded
//! p99 with the flood to the quiet one (goal: at most 3).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use quarry_testing::CoordinatorClient;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::bench_cluster::{BenchCluster, SyncMode};
use crate::bench_flags;
use crate::latency_summary::{LatencySummary, fmt_duration};
use crate::resident_memory::resident_bytes;
use crate::sync_bench::{plugin_path, quarry_binary, read_component};

pub const HELP: &str = "\
quarry-bench load [FLAGS]
    N concurrent clients mixing short and long queries over two catalogs (tpch, and testkit's
    well-behaved `numbers`) on a coordinator and 2 workers, for a fixed time; then the same with
    a hostile testkit catalog flooded by as many clients again. Prints queries/s, p50, p99,
    failures, wrong answers and each process's peak resident memory, and the flooded p99 over
    the quiet p99. Build first: `cargo build --release --workspace && cargo xtask build-plugins`.

    --quarry PATH            the quarry binary [default: `quarry` next to quarry-bench]
    --plugins DIR            where tpch.wasm and testkit.wasm are [default: target/plugins]
    --clients LIST           comma-separated client counts, one run each [default: 16,64]
    --seconds N              length of each phase [default: 60]
    --hostile BEHAVIOUR      testkit behaviour of the flooded catalog [default: clock-sleep]
    --call-timeout DURATION  the sandbox call timeout of every process [default: 5s]
";

/// The mix: `(catalog, sql)`; each client cycles through it, three short queries to one long.
const MIX: [(&str, &str); 4] = [
    ("tpch", "SELECT count(*) AS n FROM tpch.tiny.nation"),
    ("numbers", "SELECT count(*) AS n FROM numbers.main.numbers"),
    ("tpch", "SELECT count(*) AS n FROM tpch.tiny.orders"),
    (
        "tpch",
        "SELECT l_returnflag, sum(l_quantity) AS q FROM tpch.tiny.lineitem \
         GROUP BY l_returnflag ORDER BY l_returnflag",
    ),
];

const HOSTILE_SQL: &str = "SELECT count(*) AS n FROM hostile.main.numbers";

struct Options {
    quarry: Option<PathBuf>,
    plugins: Option<PathBuf>,
    clients: Vec<usize>,
    seconds: u64,
    hostile: String,
    call_timeout: String,
}

fn parse_options(args: impl IntoIterator<Item = String>) -> anyhow::Result<Options> {
    let mut o = Options {
        quarry: None,
        plugins: None,
        clients: vec![16, 64],
        seconds: 60,
        hostile: "clock-sleep".to_owned(),
        call_timeout: "5s".to_owned(),
    };
    bench_flags::parse(args, HELP, &[], |flag| {
        match flag.name() {
            "--quarry" => o.quarry = Some(flag.path()?),
            "--plugins" => o.plugins = Some(flag.path()?),
            "--seconds" => o.seconds = flag.positive()? as u64,
            "--hostile" => o.hostile = flag.text()?,
            "--call-timeout" => o.call_timeout = flag.text()?,
            "--clients" => {
                o.clients = flag
                    .text()?
                    .split(',')
                    .map(|n| n.trim().parse().context("--clients: not a count"))
                    .collect::<anyhow::Result<_>>()?;
            }
            other => bail!("unknown flag {other:?}: run `quarry-bench load --help`"),
        }
        Ok(())
    })?;
    Ok(o)
}

pub fn run(args: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let o = parse_options(args)?;
    crate::interruptible::run(measure(&o))
}

/// What one phase measured.
#[derive(Default)]
struct Phase {
    latencies: Vec<Duration>,
    failures: BTreeMap<String, usize>,
    wrong: usize,
    elapsed: Duration,
    /// Answers that came within the phase.
    answered_in_time: usize,
    /// Highest resident memory seen per process.
    peak_rss: BTreeMap<String, u64>,
    hostile_answers: BTreeMap<String, usize>,
}

async fn measure(o: &Options) -> anyhow::Result<()> {
    let quarry = quarry_binary(o.quarry.as_ref())?;
    let tpch_path = plugin_path(
        o.plugins.as_ref().map(|d| d.join("tpch.wasm")).as_ref(),
        "tpch",
    );
    let testkit_path = tpch_path.with_file_name("testkit.wasm");
    let (tpch, testkit) = (read_component(&tpch_path)?, read_component(&testkit_path)?);
    println!(
        "quarry-bench load: {}; clients {:?}; {} s per phase; hostile catalog: testkit {}; \
         call timeout {}",
        quarry.display(),
        o.clients,
        o.seconds,
        o.hostile,
        o.call_timeout
    );
    let cluster = BenchCluster::start_with_env(
        &quarry,
        "load",
        2,
        SyncMode::Push,
        &[("QUARRY_SANDBOX_CALL_TIMEOUT", o.call_timeout.as_str())],
    )
    .await?;
    let client = &cluster.client;
    let tpch = client.upload_plugin(tpch).await?.reference();
    let testkit = client.upload_plugin(testkit).await?.reference();
    client
        .create_catalog_with("tpch", &tpch, &[("splits", "2")])
        .await?;
    client
        .create_catalog_with(
            "numbers",
            &testkit,
            &[("behaviour", "normal"), ("rows", "100000")],
        )
        .await?;
    client
        .create_catalog_with(
            "hostile",
            &testkit,
            &[("behaviour", &o.hostile), ("stall_in", "next")],
        )
        .await?;
    let expected = expected_answers(client).await?;

    let mut rows = Vec::new();
    for &clients in &o.clients {
        let quiet = phase(&cluster, &expected, clients, 0, o.seconds).await?;
        let flooded = phase(&cluster, &expected, clients, clients, o.seconds).await?;
        rows.push((clients, quiet, flooded));
    }
    cluster.stop().await?;

    println!();
    println!(
        "| clients | phase | queries/s | p50 | p99 | failures | wrong answers | peak RSS (MiB) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (clients, quiet, flooded) in &rows {
        for (name, p) in [("quiet", quiet), ("with hostile flood", flooded)] {
            let summary = LatencySummary::of(&p.latencies);
            let failures: usize = p.failures.values().sum();
            let rss: Vec<String> = p
                .peak_rss
                .iter()
                .map(|(process, bytes)| format!("{process} {}", bytes >> 20))
                .collect();
            println!(
                "| {clients} | {name} | {:.1} | {} | {} | {failures} | {} | {} |",
                p.answered_in_time as f64 / p.elapsed.as_secs_f64(),
                summary.map_or("-".into(), |s| fmt_duration(s.p50)),
                summary.map_or("-".into(), |s| fmt_duration(s.p99)),
                p.wrong,
                rss.join(", ")
            );
        }
    }
    println!();
    for (clients, quiet, flooded) in &rows {
        let (Some(q), Some(f)) = (
            LatencySummary::of(&quiet.latencies),
            LatencySummary::of(&flooded.latencies),
        ) else {
            continue;
        };
        println!(
            "{clients} clients: p99 with the flood / quiet p99 = {:.2} (goal ≤ 3)",
            f.p99.as_secs_f64() / q.p99.as_secs_f64()
        );
        for (phase, p) in [("quiet", quiet), ("flooded", flooded)] {
            for (reason, n) in &p.failures {
                println!("  {phase} failure ×{n}: {reason}");
            }
        }
        for (answer, n) in &flooded.hostile_answers {
            println!("  hostile query answers ×{n}: {answer}");
        }
    }
    Ok(())
}

/// Each query of the mix run once, alone: the answer every later run must give.
async fn expected_answers(client: &CoordinatorClient) -> anyhow::Result<Vec<Value>> {
    let started = Instant::now();
    loop {
        match client.statement(MIX[0].1).await {
            Ok(_) => break,
            Err(e) if started.elapsed() < Duration::from_secs(120) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let _ = e;
            }
            Err(e) => return Err(e.context("the catalogs never became queryable")),
        }
    }
    let mut answers = Vec::new();
    for (_, sql) in MIX {
        answers.push(client.statement(sql).await?["rows"].clone());
    }
    Ok(answers)
}

/// `clients` clients run the mix and `flooders` clients the hostile query, for `seconds`.
async fn phase(
    cluster: &BenchCluster,
    expected: &[Value],
    clients: usize,
    flooders: usize,
    seconds: u64,
) -> anyhow::Result<Phase> {
    let stop = Arc::new(AtomicBool::new(false));
    let result = Arc::new(Mutex::new(Phase::default()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..clients {
        let (client, stop, result) = (cluster.client.clone(), stop.clone(), result.clone());
        let expected = expected.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut i = n;
            while !stop.load(Ordering::Relaxed) {
                let (_, sql) = MIX[i % MIX.len()];
                let asked = Instant::now();
                let answer = client.statement(sql).await;
                let took = asked.elapsed();
                let mut r = result.lock().await;
                match answer {
                    Ok(body) if body["rows"] == expected[i % MIX.len()] => r.latencies.push(took),
                    Ok(_) => r.wrong += 1,
                    Err(e) => *r.failures.entry(short(&format!("{e:#}"))).or_default() += 1,
                }
                i += 1;
            }
        }));
    }
    for _ in 0..flooders {
        let (client, stop, result) = (cluster.client.clone(), stop.clone(), result.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let answer = match client.statement(HOSTILE_SQL).await {
                    Ok(_) => "answered".to_owned(),
                    Err(e) => short(&format!("{e:#}")),
                };
                *result
                    .lock()
                    .await
                    .hostile_answers
                    .entry(answer)
                    .or_default() += 1;
            }
        }));
    }
    let processes = cluster.processes();
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut r = result.lock().await;
        for (name, pid) in &processes {
            if let Ok(bytes) = resident_bytes(&pid.to_string()) {
                let peak = r.peak_rss.entry(name.clone()).or_default();
                *peak = (*peak).max(bytes);
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    // Queries/s count the answers within the phase; the queries still running finish (and are
    // checked) but do not stretch it.
    let (elapsed, answered) = (started.elapsed(), result.lock().await.latencies.len());
    for task in tasks {
        task.await.context("a client task failed")?;
    }
    let mut phase = std::mem::take(&mut *result.lock().await);
    phase.elapsed = elapsed;
    phase.answered_in_time = answered;
    eprintln!(
        "{clients} clients, {flooders} flooding: {} answers, {} failures, {} wrong",
        phase.latencies.len(),
        phase.failures.values().sum::<usize>(),
        phase.wrong
    );
    Ok(phase)
}

/// The part of an error that tells failures apart: the statement's own message (from its last
/// `table …:` on, where the worker names the cause), at most 200 characters.
fn short(message: &str) -> String {
    let from = message
        .rfind("table ")
        .or_else(|| message.find("\"message\""))
        .unwrap_or(0);
    message[from..].chars().take(200).collect()
}
