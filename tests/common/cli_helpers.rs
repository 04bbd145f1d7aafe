//! Driving the `quarry` binary as a user would: one-shot commands (`quarry plugin list`) whose
//! exit status and output are checked, and a long-running `quarry dev` whose output is watched
//! line by line and which is stopped with SIGTERM, like Ctrl-C in a terminal.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long `quarry dev` may take to be ready: two workers compile and load tpch.
pub const DEV_READY_TIMEOUT: Duration = Duration::from_secs(300);

/// The `quarry` binary cargo built for these tests.
pub fn quarry_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_quarry"))
}

/// `target/plugins`, holding tpch.wasm; fails (never skips), saying how to build it, when the
/// component is missing.
pub fn plugins_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plugins");
    assert!(
        dir.join("tpch.wasm").is_file(),
        "{} is missing: this test needs the bundled plugins. Build them first with \
         `cargo xtask build-plugins`",
        dir.join("tpch.wasm").display()
    );
    dir
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

/// A running `quarry dev`.
pub struct DevCluster {
    child: Child,
    /// Its stdout lines, as they come.
    lines: Receiver<String>,
    /// Everything it printed so far, stdout and stderr, for failure messages.
    output: Arc<Mutex<String>>,
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
            .args(["--http", "127.0.0.1:0", "--worker-http", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start quarry dev");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        collect(child.stdout.take().unwrap(), output.clone(), Some(tx));
        collect(child.stderr.take().unwrap(), output.clone(), None);
        let mut dev = DevCluster {
            child,
            lines,
            output,
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
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(_) => {}
                Err(error) => panic!(
                    "quarry dev: no expected line ({error:?}); its output:\n{}",
                    self.output()
                ),
            }
        }
    }

    /// Everything `quarry dev` printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for `quarry dev` to stop its children and exit; answers its exit
    /// status and its whole output.
    pub fn stop(mut self) -> (ExitStatus, String) {
        let status = self.terminate(Duration::from_secs(90));
        // Let the reader threads take the last lines.
        std::thread::sleep(Duration::from_millis(200));
        (status, self.output())
    }

    fn terminate(&mut self, grace: Duration) -> ExitStatus {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status;
        }
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!(
            "quarry dev did not stop within {grace:?} of SIGTERM; its output:\n{}",
            self.output()
        )
    }
}

impl Drop for DevCluster {
    fn drop(&mut self) {
        // A failed test still stops the cluster (its children with it).
        if let Ok(None) = self.child.try_wait() {
            let pid = rustix::process::Pid::from_raw(self.child.id() as i32);
            if let Some(pid) = pid {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads `from` line by line into `output`, and hands each line to `lines` if given.
fn collect(
    from: impl Read + Send + 'static,
    output: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            {
                let mut output = output.lock().unwrap();
                output.push_str(&line);
                output.push('\n');
            }
            if let Some(lines) = &lines {
                let _ = lines.send(line);
            }
        }
    });
}
