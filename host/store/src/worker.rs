//! Workers as the store keeps them: a process that announced itself, with its heartbeat and
//! whether it is alive.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::error::UnknownState;
use crate::row_decoding::{converted_column, from_row_on_both_backends};

/// Whether a worker counts for readiness and scheduling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerState {
    /// Registered and heartbeating.
    Alive,
    /// Missed its heartbeats; comes back to `alive` with its next heartbeat.
    Dead,
    /// Said goodbye; must register again to come back.
    Stopped,
}

impl WorkerState {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Alive => "alive",
            WorkerState::Dead => "dead",
            WorkerState::Stopped => "stopped",
        }
    }
}

impl fmt::Display for WorkerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WorkerState {
    type Err = UnknownState;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "alive" => Ok(WorkerState::Alive),
            "dead" => Ok(WorkerState::Dead),
            "stopped" => Ok(WorkerState::Stopped),
            _ => Err(UnknownState {
                kind: "worker state",
                value: value.to_owned(),
            }),
        }
    }
}

impl TryFrom<String> for WorkerState {
    type Error = UnknownState;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// A stored worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worker {
    /// Chosen by the worker.
    pub id: String,
    /// Where the coordinator reaches it, as the worker announced it.
    pub address: String,
    /// When the worker process started, as the worker announced it.
    pub started_at: DateTime<Utc>,
    pub last_heartbeat: DateTime<Utc>,
    pub state: WorkerState,
    /// The Ed25519 public key (hex) the id is bound to: the key that signed its registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

from_row_on_both_backends!(Worker, |row| {
    Ok(Worker {
        id: row.try_get("id")?,
        address: row.try_get("address")?,
        started_at: row.try_get("started_at")?,
        last_heartbeat: row.try_get("last_heartbeat")?,
        state: converted_column::<_, String, _>(row, "state")?,
        public_key: row.try_get("public_key")?,
    })
});
