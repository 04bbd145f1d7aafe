//! [`CallDriver`]: the small tokio runtime every call into a plugin is driven on, and the gauges
//! that show which threads plugin calls hold.
//!
//! Wasm still runs on the caller's own blocking thread (ADR 0001): the call's future is polled
//! there with `block_on`. What this runtime adds is the reactor those futures wait on: WASI
//! clocks and polls are its timers, `wasi:http` its sockets, and file I/O in granted directories
//! runs on its blocking pool. Because no WASI call blocks the calling thread, a plugin waiting in
//! one is a pending future, and the call's deadline drops it (ADR 0018).
//!
//! A file read that the kernel does not finish (a FIFO with no writer, a hung network mount)
//! keeps one thread of this runtime's blocking pool until it returns; the pool is bounded
//! (`io_threads`), so such reads can never take the threads the rest of the process uses.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};

/// How long an idle thread of the plugin I/O pool lingers before it exits.
const IO_THREAD_KEEP_ALIVE: Duration = Duration::from_secs(2);

/// What the plugin call gauges read right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallGauges {
    /// Threads inside a call into a plugin now.
    pub calls_running: usize,
    /// Threads of the plugin I/O runtime alive now: its one reactor thread, plus blocking threads
    /// doing file I/O for plugins (an idle one exits after 2 s).
    pub io_threads: usize,
    /// Calls given up at their deadline while the plugin waited in a host call.
    pub calls_abandoned: u64,
}

#[derive(Debug, Default)]
struct Counters {
    calls_running: AtomicUsize,
    io_threads: AtomicUsize,
    calls_abandoned: AtomicU64,
}

/// The plugin I/O runtime. Owned by the [`crate::Runtime`]; call contexts hold [`CallHandle`]s.
pub(crate) struct CallDriver {
    /// `None` only while dropping: a tokio runtime may not be dropped where blocking is not
    /// allowed, so it is shut down in the background instead.
    runtime: Option<tokio::runtime::Runtime>,
    handle: CallHandle,
}

impl CallDriver {
    /// Starts the runtime: one reactor thread, at most `io_threads` blocking threads.
    pub fn start(io_threads: usize) -> Result<Self> {
        let counters = Arc::new(Counters::default());
        let (started, stopped) = (counters.clone(), counters.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(io_threads.max(1))
            .thread_keep_alive(IO_THREAD_KEEP_ALIVE)
            .thread_name("quarry-plugin-io")
            .on_thread_start(move || {
                started.io_threads.fetch_add(1, Ordering::Relaxed);
            })
            .on_thread_stop(move || {
                stopped.io_threads.fetch_sub(1, Ordering::Relaxed);
            })
            .enable_all()
            .build()
            .map_err(|e| Error::Engine(format!("cannot start the plugin I/O runtime: {e}")))?;
        let handle = CallHandle {
            handle: runtime.handle().clone(),
            counters,
        };
        Ok(CallDriver {
            runtime: Some(runtime),
            handle,
        })
    }

    pub fn handle(&self) -> CallHandle {
        self.handle.clone()
    }
}

impl Drop for CallDriver {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A cheap handle for driving calls and reading the gauges.
#[derive(Debug, Clone)]
pub(crate) struct CallHandle {
    handle: tokio::runtime::Handle,
    counters: Arc<Counters>,
}

impl CallHandle {
    /// Polls `call` to completion on this thread, giving up (and dropping it, which unwinds the
    /// plugin out of whatever host call it waits in) once `deadline` has passed. `None` when the
    /// deadline won. Must be called from a thread that may block, never from async code.
    pub fn drive<F: Future>(&self, deadline: Duration, call: F) -> Option<F::Output> {
        let counters = &self.counters;
        counters.calls_running.fetch_add(1, Ordering::Relaxed);
        let _running = RunningCall(counters);
        let outcome = self
            .handle
            .block_on(async { tokio::time::timeout(deadline, call).await });
        match outcome {
            Ok(output) => Some(output),
            Err(_) => {
                counters.calls_abandoned.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    pub fn gauges(&self) -> CallGauges {
        CallGauges {
            calls_running: self.counters.calls_running.load(Ordering::Relaxed),
            io_threads: self.counters.io_threads.load(Ordering::Relaxed),
            calls_abandoned: self.counters.calls_abandoned.load(Ordering::Relaxed),
        }
    }
}

/// Takes one off the running-calls gauge when the call ends, however it ends.
struct RunningCall<'a>(&'a Counters);

impl Drop for RunningCall<'_> {
    fn drop(&mut self) {
        self.0.calls_running.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_waiting_past_its_deadline_is_dropped_and_counted() {
        let driver = CallDriver::start(4).unwrap();
        let calls = driver.handle();
        let started = std::time::Instant::now();
        let out = calls.drive(Duration::from_millis(100), async {
            tokio::time::sleep(Duration::from_secs(600)).await;
            1
        });
        assert_eq!(out, None);
        assert!(started.elapsed() < Duration::from_secs(5));
        let gauges = calls.gauges();
        assert_eq!(gauges.calls_running, 0);
        assert_eq!(gauges.calls_abandoned, 1);
        assert_eq!(calls.drive(Duration::from_secs(5), async { 2 }), Some(2));
    }
}
