//! Plugin output into the host's log: lines from the contract's `logging.log` and from the
//! guest's stdout/stderr, each with the catalog and plugin attached, rate-limited per instance
//! by a token bucket so a chatty plugin loses lines, not throughput.
//!
//! The last few KiB of stderr are also kept, because a Rust guest prints its panic message
//! there just before it traps: the trap error quotes it.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use crate::bindings::v0_1_0::quarry::connector::logging::Level;
use crate::secret_scrubber::SecretScrubber;

/// Longest line the host logs; the rest is cut.
const MAX_LINE: usize = 4096;
/// Stderr bytes kept for trap reports.
const STDERR_TAIL: usize = 4096;

/// Rate limit for one instance's log lines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogRate {
    /// Lines allowed in a burst.
    pub burst: u32,
    /// Lines per second refilled.
    pub per_second: u32,
}

impl Default for LogRate {
    fn default() -> Self {
        LogRate {
            burst: 200,
            per_second: 50,
        }
    }
}

#[derive(Debug)]
struct TokenBucket {
    rate: LogRate,
    tokens: f64,
    last: Instant,
    dropped: u64,
}

impl TokenBucket {
    fn new(rate: LogRate) -> Self {
        TokenBucket {
            rate,
            tokens: f64::from(rate.burst),
            last: Instant::now(),
            dropped: 0,
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * f64::from(self.rate.per_second))
            .min(f64::from(self.rate.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.dropped += 1;
            false
        }
    }
}

#[derive(Debug)]
struct LogState {
    bucket: TokenBucket,
    stdout_partial: Vec<u8>,
    stderr_partial: Vec<u8>,
    stderr_tail: Vec<u8>,
}

/// One instance's log: shared by the `logging` import and the stdout/stderr streams.
#[derive(Debug, Clone)]
pub struct PluginLog {
    catalog: Arc<str>,
    plugin: Arc<str>,
    scrubber: SecretScrubber,
    state: Arc<Mutex<LogState>>,
}

#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

impl PluginLog {
    pub fn new(catalog: &str, plugin: &str, rate: LogRate, scrubber: SecretScrubber) -> Self {
        PluginLog {
            catalog: Arc::from(catalog),
            plugin: Arc::from(plugin),
            scrubber,
            state: Arc::new(Mutex::new(LogState {
                bucket: TokenBucket::new(rate),
                stdout_partial: Vec::new(),
                stderr_partial: Vec::new(),
                stderr_tail: Vec::new(),
            })),
        }
    }

    /// Logs one line at `level`, unless the bucket is empty.
    pub fn log(&self, level: Level, message: &str) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if !state.bucket.take() {
            return;
        }
        let dropped = std::mem::take(&mut state.bucket.dropped);
        drop(state);
        self.emit(level, message, dropped, "log");
    }

    fn emit(&self, level: Level, message: &str, dropped: u64, source: &'static str) {
        let scrubbed = self.scrubber.scrub(message);
        let message = truncate(&scrubbed, MAX_LINE);
        let (catalog, plugin) = (&*self.catalog, &*self.plugin);
        match level {
            Level::Trace => {
                tracing::trace!(catalog, plugin, source, dropped, "{message}");
            }
            Level::Debug => {
                tracing::debug!(catalog, plugin, source, dropped, "{message}");
            }
            Level::Info => tracing::info!(catalog, plugin, source, dropped, "{message}"),
            Level::Warn => tracing::warn!(catalog, plugin, source, dropped, "{message}"),
            Level::Error => {
                tracing::error!(catalog, plugin, source, dropped, "{message}");
            }
        }
    }

    fn write(&self, stream: Stream, bytes: &[u8]) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if let Stream::Stderr = stream {
            state.stderr_tail.extend_from_slice(bytes);
            let len = state.stderr_tail.len();
            if len > STDERR_TAIL {
                state.stderr_tail.drain(..len - STDERR_TAIL);
            }
        }
        let mut lines = Vec::new();
        {
            let partial = match stream {
                Stream::Stdout => &mut state.stdout_partial,
                Stream::Stderr => &mut state.stderr_partial,
            };
            partial.extend_from_slice(bytes);
            while let Some(pos) = partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = partial.drain(..=pos).collect();
                lines.push(String::from_utf8_lossy(&line[..pos]).into_owned());
            }
            if partial.len() > MAX_LINE {
                lines.push(String::from_utf8_lossy(partial).into_owned());
                partial.clear();
            }
        }
        let mut emit = Vec::new();
        for line in lines {
            if state.bucket.take() {
                emit.push((line, std::mem::take(&mut state.bucket.dropped)));
            }
        }
        drop(state);
        let (level, source) = match stream {
            Stream::Stdout => (Level::Info, "stdout"),
            Stream::Stderr => (Level::Warn, "stderr"),
        };
        for (line, dropped) in emit {
            self.emit(level, &line, dropped, source);
        }
    }

    /// The last lines the guest wrote to stderr (a panic message, typically), trimmed.
    pub fn stderr_tail(&self) -> String {
        let Ok(state) = self.state.lock() else {
            return String::new();
        };
        let mut tail = state.stderr_tail.clone();
        tail.extend_from_slice(&state.stderr_partial);
        String::from_utf8_lossy(&tail).trim().to_owned()
    }

    /// Forgets the stderr kept so far (before each call, so a trap quotes only its own call).
    pub fn clear_stderr_tail(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.stderr_tail.clear();
        }
    }

    /// The guest's stdout, as a WASI output stream.
    pub fn stdout(&self) -> GuestOutput {
        GuestOutput {
            log: self.clone(),
            stream: Stream::Stdout,
        }
    }

    /// The guest's stderr, as a WASI output stream.
    pub fn stderr(&self) -> GuestOutput {
        GuestOutput {
            log: self.clone(),
            stream: Stream::Stderr,
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A guest stdout or stderr that writes into the plugin's log.
#[derive(Debug, Clone)]
pub struct GuestOutput {
    log: PluginLog,
    stream: Stream,
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.log.write(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.log.write(self.stream, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_drops_lines_past_the_burst_and_counts_them() {
        let mut bucket = TokenBucket::new(LogRate {
            burst: 3,
            per_second: 0,
        });
        let taken = (0..5).filter(|_| bucket.take()).count();
        assert_eq!(taken, 3);
        assert_eq!(bucket.dropped, 2);
    }

    #[test]
    fn stderr_is_split_into_lines_and_its_tail_kept() {
        let log = PluginLog::new("c", "p@1", LogRate::default(), SecretScrubber::default());
        log.write(
            Stream::Stderr,
            b"thread 'main' panicked at src/lib.rs:1:1:\nboom",
        );
        log.write(Stream::Stderr, b"!\n");
        assert_eq!(
            log.stderr_tail(),
            "thread 'main' panicked at src/lib.rs:1:1:\nboom!"
        );
        log.clear_stderr_tail();
        assert_eq!(log.stderr_tail(), "");
    }
}
