//! `quarry-bench sql`: TPC-H Q1, Q3, Q5, Q6, Q10 and Q18 at scale factor 1 through a real
//! cluster (a coordinator and 2 workers, the tpch connector in the sandbox, query stages on the
//! workers) against DataFusion in this process over the same generator compiled natively, in the
//! same run.
//!
//! The native side has each table as a streaming table with one partition per generator part,
//! so it generates while it scans, in parallel, as the connector does; it generates every column
//! (the connector generates only the projected ones), and moves nothing between processes.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use serde_json::Value;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

use crate::bench_cluster::{BenchCluster, SyncMode};
use crate::bench_flags;
use crate::sync_bench::{plugin_path, quarry_binary, read_component};

pub const HELP: &str = "\
quarry-bench sql [FLAGS]
    TPC-H Q1, Q3, Q5, Q6, Q10 and Q18 at scale factor 1 through a real cluster (coordinator +
    workers, the tpch connector in the sandbox, stages on the workers) against DataFusion in
    this process over the natively compiled generator, same run: seconds per query and the
    ratio. Build first:
    `cargo build --release --workspace && cargo xtask build-plugins`.

    --quarry PATH            the quarry binary [default: `quarry` next to quarry-bench]
    --plugin PATH            the tpch component [default: target/plugins/tpch.wasm]
    --workers N              workers [default: 2]
    --rounds N               timed runs of each query on each side [default: 3]
    --schema NAME            tpch schema: tiny or sfN [default: sf1]
    --splits N               splits per table, and native partitions [default: 8]
";

pub(crate) const QUERIES: [(&str, &str); 6] = [
    ("Q1", include_str!("../../testing/tpch_queries/q01.sql")),
    ("Q3", include_str!("../../testing/tpch_queries/q03.sql")),
    ("Q5", include_str!("../../testing/tpch_queries/q05.sql")),
    ("Q6", include_str!("../../testing/tpch_queries/q06.sql")),
    ("Q10", include_str!("../../testing/tpch_queries/q10.sql")),
    ("Q18", include_str!("../../testing/tpch_queries/q18.sql")),
];

struct Options {
    quarry: Option<PathBuf>,
    plugin: Option<PathBuf>,
    workers: usize,
    rounds: usize,
    schema: String,
    splits: usize,
}

fn parse_options(args: impl IntoIterator<Item = String>) -> anyhow::Result<Options> {
    let mut o = Options {
        quarry: None,
        plugin: None,
        workers: 2,
        rounds: 3,
        schema: "sf1".to_owned(),
        splits: 8,
    };
    bench_flags::parse(args, HELP, &[], |flag| {
        match flag.name() {
            "--quarry" => o.quarry = Some(flag.path()?),
            "--plugin" => o.plugin = Some(flag.path()?),
            "--workers" => o.workers = flag.positive()?,
            "--rounds" => o.rounds = flag.positive()?,
            "--splits" => o.splits = flag.positive()?,
            "--schema" => o.schema = flag.text()?,
            other => bail!("unknown flag {other:?}: run `quarry-bench sql --help`"),
        }
        Ok(())
    })?;
    Ok(o)
}

pub fn run(args: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let o = parse_options(args)?;
    crate::interruptible::run(measure(&o))
}

/// One query's figures.
struct QueryFigures {
    name: &'static str,
    /// Sorted run times.
    quarry: Vec<Duration>,
    native: Vec<Duration>,
    rows: usize,
    /// Bytes the stages of the untimed run sent the coordinator, and sent between workers.
    to_coordinator: u64,
    between_workers: u64,
}

/// The median and the fastest of sorted, non-empty `times`, in seconds.
pub(crate) fn median_min(times: &[Duration]) -> (f64, f64) {
    let at = |i: usize| times.get(i).map_or(0.0, Duration::as_secs_f64);
    (at(times.len() / 2), at(0))
}

impl fmt::Display for QueryFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (q, q_min) = median_min(&self.quarry);
        let (n, n_min) = median_min(&self.native);
        write!(
            f,
            "| {} | {q:.2} s (min {q_min:.2}) | {n:.2} s (min {n_min:.2}) | {:.2}× | {} | {} | {} |",
            self.name,
            q / n,
            self.rows,
            self.to_coordinator,
            self.between_workers
        )
    }
}

async fn measure(o: &Options) -> anyhow::Result<()> {
    let quarry = quarry_binary(o.quarry.as_ref())?;
    let plugin = plugin_path(o.plugin.as_ref(), "tpch");
    let scale = bench_flags::tpch_scale(&o.schema)?;
    let tpch = read_component(&plugin)?;
    println!(
        "quarry-bench sql: {}; tpch.{} through {} workers against native DataFusion; {} rounds",
        quarry.display(),
        o.schema,
        o.workers,
        o.rounds
    );
    let native = native_context(scale, o.splits, &o.schema)?;
    let mut cluster = BenchCluster::start(&quarry, "sql", o.workers, SyncMode::Push, false).await?;
    create_tpch_catalog(&cluster, tpch, o.splits, &o.schema).await?;

    let mut figures = Vec::new();
    for (name, text) in QUERIES {
        let sql = text.replace("tpch.tiny.", &format!("tpch.{}.", o.schema));
        // One untimed run each: the coordinator's metadata cache, the workers' instances.
        let warm = cluster.client.statement(&sql).await?;
        let rows = warm["row_count"].as_u64().unwrap_or(0) as usize;
        let (to_coordinator, between_workers) = cluster.client.moved_by_last_statement().await?;
        let native_rows = native_run(&native, &sql).await?;
        if native_rows != rows {
            bail!("{name}: {rows} rows through quarry, {native_rows} natively");
        }
        let mut quarry_times = Vec::new();
        let mut native_times = Vec::new();
        for round in 1..=o.rounds {
            let started = Instant::now();
            let answer: Value = cluster.client.statement(&sql).await?;
            quarry_times.push(started.elapsed());
            if answer["row_count"] != warm["row_count"] {
                bail!("{name}: round {round} answered another row count");
            }
            let started = Instant::now();
            native_run(&native, &sql).await?;
            native_times.push(started.elapsed());
            eprintln!(
                "{name} round {round}: quarry {:.2} s, native {:.2} s",
                quarry_times[round - 1].as_secs_f64(),
                native_times[round - 1].as_secs_f64()
            );
        }
        quarry_times.sort();
        native_times.sort();
        figures.push(QueryFigures {
            name,
            quarry: quarry_times,
            native: native_times,
            rows,
            to_coordinator,
            between_workers,
        });
    }
    cluster.check_running()?;
    cluster.stop().await?;

    println!();
    println!(
        "| query (tpch.{}) | through quarry: coordinator + {} workers, median | DataFusion in-process over native tpchgen, median | ratio quarry / native | rows | bytes to the coordinator | bytes between workers |",
        o.schema, o.workers
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for figure in &figures {
        println!("{figure}");
    }
    Ok(())
}

/// Uploads the tpch component, creates catalog `tpch` of it with `splits` splits per table, and
/// waits until every worker has it loaded and `tpch.<schema>` answers through the cluster.
pub(crate) async fn create_tpch_catalog(
    cluster: &BenchCluster,
    tpch: Vec<u8>,
    splits: usize,
    schema: &str,
) -> anyhow::Result<()> {
    let uploaded = cluster.client.upload_plugin(tpch).await?;
    cluster
        .client
        .create_catalog_with(
            "tpch",
            &uploaded.reference(),
            &[("splits", &splits.to_string())],
        )
        .await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = cluster.client.catalog("tpch").await?;
        if status.loaded_on(cluster.workers.len()) {
            break;
        }
        if status.status == "failed" {
            bail!("catalog tpch failed: {}", status.errors());
        }
        if Instant::now() > deadline {
            bail!("catalog tpch is not loaded on every worker after 120 s: {status:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_queryable(cluster, schema).await
}

/// Waits until `SELECT count(*) FROM tpch.<schema>.region` answers through the cluster.
async fn wait_queryable(cluster: &BenchCluster, schema: &str) -> anyhow::Result<()> {
    let sql = format!("SELECT count(*) FROM tpch.{schema}.region");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match cluster.client.statement(&sql).await {
            Ok(_) => return Ok(()),
            Err(error) if Instant::now() > deadline => {
                return Err(error.context("the tpch catalog never became queryable"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Runs `sql` natively; answers the row count.
async fn native_run(ctx: &SessionContext, sql: &str) -> anyhow::Result<usize> {
    let batches = ctx.sql(sql).await?.collect().await?;
    Ok(batches.iter().map(RecordBatch::num_rows).sum())
}

/// Generates one part (1-based, of `parts`) of a table at `scale`.
type Generate =
    fn(f64, i32, i32) -> Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>;

/// The eight tables and how to generate a part of each.
pub(crate) const TABLES: [(&str, Generate); 8] = [
    ("nation", |s, p, n| {
        Box::new(NationArrow::new(NationGenerator::new(s, p, n)))
    }),
    ("region", |s, p, n| {
        Box::new(RegionArrow::new(RegionGenerator::new(s, p, n)))
    }),
    ("part", |s, p, n| {
        Box::new(PartArrow::new(PartGenerator::new(s, p, n)))
    }),
    ("supplier", |s, p, n| {
        Box::new(SupplierArrow::new(SupplierGenerator::new(s, p, n)))
    }),
    ("partsupp", |s, p, n| {
        Box::new(PartSuppArrow::new(PartSuppGenerator::new(s, p, n)))
    }),
    ("customer", |s, p, n| {
        Box::new(CustomerArrow::new(CustomerGenerator::new(s, p, n)))
    }),
    ("orders", |s, p, n| {
        Box::new(OrderArrow::new(OrderGenerator::new(s, p, n)))
    }),
    ("lineitem", |s, p, n| {
        Box::new(LineItemArrow::new(LineItemGenerator::new(s, p, n)))
    }),
];

/// Every table of `tpch.<schema>` as a streaming table of `parts` partitions, each generating its
/// part as it is scanned.
fn native_context(scale: f64, parts: usize, schema: &str) -> anyhow::Result<SessionContext> {
    let ctx = SessionContext::new_with_config(
        datafusion::prelude::SessionConfig::new()
            .with_default_catalog_and_schema("tpch", schema)
            .with_target_partitions(parts),
    );
    let parts = i32::try_from(parts)?;
    for (name, generate) in TABLES {
        let first = generate(scale, 1, 1)
            .next()
            .with_context(|| format!("tpchgen-arrow generated no {name} batch"))??;
        let arrow_schema = first.schema();
        let partitions: Vec<Arc<dyn PartitionStream>> = (1..=parts)
            .map(|part| {
                Arc::new(TablePart {
                    schema: arrow_schema.clone(),
                    generate,
                    scale,
                    part,
                    parts,
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        let table = StreamingTable::try_new(arrow_schema, partitions)?;
        ctx.register_table(format!("tpch.{schema}.{name}"), Arc::new(table))?;
    }
    Ok(ctx)
}

/// One part of a table's generator as a partition.
struct TablePart {
    schema: SchemaRef,
    generate: Generate,
    scale: f64,
    part: i32,
    parts: i32,
}

impl fmt::Debug for TablePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TablePart({} of {})", self.part, self.parts)
    }
}

impl PartitionStream for TablePart {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let generator = (self.generate)(self.scale, self.part, self.parts);
        let batches = futures::stream::iter(
            generator.map(|batch| batch.map_err(datafusion::error::DataFusionError::from)),
        );
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
    }
}
