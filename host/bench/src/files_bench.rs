//! `quarry-bench files`: TPC-H Q1, Q3, Q5, Q6, Q10 and Q18 at scale factor 1 through the files
//! connector (a coordinator and 2 workers, the plugin reading Parquet in the sandbox, query
//! stages on the workers), over Parquet files the benchmark writes from the native generator,
//! against DuckDB and DataFusion from PyPI reading the same files (`peers/parquet_peers.py`,
//! each limited to `--threads` threads; DataFusion with its default settings and with its
//! filters evaluated in the Parquet scan), in the same run.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{Value, json};

use crate::bench_cluster::{BenchCluster, SyncMode};
use crate::bench_flags;
use crate::sql_bench::{QUERIES, TABLES, median_min};
use crate::sync_bench::{plugin_path, quarry_binary, read_component};

pub const HELP: &str = "\
quarry-bench files [FLAGS]
    TPC-H Q1, Q3, Q5, Q6, Q10 and Q18 through the files connector on a real cluster over
    Parquet files written from the native generator, against DuckDB and DataFusion from PyPI
    reading the same files (`pip install duckdb datafusion`; DataFusion twice, with its
    default settings and with its filters evaluated in the Parquet scan), same run: seconds
    per query, the ratio to the fastest peer, and DataFusion's own ratio to DuckDB. Build
    first:
    `cargo build --release --workspace && cargo xtask build-plugins`.

    --quarry PATH            the quarry binary [default: `quarry` next to quarry-bench]
    --plugin PATH            the files component [default: target/plugins/files.wasm]
    --data DIR               where the Parquet files are (written if missing) [default: a
                             temporary directory]
    --workers N              workers [default: 2]
    --rounds N               timed runs of each query on each side [default: 3]
    --schema NAME            tiny or sfN [default: sf1]
    --row-group-rows N       rows per Parquet row group, one split each [default: 131072]
    --threads N              threads of each peer [default: 2]
    --python PATH            the Python with duckdb and datafusion [default: python3]
";

/// The peers the script measures, as its answer names them: DuckDB, DataFusion with its
/// default settings, and DataFusion evaluating the filters inside its Parquet scan.
const PEER_KEYS: [&str; 3] = ["duckdb", "datafusion", "datafusion_pushdown"];

/// The peers' script, run with `python -c`.
const PEERS: &str = include_str!("../peers/parquet_peers.py");

struct Options {
    quarry: Option<PathBuf>,
    plugin: Option<PathBuf>,
    data: Option<PathBuf>,
    workers: usize,
    rounds: usize,
    schema: String,
    row_group_rows: usize,
    threads: usize,
    python: String,
}

fn parse_options(args: impl IntoIterator<Item = String>) -> anyhow::Result<Options> {
    let mut o = Options {
        quarry: None,
        plugin: None,
        data: None,
        workers: 2,
        rounds: 3,
        schema: "sf1".to_owned(),
        row_group_rows: 131_072,
        threads: 2,
        python: "python3".to_owned(),
    };
    bench_flags::parse(args, HELP, &[], |flag| {
        match flag.name() {
            "--quarry" => o.quarry = Some(flag.path()?),
            "--plugin" => o.plugin = Some(flag.path()?),
            "--data" => o.data = Some(flag.path()?),
            "--workers" => o.workers = flag.positive()?,
            "--rounds" => o.rounds = flag.positive()?,
            "--schema" => o.schema = flag.text()?,
            "--row-group-rows" => o.row_group_rows = flag.positive()?,
            "--threads" => o.threads = flag.positive()?,
            "--python" => o.python = flag.text()?,
            other => bail!("unknown flag {other:?}: run `quarry-bench files --help`"),
        }
        Ok(())
    })?;
    Ok(o)
}

pub fn run(args: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let o = parse_options(args)?;
    crate::interruptible::run(measure(&o))
}

async fn measure(o: &Options) -> anyhow::Result<()> {
    let quarry = quarry_binary(o.quarry.as_ref())?;
    let plugin = plugin_path(o.plugin.as_ref(), "files");
    let component = read_component(&plugin)?;
    let scale = bench_flags::tpch_scale(&o.schema)?;
    let temporary = tempfile::tempdir()?;
    let root = match &o.data {
        Some(dir) => dir.clone(),
        None => temporary.path().to_path_buf(),
    };
    std::fs::create_dir_all(&root)?;
    let root = root.canonicalize()?;
    write_parquet(&root, scale, &o.schema, o.row_group_rows)?;
    println!(
        "quarry-bench files: {}; TPC-H {} as Parquet in {} through {} workers against DuckDB and \
         DataFusion ({} threads each); {} rounds",
        quarry.display(),
        o.schema,
        root.display(),
        o.workers,
        o.threads,
        o.rounds
    );

    let queries: Vec<(&str, String)> = QUERIES
        .iter()
        .map(|(name, text)| {
            (
                *name,
                text.replace("tpch.tiny.", &format!("tpch.{}.", o.schema)),
            )
        })
        .collect();
    let peers = run_peers(o, &root, &queries)?;

    let mut cluster =
        BenchCluster::start(&quarry, "files", o.workers, SyncMode::Push, false).await?;
    let uploaded = cluster.client.upload_plugin(component).await?;
    let root_text = root.display().to_string();
    cluster
        .client
        .create_catalog_granted(
            "tpch",
            &uploaded.reference(),
            &[("root", &root_text)],
            &[root.as_path()],
        )
        .await?;
    let probe = format!("SELECT count(*) FROM tpch.{}.region", o.schema);
    let deadline = Instant::now() + Duration::from_secs(120);
    while let Err(error) = cluster.client.statement(&probe).await {
        if Instant::now() > deadline {
            return Err(error.context("the files catalog never became queryable"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    println!();
    println!(
        "| query ({}) | through quarry: files connector, coordinator + {} workers, median | DuckDB {}, median | DataFusion {} (Python), median | DataFusion, filters in the scan, median | ratio quarry / faster peer | ratio faster DataFusion / DuckDB | rows |",
        o.schema,
        o.workers,
        peers["versions"]["duckdb"].as_str().unwrap_or("?"),
        peers["versions"]["datafusion"].as_str().unwrap_or("?")
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, sql) in &queries {
        let warm = cluster.client.statement(sql).await?;
        let rows = warm["row_count"].as_u64().unwrap_or(0);
        for peer in PEER_KEYS {
            let theirs = peers["rows"][peer][name].as_u64().unwrap_or(u64::MAX);
            if theirs != rows {
                bail!("{name}: {rows} rows through quarry, {theirs} from {peer}");
            }
        }
        let mut times = Vec::new();
        for _ in 0..o.rounds {
            let started = Instant::now();
            cluster.client.statement(sql).await?;
            times.push(started.elapsed());
        }
        times.sort();
        let (q, q_min) = median_min(&times);
        let [duck, fusion, pushdown] = PEER_KEYS.map(|peer| peer_median(&peers, peer, name));
        let faster_fusion = fusion.min(pushdown);
        println!(
            "| {name} | {q:.2} s (min {q_min:.2}) | {duck:.2} s | {fusion:.2} s | {pushdown:.2} s | {:.2}× | {:.2}× | {rows} |",
            q / duck.min(faster_fusion),
            faster_fusion / duck
        );
    }
    cluster.check_running()?;
    cluster.stop().await?;
    Ok(())
}

/// Writes `root/<schema>/<table>.parquet` for every TPC-H table at `scale` that is not there
/// yet (Snappy, `row_group_rows` rows per row group).
fn write_parquet(
    root: &Path,
    scale: f64,
    schema: &str,
    row_group_rows: usize,
) -> anyhow::Result<()> {
    let dir = root.join(schema);
    std::fs::create_dir_all(&dir)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows))
        .build();
    for (name, generate) in TABLES {
        let path = dir.join(format!("{name}.parquet"));
        if path.is_file() {
            continue;
        }
        let started = Instant::now();
        let partial = dir.join(format!(".{name}.parquet.partial"));
        let mut batches = generate(scale, 1, 1).peekable();
        let arrow_schema = match batches.peek() {
            Some(Ok(batch)) => batch.schema(),
            Some(Err(error)) => bail!("generating {name}: {error}"),
            None => bail!("tpchgen-arrow generated no {name} batch"),
        };
        let mut writer = ArrowWriter::try_new(
            File::create(&partial)?,
            arrow_schema,
            Some(properties.clone()),
        )?;
        for batch in batches {
            writer.write(&batch?)?;
        }
        writer.close()?;
        std::fs::rename(&partial, &path)?;
        eprintln!(
            "wrote {} in {:.1} s",
            path.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The median of one peer's timed runs of one query, in seconds.
fn peer_median(peers: &Value, peer: &str, query: &str) -> f64 {
    let mut seconds: Vec<f64> = peers["seconds"][peer][query]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .collect();
    seconds.sort_by(f64::total_cmp);
    seconds.get(seconds.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs the peers' script over the files: its JSON answer.
fn run_peers(o: &Options, root: &Path, queries: &[(&str, String)]) -> anyhow::Result<Value> {
    let request = json!({
        "root": root,
        "schema": o.schema,
        "threads": o.threads,
        "rounds": o.rounds,
        "tables": TABLES.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        "queries": queries.iter().map(|(n, q)| (n.to_string(), json!(q))).collect::<serde_json::Map<_, _>>(),
    });
    let mut child = Command::new(&o.python)
        .args(["-c", PEERS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {} (pass --python PATH)", o.python))?;
    serde_json::to_writer(child.stdin.take().context("the peers' stdin")?, &request)?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "the peers' script failed ({}): is `pip install duckdb datafusion` done for {}?",
            output.status,
            o.python
        );
    }
    serde_json::from_slice(&output.stdout).context("reading the peers' answer")
}
