//! `quarry-bench postgres`: TPC-H `lineitem` loaded into a real PostgreSQL database, scanned
//! whole through Quarry's postgres connector (a coordinator and N workers, several ctid splits,
//! the answer fetched as an Arrow stream) against `psql \copy (SELECT …) TO '/dev/null'` of the
//! same columns, in the same run: rows/s of each and the ratio.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, Row};

use crate::bench_cluster::{BenchCluster, SyncMode};
use crate::bench_flags;
use crate::sql_bench::median_min;
use crate::sync_bench::{plugin_path, quarry_binary, read_component};

pub const HELP: &str = "\
quarry-bench postgres [FLAGS]
    TPC-H lineitem loaded into PostgreSQL (once; kept for later runs), scanned whole through
    the postgres connector on a real cluster (the answer fetched as an Arrow stream) against
    `psql \\copy (SELECT <the same columns> ...) TO '/dev/null'`, alternating, same run: rows/s
    of each and the ratio. Build first:
    `cargo build --release --workspace && cargo xtask build-plugins`.

    --quarry PATH            the quarry binary [default: `quarry` next to quarry-bench]
    --plugin PATH            the postgres component [default: target/plugins/postgres.wasm]
    --host HOST              PostgreSQL's host [default: 127.0.0.1]
    --port N                 PostgreSQL's port [default: 5432]
    --user NAME              a user that may create databases, trust auth [default: postgres]
    --database NAME          the database holding the data (created and loaded if missing)
                             [default: quarry_bench_tpch]
    --schema NAME            tiny or sfN [default: sf1]
    --workers N              workers [default: 2]
    --split-pages N          the catalog's split_pages (ctid pages per split) [default: 8192]
    --rounds N               timed scans on each side [default: 3]
    --psql PATH              the psql binary [default: psql]
";

/// lineitem's columns, all of them, in table order: what both sides read.
const COLUMNS: &str = "l_orderkey, l_partkey, l_suppkey, l_linenumber, l_quantity, \
                       l_extendedprice, l_discount, l_tax, l_returnflag, l_linestatus, \
                       l_shipdate, l_commitdate, l_receiptdate, l_shipinstruct, l_shipmode, \
                       l_comment";

struct Options {
    quarry: Option<PathBuf>,
    plugin: Option<PathBuf>,
    host: String,
    port: usize,
    user: String,
    database: String,
    schema: String,
    workers: usize,
    split_pages: usize,
    rounds: usize,
    psql: String,
}

impl Options {
    /// The URL of `database` on the server.
    fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}@{}:{}/{database}",
            self.user, self.host, self.port
        )
    }
}

fn parse_options(args: impl IntoIterator<Item = String>) -> anyhow::Result<Options> {
    let mut o = Options {
        quarry: None,
        plugin: None,
        host: "127.0.0.1".to_owned(),
        port: 5432,
        user: "postgres".to_owned(),
        database: "quarry_bench_tpch".to_owned(),
        schema: "sf1".to_owned(),
        workers: 2,
        split_pages: 8192,
        rounds: 3,
        psql: "psql".to_owned(),
    };
    bench_flags::parse(args, HELP, &[], |flag| {
        match flag.name() {
            "--quarry" => o.quarry = Some(flag.path()?),
            "--plugin" => o.plugin = Some(flag.path()?),
            "--host" => o.host = flag.text()?,
            "--port" => o.port = flag.positive()?,
            "--user" => o.user = flag.text()?,
            "--database" => o.database = flag.text()?,
            "--schema" => o.schema = flag.text()?,
            "--workers" => o.workers = flag.positive()?,
            "--split-pages" => o.split_pages = flag.positive()?,
            "--rounds" => o.rounds = flag.positive()?,
            "--psql" => o.psql = flag.text()?,
            other => bail!("unknown flag {other:?}: run `quarry-bench postgres --help`"),
        }
        Ok(())
    })?;
    bench_flags::tpch_scale(&o.schema)?;
    if !o
        .database
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        bail!(
            "--database {:?}: use lower-case letters, digits and _",
            o.database
        );
    }
    Ok(o)
}

pub fn run(args: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let o = parse_options(args)?;
    crate::interruptible::run(measure(&o))
}

async fn measure(o: &Options) -> anyhow::Result<()> {
    let quarry = quarry_binary(o.quarry.as_ref())?;
    let plugin = plugin_path(o.plugin.as_ref(), "postgres");
    let component = read_component(&plugin)?;
    let expected_rows = ensure_loaded(o).await?;
    let pages = table_pages(o).await?;
    let query = format!("SELECT {COLUMNS} FROM {}.lineitem", o.schema);
    println!(
        "quarry-bench postgres: {}; `{query}` ({expected_rows} rows, {pages} pages) from \
         database {} through {} workers (split_pages {}) against psql \\copy; {} rounds",
        quarry.display(),
        o.database,
        o.workers,
        o.split_pages,
        o.rounds
    );

    let mut cluster =
        BenchCluster::start(&quarry, "postgres", o.workers, SyncMode::Push, false).await?;
    let uploaded = cluster.client.upload_plugin(component).await?;
    let endpoint = format!("{}:{}", o.host, o.port);
    cluster
        .client
        .create_catalog_from(&json!({
            "name": "pg",
            "plugin": uploaded.reference(),
            "properties": {
                "host": o.host,
                "port": o.port.to_string(),
                "database": o.database,
                "user": o.user,
                "schemas": o.schema,
                "split_pages": o.split_pages.to_string(),
            },
            "grants": { "allowed_sockets": [endpoint] },
        }))
        .await?;
    let probe = format!("SELECT l_orderkey FROM pg.{}.lineitem LIMIT 1", o.schema);
    let deadline = Instant::now() + Duration::from_secs(120);
    while let Err(error) = cluster.client.statement(&probe).await {
        if Instant::now() > deadline {
            return Err(error.context("the postgres catalog never became queryable"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let through_quarry = format!("SELECT {COLUMNS} FROM pg.{}.lineitem", o.schema);

    let mut quarry_times = Vec::new();
    let mut psql_times = Vec::new();
    for round in 1..=o.rounds {
        let started = Instant::now();
        let rows = cluster
            .client
            .statement_arrow(&through_quarry, |_| {})
            .await?;
        let quarry_time = started.elapsed();
        if rows != expected_rows {
            bail!("quarry answered {rows} rows, the table holds {expected_rows}");
        }
        let started = Instant::now();
        let rows = psql_copy(o, &query)?;
        let psql_time = started.elapsed();
        if rows != expected_rows {
            bail!("psql copied {rows} rows, the table holds {expected_rows}");
        }
        eprintln!(
            "round {round}: quarry {:.2} s, psql {:.2} s",
            quarry_time.as_secs_f64(),
            psql_time.as_secs_f64()
        );
        quarry_times.push(quarry_time);
        psql_times.push(psql_time);
    }
    cluster.check_running()?;
    cluster.stop().await?;

    quarry_times.sort();
    psql_times.sort();
    let (q, q_min) = median_min(&quarry_times);
    let (p, p_min) = median_min(&psql_times);
    let rate = |seconds: f64| expected_rows as f64 / seconds;
    println!();
    println!(
        "| scan of {}.lineitem, {expected_rows} rows, all 16 columns | median | min | rows/s (median) |",
        o.schema
    );
    println!("| --- | --- | --- | --- |");
    println!(
        "| quarry: postgres connector, coordinator + {} workers, Arrow over HTTP | {q:.2} s | {q_min:.2} s | {:.0} |",
        o.workers,
        rate(q)
    );
    println!(
        "| psql \\copy (SELECT …) TO '/dev/null' | {p:.2} s | {p_min:.2} s | {:.0} |",
        rate(p)
    );
    println!();
    println!(
        "quarry / psql rows/s: {:.2}× (goal: at least 0.70×)",
        rate(q) / rate(p)
    );
    Ok(())
}

/// Creates the database and loads `lineitem` into it unless a loaded one is there; answers its
/// row count.
async fn ensure_loaded(o: &Options) -> anyhow::Result<u64> {
    let admin_url = o.url("postgres");
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .with_context(|| format!("connecting to {admin_url} (pass --host, --port, --user)"))?;
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&o.database)
        .fetch_optional(&mut admin)
        .await?
        .is_some();
    if !exists {
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {}", o.database)))
            .await
            .with_context(|| format!("creating database {}", o.database))?;
    }
    admin.close().await.ok();

    let url = o.url(&o.database);
    let mut connection = PgConnection::connect(&url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let table = format!("{}.lineitem", o.schema);
    let present: bool = sqlx::query("SELECT to_regclass($1) IS NOT NULL AS present")
        .bind(&table)
        .fetch_one(&mut connection)
        .await?
        .get("present");
    if present {
        let rows: i64 = sqlx::query(AssertSqlSafe(format!("SELECT count(*) AS n FROM {table}")))
            .fetch_one(&mut connection)
            .await?
            .get("n");
        if rows > 0 {
            return Ok(rows as u64);
        }
        // A load that was interrupted after CREATE TABLE: the COPY never committed.
        connection
            .execute(AssertSqlSafe(format!("DROP TABLE {table}")))
            .await?;
    }
    connection.close().await.ok();
    let scale = bench_flags::tpch_scale(&o.schema)?;
    eprintln!("loading {table} into database {}…", o.database);
    let started = Instant::now();
    let loaded = quarry_testing::tpch_postgres::load_tpch_postgres(
        &url,
        scale,
        &o.schema,
        Some(&["lineitem"]),
    )
    .await;
    let rows = loaded
        .iter()
        .find(|(name, _)| *name == "lineitem")
        .map(|(_, rows)| *rows)
        .context("the loader did not load lineitem")?;
    eprintln!(
        "loaded {rows} rows in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(rows)
}

/// lineitem's size in pages, from the server's catalog.
async fn table_pages(o: &Options) -> anyhow::Result<i64> {
    let mut connection = PgConnection::connect(&o.url(&o.database)).await?;
    let pages: i32 = sqlx::query("SELECT relpages FROM pg_class WHERE oid = to_regclass($1)")
        .bind(format!("{}.lineitem", o.schema))
        .fetch_one(&mut connection)
        .await?
        .get("relpages");
    connection.close().await.ok();
    Ok(i64::from(pages))
}

/// `psql \copy (query) TO '/dev/null'`: the rows it reports copied.
fn psql_copy(o: &Options, query: &str) -> anyhow::Result<u64> {
    let output = Command::new(&o.psql)
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(o.url(&o.database))
        .arg("-c")
        .arg(format!("\\copy ({query}) TO '/dev/null'"))
        .output()
        .with_context(|| format!("starting {} (pass --psql PATH)", o.psql))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "psql failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    stdout
        .trim()
        .strip_prefix("COPY ")
        .and_then(|rows| rows.parse().ok())
        .with_context(|| format!("psql said {stdout:?}, not COPY <rows>"))
}
