//! A throw-away Quarry cluster of real processes on 127.0.0.1 for the cluster benchmarks: one
//! `quarry coordinator` (SQLite in a temporary directory; on request also serving PostgreSQL
//! and Flight SQL) and N `quarry worker`s, each with its own cache directory, the tokens
//! generated for the run. Its processes are killed when it is dropped; its directory is deleted
//! unless kept.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use quarry_testing::QuarryProcess;
use quarry_testing::coordinator_client::{CoordinatorClient, get_text};
use reqwest::StatusCode;

/// How long a process gets to print its "listening on" line, and a cluster to come up.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How the coordinator learns about changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Push every change at once, reconcile every 10 s (Quarry's design).
    Push,
    /// `--no-push`: changes are noticed only by the reconcile, every second (the periodic
    /// WorkerCatalogSyncTask of the design we start from).
    PeriodicOnly,
}

/// The coordinator's PostgreSQL and Flight SQL ports, for a cluster started with
/// [`BenchCluster::start_with_client_ports`]. Both log in as user `admin` with the admin token.
#[derive(Clone, Copy, Debug)]
pub struct ClientPorts {
    pub pg: u16,
    pub flight_sql: u16,
}

/// One worker of the cluster; `process` is `None` while it is down.
#[derive(Debug)]
pub struct BenchWorker {
    pub id: String,
    pub cache_dir: PathBuf,
    pub process: Option<QuarryProcess>,
}

impl BenchWorker {
    /// The running process, or an error naming the worker.
    pub fn running(&self) -> anyhow::Result<&QuarryProcess> {
        self.process
            .as_ref()
            .with_context(|| format!("worker {} is not running", self.id))
    }
}

/// The running cluster.
#[derive(Debug)]
pub struct BenchCluster {
    quarry: PathBuf,
    dir: tempfile::TempDir,
    cluster_secret: String,
    admin_token: String,
    client_ports: Option<ClientPorts>,
    coordinator: QuarryProcess,
    pub workers: Vec<BenchWorker>,
    pub client: CoordinatorClient,
    /// Extra environment of every process.
    env: Vec<(String, String)>,
}

impl BenchCluster {
    /// Starts a coordinator and `workers` workers, and waits until the coordinator lists them all
    /// alive and each answers `/readyz` 200.
    pub async fn start(
        quarry: &Path,
        label: &str,
        workers: usize,
        mode: SyncMode,
        keep_dir: bool,
    ) -> anyhow::Result<BenchCluster> {
        BenchCluster::launch(quarry, label, workers, mode, keep_dir, &[], false).await
    }

    /// [`Self::start`] with extra environment variables for every process.
    pub async fn start_with_env(
        quarry: &Path,
        label: &str,
        workers: usize,
        mode: SyncMode,
        env: &[(&str, &str)],
    ) -> anyhow::Result<BenchCluster> {
        BenchCluster::launch(quarry, label, workers, mode, false, env, false).await
    }

    /// [`Self::start`] with the coordinator also serving PostgreSQL and Flight SQL on free ports
    /// ([`Self::client_ports`]).
    pub async fn start_with_client_ports(
        quarry: &Path,
        label: &str,
        workers: usize,
    ) -> anyhow::Result<BenchCluster> {
        BenchCluster::launch(quarry, label, workers, SyncMode::Push, false, &[], true).await
    }

    async fn launch(
        quarry: &Path,
        label: &str,
        workers: usize,
        mode: SyncMode,
        keep_dir: bool,
        env: &[(&str, &str)],
        serve_clients: bool,
    ) -> anyhow::Result<BenchCluster> {
        let mut dir = tempfile::Builder::new()
            .prefix(&format!("quarry-bench-{label}-"))
            .tempdir()
            .context("creating the cluster's directory")?;
        if keep_dir {
            dir.disable_cleanup(true);
            eprintln!(
                "{label} cluster: keeping its directory (logs, database): {}",
                dir.path().display()
            );
        }
        let nonce = nonce();
        let admin_token = format!("bench-admin-{nonce:x}");
        let cluster_secret = format!("bench-secret-{:x}", nonce.rotate_left(17) ^ 0x5eed);

        let sync_interval = match mode {
            SyncMode::Push => "10s",
            SyncMode::PeriodicOnly => "1s",
        };
        let [port, pg, flight_sql] = free_ports()?;
        let client_ports = serve_clients.then_some(ClientPorts { pg, flight_sql });
        let mut command = Command::new(quarry);
        command
            .arg("coordinator")
            .args(["--http", &format!("127.0.0.1:{port}")])
            .arg("--database")
            .arg(format!(
                "sqlite://{}",
                dir.path().join("quarry.db").display()
            ))
            .arg("--data-dir")
            .arg(dir.path())
            .args([
                "--sync-interval",
                sync_interval,
                "--heartbeat-timeout",
                "10s",
            ]);
        if mode == SyncMode::PeriodicOnly {
            command.arg("--no-push");
        }
        if let Some(ports) = client_ports {
            command
                .args(["--pg", &format!("127.0.0.1:{}", ports.pg)])
                .args(["--flight-sql", &format!("127.0.0.1:{}", ports.flight_sql)]);
        }
        scrub_env(&mut command);
        command.envs(env.iter().copied());
        command
            .env("QUARRY_ADMIN_TOKEN", &admin_token)
            .env("QUARRY_CLUSTER_SECRET", &cluster_secret);
        let coordinator = start_process(
            format!("{label} coordinator"),
            command,
            dir.path().join("coordinator.log"),
        )
        .await?;
        let client = CoordinatorClient::new(coordinator.url(), &admin_token)?;

        let mut cluster = BenchCluster {
            quarry: quarry.to_owned(),
            cluster_secret,
            admin_token,
            client_ports,
            coordinator,
            workers: Vec::new(),
            client,
            dir,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        for n in 1..=workers {
            let id = format!("w{n}");
            let cache_dir = cluster.dir.path().join(&id);
            cluster.workers.push(BenchWorker {
                id,
                cache_dir,
                process: None,
            });
        }
        for index in 0..workers {
            cluster.start_worker(index).await?;
        }
        cluster.wait_all_alive().await?;
        for index in 0..workers {
            cluster.wait_worker_ready(index, START_TIMEOUT).await?;
        }
        Ok(cluster)
    }

    /// The admin token the cluster was started with.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The coordinator's PostgreSQL and Flight SQL ports, if it was started with them.
    pub fn client_ports(&self) -> anyhow::Result<ClientPorts> {
        self.client_ports.context(
            "the cluster serves no PostgreSQL or Flight SQL port (start it with \
             BenchCluster::start_with_client_ports)",
        )
    }

    /// Starts worker `index` (again, after a kill: same id, same cache directory).
    pub async fn start_worker(&mut self, index: usize) -> anyhow::Result<()> {
        let coordinator_url = self.coordinator.url().to_owned();
        let worker = self
            .workers
            .get_mut(index)
            .with_context(|| format!("no worker #{index}"))?;
        if worker.process.is_some() {
            bail!("worker {} is already running", worker.id);
        }
        let mut command = Command::new(&self.quarry);
        command
            .arg("worker")
            .args(["--coordinator", &coordinator_url])
            .args(["--http", "127.0.0.1:0"])
            .arg("--cache-dir")
            .arg(&worker.cache_dir)
            .args(["--id", &worker.id, "--heartbeat-interval", "1s"]);
        scrub_env(&mut command);
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command.env("QUARRY_CLUSTER_SECRET", &self.cluster_secret);
        let log = self.dir.path().join(format!("{}.log", worker.id));
        worker.process = Some(start_process(format!("worker {}", worker.id), command, log).await?);
        Ok(())
    }

    /// `kill -9` worker `index` and waits until it is gone.
    pub async fn kill_worker(&mut self, index: usize) -> anyhow::Result<()> {
        let worker = self
            .workers
            .get_mut(index)
            .with_context(|| format!("no worker #{index}"))?;
        match worker.process.take() {
            Some(mut process) => {
                process.kill();
                Ok(())
            }
            None => bail!("worker {} is not running", worker.id),
        }
    }

    /// Polls worker `index`'s `/readyz` every 10 ms until it answers 200.
    pub async fn wait_worker_ready(&self, index: usize, timeout: Duration) -> anyhow::Result<()> {
        let worker = self
            .workers
            .get(index)
            .with_context(|| format!("no worker #{index}"))?;
        let url = format!("{}/readyz", worker.running()?.url());
        let started = Instant::now();
        loop {
            // A worker that is still starting may refuse connections: that is "not yet".
            if let Ok((StatusCode::OK, _)) = get_text(self.client.http(), &url).await {
                return Ok(());
            }
            if started.elapsed() > timeout {
                bail!(
                    "worker {} did not answer /readyz 200 within {}s (log: {})",
                    worker.id,
                    timeout.as_secs(),
                    self.dir.path().join(format!("{}.log", worker.id)).display()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Worker `index`'s `/metrics` text.
    pub async fn worker_metrics(&self, index: usize) -> anyhow::Result<String> {
        let worker = self
            .workers
            .get(index)
            .with_context(|| format!("no worker #{index}"))?;
        let url = format!("{}/metrics", worker.running()?.url());
        let (status, text) = get_text(self.client.http(), &url).await?;
        if status != StatusCode::OK {
            bail!("GET {url}: HTTP {status}");
        }
        Ok(text)
    }

    /// `(name, pid)` of the coordinator and every running worker.
    pub fn processes(&self) -> Vec<(String, u32)> {
        let mut all = vec![("coordinator".to_owned(), self.coordinator.pid())];
        for worker in &self.workers {
            if let Some(process) = &worker.process {
                all.push((worker.id.clone(), process.pid()));
            }
        }
        all
    }

    /// Fails if the coordinator or a worker that should run has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        self.coordinator.check_running()?;
        for worker in &mut self.workers {
            if let Some(process) = worker.process.as_mut() {
                process.check_running()?;
            }
        }
        Ok(())
    }

    /// Stops every process; the directory goes too unless it is kept.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        for worker in &mut self.workers {
            if let Some(mut process) = worker.process.take() {
                process.kill();
            }
        }
        self.coordinator.kill();
        Ok(())
    }

    async fn wait_all_alive(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let alive = self.client.alive_workers().await?;
            if alive == self.workers.len() {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "only {alive} of {} workers are alive after {}s (logs in {})",
                    self.workers.len(),
                    START_TIMEOUT.as_secs(),
                    self.dir.path().display()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Starts `command` as the process `name` with its log in `log`, and waits (on a blocking
/// thread, not the benchmark's async ones) up to [`START_TIMEOUT`] for its "listening on" line.
async fn start_process(
    name: String,
    command: Command,
    log: PathBuf,
) -> anyhow::Result<QuarryProcess> {
    tokio::task::spawn_blocking(move || {
        let mut process = QuarryProcess::spawn_logging_to(&name, command, &log)?;
        process.wait_until_listening(START_TIMEOUT)?;
        Ok(process)
    })
    .await?
}

/// Drops settings the caller's environment might hold that would change what is measured.
fn scrub_env(command: &mut Command) {
    for name in [
        "QUARRY_CONFIG",
        "QUARRY_DEV_MODE",
        "QUARRY_DATABASE_URL",
        "QUARRY_HTTP_ADDR",
        "QUARRY_PG_ADDR",
        "QUARRY_FLIGHT_SQL_ADDR",
        "QUARRY_ADMIN_TOKEN",
        "QUARRY_CLUSTER_SECRET",
    ] {
        command.env_remove(name);
    }
}

/// `N` distinct ports that were free a moment ago on 127.0.0.1, all held at once so none repeats
/// (the coordinator prints its PostgreSQL and Flight SQL lines before its listening line, so
/// once that line is read every port is bound).
fn free_ports<const N: usize>() -> anyhow::Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

/// Something different per run, for tokens (the cluster only listens on 127.0.0.1 and lives
/// for the benchmark).
fn nonce() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}
