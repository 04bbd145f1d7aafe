//! The child processes of `quarry dev`: each one spawned from this very binary, its output passed
//! through line by line with its name in front (`[w1] …`), its "listening on" line awaited at
//! start-up, and stopped with SIGTERM (then SIGKILL after a grace period).

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One child of the dev cluster.
#[derive(Debug)]
pub struct DevChild {
    name: String,
    child: Child,
    /// The child's stdout lines, until start-up is over.
    stdout_lines: Option<mpsc::UnboundedReceiver<String>>,
    relays: Vec<JoinHandle<()>>,
    /// The PostgreSQL wire protocol address the child announced before it was listening.
    postgres: Option<String>,
    /// The Flight SQL address it announced.
    flight_sql: Option<String>,
}

impl DevChild {
    /// Spawns `command`, naming its output `name`.
    pub fn spawn(name: &str, mut command: Command) -> Result<DevChild> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start the {name} process"))?;
        let (lines_tx, lines_rx) = mpsc::unbounded_channel();
        let mut relays = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            relays.push(tokio::spawn(relay(
                stdout,
                format!("[{name}] "),
                false,
                Some(lines_tx),
            )));
        }
        if let Some(stderr) = child.stderr.take() {
            relays.push(tokio::spawn(relay(
                stderr,
                format!("[{name}] "),
                true,
                None,
            )));
        }
        Ok(DevChild {
            name: name.to_owned(),
            child,
            stdout_lines: Some(lines_rx),
            relays,
            postgres: None,
            flight_sql: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `postgres on ADDR` address the child printed during start-up, if any.
    pub fn postgres_addr(&self) -> Option<&str> {
        self.postgres.as_deref()
    }

    /// The `flight sql on ADDR` address the child printed during start-up, if any.
    pub fn flight_sql_addr(&self) -> Option<&str> {
        self.flight_sql.as_deref()
    }

    /// Waits for the child's `<prefix> … listening on URL` line and answers the URL. The child
    /// exiting first, or the timeout, is an error.
    pub async fn wait_listening(&mut self, prefix: &str, timeout: Duration) -> Result<String> {
        let mut lines = self
            .stdout_lines
            .take()
            .ok_or_else(|| anyhow!("{}: start-up already awaited", self.name))?;
        let found = tokio::time::timeout(timeout, async {
            while let Some(line) = lines.recv().await {
                if let Some(url) = listening_url(&line, prefix) {
                    return Some(url);
                }
                if let Some(addr) = announced_addr(&line, prefix, "postgres") {
                    self.postgres = Some(addr);
                }
                if let Some(addr) = announced_addr(&line, prefix, "flight sql") {
                    self.flight_sql = Some(addr);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(url)) => Ok(url),
            Ok(None) => {
                let status = self.child.wait().await.ok();
                bail!(
                    "the {} process exited during start-up ({}); its output is above",
                    self.name,
                    status.map_or_else(|| "status unknown".to_owned(), |s| s.to_string())
                )
            }
            Err(_) => bail!(
                "the {} process did not say it was listening within {}s; its output is above",
                self.name,
                timeout.as_secs()
            ),
        }
    }

    /// The child's exit status if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends SIGTERM, waits up to `grace`, then kills; answers how the child ended.
    pub async fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited() {
            self.drain().await;
            return Some(status);
        }
        let pid = self
            .child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let status = match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => Some(status),
            _ => {
                tracing::warn!(
                    process = %self.name,
                    "did not stop within {}s of SIGTERM: killing it",
                    grace.as_secs()
                );
                let _ = self.child.kill().await;
                self.child.wait().await.ok()
            }
        };
        self.drain().await;
        status
    }

    /// Lets the relays print what the child wrote before it ended.
    async fn drain(&mut self) {
        for relay in self.relays.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), relay).await;
        }
    }
}

/// Copies `from` line by line to our stdout (or stderr) with `prefix`, and hands each line to
/// `lines` while someone listens.
async fn relay(
    from: impl AsyncRead + Unpin,
    prefix: String,
    to_stderr: bool,
    lines: Option<mpsc::UnboundedSender<String>>,
) {
    let mut reader = BufReader::new(from).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        if to_stderr {
            eprintln!("{prefix}{line}");
        } else {
            println!("{prefix}{line}");
        }
        if let Some(lines) = &lines {
            let _ = lines.send(line);
        }
    }
}

/// The URL in `quarry coordinator listening on http://ADDR` (for `prefix` `quarry coordinator`).
pub fn listening_url(line: &str, prefix: &str) -> Option<String> {
    let rest = line.trim().strip_prefix(prefix)?;
    let (_, after) = rest.split_once("listening on ")?;
    after.split_whitespace().next().map(str::to_owned)
}

/// The address in a `<prefix> <service> on ADDR` line (`postgres`, `flight sql`).
pub fn announced_addr(line: &str, prefix: &str, service: &str) -> Option<String> {
    let rest = line.trim().strip_prefix(prefix)?;
    let (_, after) = rest.split_once(&format!(" {service} on "))?;
    after.split_whitespace().next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_postgres_and_flight_sql_lines() {
        assert_eq!(
            announced_addr(
                "quarry coordinator postgres on 127.0.0.1:5433",
                "quarry coordinator",
                "postgres"
            )
            .as_deref(),
            Some("127.0.0.1:5433")
        );
        assert_eq!(
            announced_addr(
                "quarry coordinator flight sql on 127.0.0.1:8815",
                "quarry coordinator",
                "flight sql"
            )
            .as_deref(),
            Some("127.0.0.1:8815")
        );
        assert_eq!(
            announced_addr(
                "quarry coordinator listening on http://x",
                "quarry coordinator",
                "postgres"
            ),
            None
        );
    }

    #[test]
    fn reads_the_listening_lines() {
        assert_eq!(
            listening_url(
                "quarry coordinator listening on http://127.0.0.1:8080",
                "quarry coordinator"
            )
            .as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            listening_url(
                "quarry worker w1 listening on http://127.0.0.1:40000",
                "quarry worker"
            )
            .as_deref(),
            Some("http://127.0.0.1:40000")
        );
        assert_eq!(listening_url("something else", "quarry worker"), None);
    }
}
