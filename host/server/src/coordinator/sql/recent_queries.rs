//! [`RecentQueries`]: the statements running now and the last ones to finish, for
//! `GET /v1/queries`: who ran what, how it ended, how many rows it returned, and for a
//! distributed query what each stage moved between processes and where its tasks ran
//! ([`StageTraffic`]).
//!
//! It keeps the [`RECENT_QUERIES`] most recently started statements in memory; the coordinator's
//! log has every one.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::coordinator::sql::query_metrics::Outcome;
use crate::coordinator::sql::stage_traffic::StageTraffic;

/// How many statements the view keeps.
pub const RECENT_QUERIES: usize = 200;

/// One statement, as `GET /v1/queries` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct QueryRecord {
    /// A number the coordinator gives each statement, from 1 up since it started.
    pub id: u64,
    pub user: String,
    /// Its first line, cut short, catalog property values redacted.
    pub statement: String,
    /// `running`, `succeeded`, `failed` or `cancelled`.
    pub state: &'static str,
    pub started_at: DateTime<Utc>,
    /// Milliseconds from its start to its end; to now while it runs.
    pub elapsed_ms: u64,
    /// Rows returned to the client so far.
    pub rows: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What each stage moved, once the workers have reported (empty for a statement that ran
    /// on the coordinator alone, or until the figures arrive).
    pub stages: Vec<StageTraffic>,
    /// Why the stages have no figures, when the workers' metrics did not come.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stages_unknown: Option<String>,
}

/// The view; clones share it.
#[derive(Clone, Debug, Default)]
pub struct RecentQueries {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    records: VecDeque<QueryRecord>,
}

impl RecentQueries {
    /// A statement started; returns its id.
    pub fn started(&self, user: &str, statement: &str) -> u64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        if inner.records.len() == RECENT_QUERIES {
            inner.records.pop_front();
        }
        inner.records.push_back(QueryRecord {
            id,
            user: user.to_owned(),
            statement: statement.to_owned(),
            state: "running",
            started_at: Utc::now(),
            elapsed_ms: 0,
            rows: 0,
            error: None,
            stages: Vec::new(),
            stages_unknown: None,
        });
        id
    }

    /// Statement `id` ended.
    pub fn finished(
        &self,
        id: u64,
        outcome: Outcome,
        took: Duration,
        rows: u64,
        error: Option<String>,
    ) {
        self.update(id, |record| {
            record.state = outcome.as_str();
            record.elapsed_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
            record.rows = rows;
            record.error = error;
        });
    }

    /// The stage figures of statement `id` arrived, or (`Err`) will not.
    pub fn measured(&self, id: u64, stages: Result<Vec<StageTraffic>, String>) {
        self.update(id, |record| match stages {
            Ok(stages) => record.stages = stages,
            Err(reason) => record.stages_unknown = Some(reason),
        });
    }

    /// Every statement kept, newest first; a running one with its time so far.
    pub fn records(&self) -> Vec<QueryRecord> {
        let now = Utc::now();
        self.lock()
            .records
            .iter()
            .rev()
            .map(|record| {
                let mut record = record.clone();
                if record.state == "running" {
                    record.elapsed_ms =
                        u64::try_from((now - record.started_at).num_milliseconds().max(0))
                            .unwrap_or(0);
                }
                record
            })
            .collect()
    }

    fn update(&self, id: u64, change: impl FnOnce(&mut QueryRecord)) {
        let mut inner = self.lock();
        if let Some(record) = inner.records.iter_mut().rev().find(|r| r.id == id) {
            change(record);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_keeps_the_newest_and_shows_how_each_ended() {
        let view = RecentQueries::default();
        let first = view.started("alice", "SELECT 1");
        let second = view.started("bob", "SELECT 2");
        view.finished(
            first,
            Outcome::Failed,
            Duration::from_millis(7),
            0,
            Some("boom".into()),
        );
        view.measured(first, Err("no metrics".into()));
        let records = view.records();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].id, second);
        assert_eq!(records[0].state, "running");
        assert_eq!(records[1].state, "failed");
        assert_eq!(records[1].elapsed_ms, 7);
        assert_eq!(records[1].error.as_deref(), Some("boom"));
        assert_eq!(records[1].stages_unknown.as_deref(), Some("no metrics"));

        for n in 0..RECENT_QUERIES {
            view.started("carol", &format!("SELECT {n}"));
        }
        let records = view.records();
        assert_eq!(records.len(), RECENT_QUERIES);
        assert!(records.iter().all(|r| r.id != first && r.id != second));
    }
}
