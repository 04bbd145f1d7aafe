//! One child process of the `quarry` binary, as `quarry-bench sync` runs it: started with its
//! stderr (the log) going to a file, its `quarry … listening on http://ADDR` stdout line awaited
//! and parsed, and killed with SIGKILL when it is dropped, so no child outlives the benchmark,
//! whichever way it ends.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `quarry coordinator` or `quarry worker`.
#[derive(Debug)]
pub struct QuarryProcess {
    name: String,
    child: Child,
    pid: u32,
    url: String,
}

impl QuarryProcess {
    /// Spawns `command` (stderr appended to `log`), waits up to `timeout` for its stdout line
    /// starting with `prefix` and holding `listening on URL`, and answers the running process.
    pub async fn start(
        name: &str,
        mut command: Command,
        prefix: &str,
        log: &Path,
        timeout: Duration,
    ) -> anyhow::Result<QuarryProcess> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting the {name} process"))?;
        let pid = child.id().with_context(|| format!("{name}: no PID"))?;
        let stdout = child
            .stdout
            .take()
            .with_context(|| format!("{name}: no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();

        let found = tokio::time::timeout(timeout, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = listening_url(&line, prefix) {
                    return Ok::<_, std::io::Error>(Some(url));
                }
            }
            Ok(None)
        })
        .await;
        let url = match found {
            Ok(Ok(Some(url))) => url,
            Ok(Ok(None)) | Ok(Err(_)) => {
                let status = child.wait().await.ok();
                bail!(
                    "the {name} process exited before it said it was listening ({}); its log:\n{}",
                    status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string()),
                    log_tail(log)
                );
            }
            Err(_) => bail!(
                "the {name} process did not say it was listening within {}s; its log:\n{}",
                timeout.as_secs(),
                log_tail(log)
            ),
        };
        // Keep reading stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(QuarryProcess {
            name: name.to_owned(),
            child,
            pid,
            url,
        })
    }

    /// `http://ADDR`, from the process's own "listening on" line.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// SIGKILL (`kill -9`), then waits for the process to be gone.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child
            .kill()
            .await
            .with_context(|| format!("killing the {} process", self.name))
    }

    /// Fails if the process has exited (it should run until the benchmark kills it).
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!("the {} process exited: {status}", self.name),
        }
    }
}

/// The URL in `quarry coordinator listening on http://ADDR` or `quarry worker ID listening on
/// http://ADDR` (for `prefix` `quarry coordinator` or `quarry worker`).
fn listening_url(line: &str, prefix: &str) -> Option<String> {
    let rest = line.trim().strip_prefix(prefix)?;
    let (_, url) = rest.split_once("listening on ")?;
    let url = url.trim();
    url.starts_with("http://").then(|| url.to_owned())
}

/// The last lines of a log file, for an error message.
fn log_tail(log: &Path) -> String {
    const LINES: usize = 30;
    match std::fs::read_to_string(log) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LINES)..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", PathBuf::from(log).display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listening_lines() {
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
                "quarry worker w3 listening on http://127.0.0.1:41234\n",
                "quarry worker"
            )
            .as_deref(),
            Some("http://127.0.0.1:41234")
        );
        assert_eq!(
            listening_url("quarry worker w3 starting", "quarry worker"),
            None
        );
        assert_eq!(
            listening_url("quarry coordinator listening on http://x", "quarry worker"),
            None
        );
    }
}
