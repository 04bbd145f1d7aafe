//! [`ConnectionActivity`]: when one connection last did something, and whether a statement is
//! running on it, so the accept loop can close connections that never finish logging in
//! (startup timeout) or sit idle between statements (idle timeout). A connection with a
//! statement running, rows still streaming included, is never idle.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
struct Activity {
    logged_in: bool,
    running: usize,
    since: Instant,
}

/// Shared by the accept loop's watchdog and the connection's handlers.
#[derive(Debug)]
pub(crate) struct ConnectionActivity {
    state: watch::Sender<Activity>,
}

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Authentication did not finish within the startup timeout.
    Startup,
    /// No statement for the idle timeout.
    Idle,
}

impl ConnectionActivity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: watch::Sender::new(Activity {
                logged_in: false,
                running: 0,
                since: Instant::now(),
            }),
        })
    }

    /// The client has authenticated; from now on the idle timeout applies.
    pub(crate) fn logged_in(&self) {
        self.state.send_modify(|state| {
            state.logged_in = true;
            state.since = Instant::now();
        });
    }

    /// A statement starts; the connection is busy until the guard is dropped (after its last
    /// row is sent, or when its stream is dropped).
    pub(crate) fn statement(self: &Arc<Self>) -> StatementGuard {
        self.state.send_modify(|state| state.running += 1);
        StatementGuard {
            activity: self.clone(),
        }
    }

    /// Resolves when the connection has outlived its timeout; never while a statement runs.
    pub(crate) async fn expired(
        &self,
        startup_timeout: Duration,
        idle_timeout: Duration,
    ) -> Expiry {
        let mut changes = self.state.subscribe();
        loop {
            let now = *changes.borrow_and_update();
            if now.running == 0 {
                let (limit, expiry) = if now.logged_in {
                    (idle_timeout, Expiry::Idle)
                } else {
                    (startup_timeout, Expiry::Startup)
                };
                tokio::select! {
                    () = tokio::time::sleep_until(now.since + limit) => return expiry,
                    changed = changes.changed() => if changed.is_err() { return expiry },
                }
            } else if changes.changed().await.is_err() {
                return Expiry::Idle;
            }
        }
    }
}

/// Keeps its connection busy while alive.
#[derive(Debug)]
pub(crate) struct StatementGuard {
    activity: Arc<ConnectionActivity>,
}

impl Drop for StatementGuard {
    fn drop(&mut self) {
        self.activity.state.send_modify(|state| {
            state.running = state.running.saturating_sub(1);
            state.since = Instant::now();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn startup_then_idle_timeouts_apply_and_statements_hold_them_off() {
        let activity = ConnectionActivity::new();
        let timeouts = (Duration::from_millis(50), Duration::from_millis(300));
        assert_eq!(
            activity.expired(timeouts.0, timeouts.1).await,
            Expiry::Startup
        );

        activity.logged_in();
        let guard = activity.statement();
        let watched = activity.clone();
        let watchdog = tokio::spawn(async move { watched.expired(timeouts.0, timeouts.1).await });
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert!(!watchdog.is_finished(), "a running statement is not idle");
        drop(guard);
        let released = Instant::now();
        assert_eq!(watchdog.await.unwrap(), Expiry::Idle);
        assert!(released.elapsed() >= timeouts.1, "{:?}", released.elapsed());
    }
}
