//! [`QuarryProcess`]: one child process of the `quarry` binary (a coordinator, a worker, or
//! `quarry dev`) for the end-to-end tests and the benchmarks. Its output is kept (in memory, or
//! its log appended to a file), its stdout lines can be awaited (its `… listening on URL` line,
//! say), it can be sent signals and stopped with a grace period, and it is stopped when
//! dropped, so no child outlives the test or benchmark, whichever way that ends.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
pub use rustix::process::Signal;

/// How many lines of a log file an error message shows.
const LOG_TAIL_LINES: usize = 30;

/// A running `quarry` process.
#[derive(Debug)]
pub struct QuarryProcess {
    name: String,
    child: Child,
    /// Its stdout lines not awaited yet.
    lines: Receiver<String>,
    /// Everything it printed so far: stdout, and stderr unless that goes to `log`.
    output: Arc<Mutex<String>>,
    /// The file its stderr is appended to, if any.
    log: Option<PathBuf>,
    /// Its `listening on` URL, once awaited.
    url: Option<String>,
    /// On drop: SIGTERM and this long to exit before SIGKILL (`None`: SIGKILL at once).
    stop_on_drop: Option<Duration>,
}

impl QuarryProcess {
    /// Starts `command` named `name` (for messages) with stdin closed and stdout and stderr
    /// kept in memory ([`Self::output`]).
    pub fn spawn(name: &str, command: Command) -> anyhow::Result<QuarryProcess> {
        QuarryProcess::start(name, command, None)
    }

    /// Starts `command` with its stderr (the log) appended to the file `log` and its stdout
    /// kept in memory.
    pub fn spawn_logging_to(
        name: &str,
        command: Command,
        log: &Path,
    ) -> anyhow::Result<QuarryProcess> {
        QuarryProcess::start(name, command, Some(log))
    }

    fn start(
        name: &str,
        mut command: Command,
        log: Option<&Path>,
    ) -> anyhow::Result<QuarryProcess> {
        command.stdin(Stdio::null()).stdout(Stdio::piped());
        match log {
            None => command.stderr(Stdio::piped()),
            Some(log) => command.stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .with_context(|| format!("opening {}", log.display()))?,
            )),
        };
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start the {name} process"))?;
        let output = Arc::new(Mutex::new(String::new()));
        let (sender, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            collect(stdout, output.clone(), Some(sender));
        }
        if let Some(stderr) = child.stderr.take() {
            collect(stderr, output.clone(), None);
        }
        Ok(QuarryProcess {
            name: name.to_owned(),
            child,
            lines,
            output,
            log: log.map(Path::to_owned),
            url: None,
            stop_on_drop: None,
        })
    }

    /// Makes dropping the process send SIGTERM and give it `grace` to exit before SIGKILL (for
    /// `quarry dev`, which stops its own children on SIGTERM).
    pub fn stop_on_drop(mut self, grace: Duration) -> QuarryProcess {
        self.stop_on_drop = Some(grace);
        self
    }

    /// Waits up to `timeout` for a stdout line `wanted` accepts and answers it; lines before it
    /// are passed over. Fails, with the output so far, on timeout or when the process closes
    /// its stdout (it exited).
    pub fn wait_for_line(
        &mut self,
        wanted: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return Ok(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => bail!(
                    "the {} process did not print the expected line within {timeout:?}; its \
                     output:\n{}",
                    self.name,
                    self.output()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.exit_status();
                    bail!(
                        "the {} process exited before it printed the expected line ({status}); \
                         its output:\n{}",
                        self.name,
                        self.output()
                    )
                }
            }
        }
    }

    /// Waits up to `timeout` for the `quarry … listening on http(s)://ADDR` line a coordinator
    /// or worker prints once it serves, and answers that URL ([`Self::url`] from then on).
    pub fn wait_until_listening(&mut self, timeout: Duration) -> anyhow::Result<&str> {
        let line = self.wait_for_line(|line| listening_url(line).is_some(), timeout)?;
        let url = listening_url(&line).unwrap_or_default();
        Ok(self.url.insert(url).as_str())
    }

    /// The URL from the process's `listening on` line; empty before
    /// [`Self::wait_until_listening`].
    pub fn url(&self) -> &str {
        self.url.as_deref().unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process printed so far (stdout, and stderr unless it goes to a log file,
    /// whose last lines follow then).
    pub fn output(&self) -> String {
        let mut output = self
            .output
            .lock()
            .map(|output| output.clone())
            .unwrap_or_default();
        if let Some(log) = &self.log {
            output.push_str(&format!("--- the end of {} ---\n", log.display()));
            output.push_str(&log_tail(log));
        }
        output
    }

    /// Sends `signal` (`Signal::STOP`, `Signal::CONT`, …) to the process.
    pub fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32)
            .with_context(|| format!("the {} process has no valid PID", self.name))?;
        rustix::process::kill_process(pid, signal)
            .with_context(|| format!("sending {signal:?} to the {} process", self.name))
    }

    /// SIGTERM, then waits up to `grace` for the process to exit; answers its exit status.
    /// Fails, after a SIGKILL, with its output when it outlives `grace`.
    pub fn terminate(&mut self, grace: Duration) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        self.signal(Signal::TERM)?;
        if let Some(status) = self.wait_for_exit(grace)? {
            return Ok(status);
        }
        self.kill();
        bail!(
            "the {} process did not stop within {grace:?} of SIGTERM; its output:\n{}",
            self.name,
            self.output()
        )
    }

    /// SIGKILL (`kill -9`: no goodbye, no cleanup), then waits for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Fails if the process has exited (it should run until it is stopped).
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!("the {} process exited: {status}", self.name),
        }
    }

    /// Polls for the exit for up to `timeout`.
    fn wait_for_exit(&mut self, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The exit status, for a message about a process that closed its stdout (it is exiting:
    /// give it a second).
    fn exit_status(&mut self) -> String {
        match self.wait_for_exit(Duration::from_secs(1)) {
            Ok(Some(status)) => status.to_string(),
            Ok(None) => "it closed its stdout but still runs".to_owned(),
            Err(error) => format!("unknown status: {error}"),
        }
    }
}

impl Drop for QuarryProcess {
    fn drop(&mut self) {
        if let (Some(grace), Ok(None)) = (self.stop_on_drop, self.child.try_wait())
            && self.signal(Signal::TERM).is_ok()
            && let Ok(Some(_)) = self.wait_for_exit(grace)
        {
            return;
        }
        self.kill();
    }
}

/// The URL in a `quarry coordinator listening on http://ADDR` or `quarry worker ID listening
/// on https://ADDR` line.
fn listening_url(line: &str) -> Option<String> {
    let line = line.trim();
    if !line.starts_with("quarry ") {
        return None;
    }
    let (_, url) = line.split_once(" listening on ")?;
    let url = url.trim();
    (url.starts_with("http://") || url.starts_with("https://")).then(|| url.to_owned())
}

/// Copies `pipe` line by line into `output`, and hands each line to `lines` if given.
fn collect(
    pipe: impl Read + Send + 'static,
    output: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut output) = output.lock() {
                output.push_str(&line);
                output.push('\n');
            }
            if let Some(lines) = &lines {
                let _ = lines.send(line);
            }
        }
    });
}

/// The last lines of a log file, for an error message.
fn log_tail(log: &Path) -> String {
    match std::fs::read_to_string(log) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let mut tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
            tail.push('\n');
            tail
        }
        Err(error) => format!("(cannot read {}: {error})\n", log.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listening_lines() {
        assert_eq!(
            listening_url("quarry coordinator listening on http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            listening_url("quarry worker w3 listening on https://127.0.0.1:41234\n").as_deref(),
            Some("https://127.0.0.1:41234")
        );
        assert_eq!(listening_url("quarry worker w3 starting"), None);
        assert_eq!(
            listening_url("quarry coordinator: PostgreSQL listening on 127.0.0.1:5433"),
            None
        );
        assert_eq!(
            listening_url("[w1] quarry worker listening on http://x"),
            None
        );
    }

    /// A real child: its lines are awaited in order, its output kept, SIGTERM ends it.
    #[test]
    fn waits_for_lines_keeps_output_and_terminates() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "echo starting; echo oops >&2; \
             echo 'quarry worker w1 listening on http://127.0.0.1:1'; exec sleep 60",
        ]);
        let mut process = QuarryProcess::spawn("sh", command).unwrap();
        let url = process
            .wait_until_listening(Duration::from_secs(10))
            .unwrap()
            .to_owned();
        assert_eq!(url, "http://127.0.0.1:1");
        assert_eq!(process.url(), "http://127.0.0.1:1");
        process.check_running().unwrap();
        let status = process.terminate(Duration::from_secs(10)).unwrap();
        assert!(!status.success(), "sleep killed by SIGTERM: {status}");
        // Let the reader threads take the last lines.
        std::thread::sleep(Duration::from_millis(200));
        let output = process.output();
        assert!(output.contains("starting\n"), "{output}");
        assert!(output.contains("oops\n"), "{output}");
        assert!(process.check_running().is_err());
    }

    /// A process that exits without the line fails the wait, with what it printed; stderr sent
    /// to a log file shows in the output's tail.
    #[test]
    fn a_process_that_exits_first_fails_the_wait_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("p.log");
        let mut command = Command::new("sh");
        command.args(["-c", "echo 'no such flag: --bogus' >&2; exit 2"]);
        let mut process = QuarryProcess::spawn_logging_to("sh", command, &log).unwrap();
        let error = process
            .wait_until_listening(Duration::from_secs(10))
            .unwrap_err()
            .to_string();
        assert!(error.contains("exited before"), "{error}");
        assert!(error.contains("no such flag: --bogus"), "{error}");
    }
}
