//! CancelRequest handling: every session registers a cancel signal under its backend key, and a
//! CancelRequest (sent by psql on Ctrl-C over a separate connection) fires it. The statement
//! being planned and the row stream being sent both watch the signal and stop, dropping the
//! runner's stream. pgwire's own `ConnectionManager` only covers the planning phase, hence this.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pgwire::api::cancel::CancelHandler;
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;
use tokio::sync::watch;

type BackendKey = (i32, Vec<u8>);

/// The sessions that can be cancelled, by backend key (pid and secret).
#[derive(Debug, Default)]
pub(crate) struct CancelRegistry {
    sessions: Mutex<HashMap<BackendKey, Arc<SessionCancel>>>,
}

impl CancelRegistry {
    /// Registers a session; it stays registered while the returned guard lives.
    pub(crate) fn register(
        self: &Arc<Self>,
        pid: i32,
        secret: &SecretKey,
    ) -> (Arc<SessionCancel>, CancelRegistration) {
        let key = (pid, secret.to_bytes().to_vec());
        let session = Arc::new(SessionCancel::new());
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(key.clone(), session.clone());
        }
        let registration = CancelRegistration {
            key,
            registry: self.clone(),
        };
        (session, registration)
    }

    fn cancel(&self, pid: i32, secret: &SecretKey) {
        let key = (pid, secret.to_bytes().to_vec());
        let session = self
            .sessions
            .lock()
            .ok()
            .and_then(|sessions| sessions.get(&key).cloned());
        match session {
            Some(session) => session.cancel(),
            None => tracing::debug!(pid, "cancel request for an unknown session"),
        }
    }
}

#[async_trait]
impl CancelHandler for CancelRegistry {
    async fn on_cancel_request(&self, request: CancelRequest) {
        self.cancel(request.pid, &request.secret_key);
    }
}

/// Removes a session from the registry when the connection ends.
#[derive(Debug)]
pub(crate) struct CancelRegistration {
    key: BackendKey,
    registry: Arc<CancelRegistry>,
}

impl Drop for CancelRegistration {
    fn drop(&mut self) {
        if let Ok(mut sessions) = self.registry.sessions.lock() {
            sessions.remove(&self.key);
        }
    }
}

/// One session's cancel signal: a counter bumped by each CancelRequest.
#[derive(Debug)]
pub(crate) struct SessionCancel {
    generation: watch::Sender<u64>,
}

impl SessionCancel {
    pub(crate) fn new() -> Self {
        Self {
            generation: watch::Sender::new(0),
        }
    }

    fn cancel(&self) {
        self.generation.send_modify(|generation| *generation += 1);
    }

    /// A watcher for the statement about to start: it fires on cancels from now on only.
    pub(crate) fn watch(&self) -> CancelWatch {
        CancelWatch {
            receiver: self.generation.subscribe(),
        }
    }
}

/// Resolves when the session is cancelled after the watch was taken.
#[derive(Debug)]
pub(crate) struct CancelWatch {
    receiver: watch::Receiver<u64>,
}

impl CancelWatch {
    pub(crate) async fn cancelled(&mut self) {
        if self.receiver.changed().await.is_err() {
            // The session is gone, and so is the client: nothing can cancel any more.
            std::future::pending::<()>().await;
        }
    }
}
