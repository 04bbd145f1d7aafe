//! Staying known to the coordinator: register at start (retrying until the coordinator
//! answers), heartbeat every interval, register again whenever the coordinator has forgotten
//! this worker (a new database, or it was told the worker stopped), and say goodbye at shutdown.
//! The registration and the goodbye are signed with the worker's key (`worker_identity.rs`).

use std::time::Duration;

use crate::sync_protocol::{RegisterWorker, WorkerGoodbye};
use crate::worker::state::WorkerState;
use crate::worker_identity::{goodbye_message, registration_message};

/// The longest wait between two registration attempts.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// Registers, then heartbeats forever. Run as a task; abort it to stop.
pub async fn stay_registered(state: WorkerState, address: String, interval: Duration) {
    let key = state.key();
    let (id, started_at) = (state.id().to_owned(), state.started_at());
    let public_key = key.public_key();
    let signature = key.sign(&registration_message(
        &id,
        &address,
        started_at,
        &public_key,
    ));
    let registration = RegisterWorker {
        id,
        address,
        started_at,
        public_key,
        signature,
    };
    loop {
        register(&state, &registration).await;
        let mut failing = false;
        loop {
            tokio::time::sleep(interval).await;
            match state.link().heartbeat(state.id()).await {
                Ok(()) => {
                    if failing {
                        tracing::info!("heartbeats reach the coordinator again");
                        failing = false;
                    }
                }
                Err(error) if error.must_register() => {
                    tracing::info!(%error, "the coordinator does not know this worker; registering again");
                    break;
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "heartbeat failed; retrying every interval");
                        failing = true;
                    }
                }
            }
        }
    }
}

async fn register(state: &WorkerState, registration: &RegisterWorker) {
    let mut wait = Duration::from_millis(100);
    let mut attempts = 0u32;
    loop {
        match state.link().register(registration).await {
            Ok(()) => {
                tracing::info!(
                    coordinator = %state.link().base_url(),
                    address = %registration.address,
                    "registered with the coordinator"
                );
                return;
            }
            Err(error) => {
                attempts += 1;
                if attempts == 1 || attempts.is_multiple_of(10) {
                    tracing::warn!(%error, attempts, "cannot register with the coordinator; retrying");
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_RETRY);
            }
        }
    }
}

/// Tells the coordinator this worker is leaving, so it leaves readiness and scheduling now
/// rather than after a heartbeat timeout.
pub async fn say_goodbye(state: &WorkerState) {
    let signed_at = chrono::Utc::now();
    let goodbye = WorkerGoodbye {
        signed_at,
        signature: state.key().sign(&goodbye_message(state.id(), signed_at)),
    };
    match state.link().goodbye(state.id(), &goodbye).await {
        Ok(()) => tracing::info!("told the coordinator this worker is stopping"),
        Err(error) => tracing::warn!(%error, "cannot tell the coordinator this worker is stopping"),
    }
}
