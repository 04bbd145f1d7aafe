//! Driving the `quarry` binary as a user would: one-shot commands (`quarry plugin list`) whose
//! exit status and output are checked, and a long-running `quarry dev` whose output is watched
//! line by line and which is stopped with SIGTERM, like Ctrl-C in a terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use quarry_testing::QuarryProcess;

pub use crate::common::cluster::quarry_bin;

/// How long `quarry dev` may take to be ready: two workers compile and load tpch.
pub const DEV_READY_TIMEOUT: Duration = Duration::from_secs(300);

/// `target/plugins`, holding tpch.wasm; fails (never skips), saying how to build it, when the
/// component is missing.
pub fn plugins_dir() -> PathBuf {
    quarry_testing::plugin_component::plugins_dir("tpch")
}

/// A `quarry` command that does not see the caller's `QUARRY_*` variables or `RUST_LOG`.
pub fn quarry_command() -> Command {
    let mut command = Command::new(quarry_bin());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("QUARRY_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// What a finished `quarry` command did.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Asserts the command succeeded and answers its stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert!(self.status.success(), "quarry failed: {self}");
        &self.stdout
    }

    /// Asserts the command failed and answers its stderr.
    #[track_caller]
    pub fn failed(&self) -> &str {
        assert!(!self.status.success(), "quarry should have failed: {self}");
        &self.stderr
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `quarry ARGS` to completion.
pub fn quarry(args: &[&str]) -> Outcome {
    let output = quarry_command()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run quarry {args:?}: {e}"));
    Outcome {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A running `quarry dev`, stopped with SIGTERM (its children with it) when dropped.
pub struct DevCluster {
    process: QuarryProcess,
    /// The coordinator's URL, from the "cluster ready" block.
    pub url: String,
}

impl DevCluster {
    /// Starts `quarry dev --data-dir DATA_DIR` on free ports with the plugins in `plugins_dir`,
    /// and waits until it says the cluster is ready.
    pub fn start(data_dir: &Path, plugins_dir: &Path) -> DevCluster {
        let mut command = quarry_command();
        command
            .arg("dev")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--plugins-dir")
            .arg(plugins_dir)
            .args(["--http", "127.0.0.1:0", "--worker-http", "127.0.0.1:0"]);
        let process = QuarryProcess::spawn("quarry dev", command)
            .expect("start quarry dev")
            .stop_on_drop(Duration::from_secs(30));
        let mut dev = DevCluster {
            process,
            url: String::new(),
        };
        dev.wait_for_line(
            |line| line == "quarry dev: cluster ready",
            DEV_READY_TIMEOUT,
        );
        let coordinator = dev.wait_for_line(
            |line| line.starts_with("  coordinator: "),
            Duration::from_secs(10),
        );
        dev.url = coordinator
            .trim_start_matches("  coordinator: ")
            .trim()
            .to_owned();
        dev.wait_for_line(|line| line == "stop with Ctrl-C", Duration::from_secs(10));
        dev
    }

    /// Waits for a stdout line matching `wanted` and answers it; fails with the output so far
    /// on timeout or when `quarry dev` exits.
    #[track_caller]
    pub fn wait_for_line(&mut self, wanted: impl Fn(&str) -> bool, timeout: Duration) -> String {
        self.process
            .wait_for_line(wanted, timeout)
            .unwrap_or_else(|error| panic!("quarry dev: no expected line: {error:#}"))
    }

    /// Everything `quarry dev` printed so far.
    pub fn output(&self) -> String {
        self.process.output()
    }

    /// Sends SIGTERM and waits for `quarry dev` to stop its children and exit; answers its exit
    /// status and its whole output.
    pub fn stop(mut self) -> (ExitStatus, String) {
        let status = self
            .process
            .terminate(Duration::from_secs(90))
            .unwrap_or_else(|error| panic!("{error:#}"));
        // Let the reader threads take the last lines.
        std::thread::sleep(Duration::from_millis(200));
        (status, self.output())
    }
}
