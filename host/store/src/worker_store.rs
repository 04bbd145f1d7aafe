//! Worker registration, heartbeats, and marking silent workers dead.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::{Entity, Error, Result};
use crate::store::{Backend, BeginWrite, Store, now, on_backend, storage_precision};
use crate::validation::validate_worker_id;
use crate::worker::{Worker, WorkerState};

impl Store {
    /// Registers the worker `id` as alive at `address`, or registers it again.
    ///
    /// `started_at` is when the worker process started. A registration with a different
    /// `started_at` than the stored one comes from a new process, which holds no catalogs yet, so
    /// the worker's old reports are dropped in the same transaction; the same `started_at` is the
    /// same process announcing itself again (say, to a restarted coordinator) and keeps them.
    pub async fn register_worker(
        &self,
        id: &str,
        address: &str,
        started_at: DateTime<Utc>,
    ) -> Result<Worker> {
        self.register_worker_with_key(id, address, started_at, None)
            .await
    }

    /// [`Store::register_worker`], binding the id to `public_key`: the first key an id is
    /// registered with stays its key while the worker is alive. Another key for a live worker's
    /// id is an [`Error::Conflict`] and changes nothing; once the worker is dead or stopped, a
    /// new key takes the id over (a worker whose cache directory was wiped).
    pub async fn register_worker_with_key(
        &self,
        id: &str,
        address: &str,
        started_at: DateTime<Utc>,
        public_key: Option<&str>,
    ) -> Result<Worker> {
        validate_worker_id(id)?;
        let started_at = storage_precision(started_at);
        let now = now();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let bound: Option<(Option<String>, String)> = sqlx::query_as(
                "SELECT public_key, state FROM workers WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let (Some((Some(bound_key), state)), Some(key)) = (&bound, public_key)
                && bound_key != key
                && state == WorkerState::Alive.as_str()
            {
                return Err(Error::Conflict(format!(
                    "worker id \"{id}\" belongs to a live worker with another key; a worker \
                     takes over an id only after its holder is dead or stopped"
                )));
            }
            sqlx::query(
                "DELETE FROM catalog_workers WHERE worker_id = $1 \
                 AND EXISTS (SELECT 1 FROM workers WHERE id = $1 AND started_at <> $2)",
            )
            .bind(id)
            .bind(started_at)
            .execute(&mut *tx)
            .await?;
            let worker = sqlx::query_as::<_, Worker>(
                "INSERT INTO workers (id, address, started_at, last_heartbeat, state, public_key) \
                 VALUES ($1, $2, $3, $4, 'alive', $5) \
                 ON CONFLICT (id) DO UPDATE SET address = excluded.address, \
                 started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat, \
                 state = excluded.state, \
                 public_key = COALESCE(excluded.public_key, workers.public_key) \
                 RETURNING *",
            )
            .bind(id)
            .bind(address)
            .bind(started_at)
            .bind(now)
            .bind(public_key)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(worker)
        })
    }

    /// Records a heartbeat from the worker `id`; a worker marked dead is alive again.
    ///
    /// [`Error::Conflict`] if the worker has stopped: it must register again.
    pub async fn worker_heartbeat(&self, id: &str) -> Result<()> {
        let beat = now();
        let updated = on_backend!(self, pool => {
            sqlx::query(
                "UPDATE workers SET last_heartbeat = $2, state = 'alive' \
                 WHERE id = $1 AND state <> 'stopped'",
            )
            .bind(id)
            .bind(beat)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if updated > 0 {
            return Ok(());
        }
        match self.get_worker(id).await?.state {
            WorkerState::Stopped => Err(Error::Conflict(format!(
                "worker \"{id}\" has stopped; it must register again"
            ))),
            // It came back between the two statements.
            WorkerState::Alive | WorkerState::Dead => Ok(()),
        }
    }

    /// Marks the worker `id` stopped (it said goodbye). It no longer counts for readiness.
    pub async fn mark_worker_stopped(&self, id: &str) -> Result<()> {
        let updated = on_backend!(self, pool => {
            sqlx::query("UPDATE workers SET state = 'stopped' WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(Error::not_found(Entity::Worker, id));
        }
        Ok(())
    }

    /// Marks dead every alive worker whose last heartbeat is older than `older_than`, and
    /// returns their ids, sorted.
    pub async fn mark_dead_workers(&self, older_than: Duration) -> Result<Vec<String>> {
        let age = TimeDelta::from_std(older_than).unwrap_or(TimeDelta::MAX);
        let cutoff = now()
            .checked_sub_signed(age)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut ids: Vec<String> = match &self.backend {
            // SQLite keeps timestamps as text: compare them as times, not as strings.
            Backend::Sqlite(pool) => {
                sqlx::query_scalar(
                    "UPDATE workers SET state = 'dead' WHERE state = 'alive' \
                     AND julianday(last_heartbeat) < julianday($1) RETURNING id",
                )
                .bind(cutoff)
                .fetch_all(pool)
                .await?
            }
            Backend::Postgres(pool) => {
                sqlx::query_scalar(
                    "UPDATE workers SET state = 'dead' WHERE state = 'alive' \
                     AND last_heartbeat < $1 RETURNING id",
                )
                .bind(cutoff)
                .fetch_all(pool)
                .await?
            }
        };
        ids.sort();
        if !ids.is_empty() {
            tracing::info!(workers = ?ids, "marked workers dead after missed heartbeats");
        }
        Ok(ids)
    }

    /// The worker `id`.
    pub async fn get_worker(&self, id: &str) -> Result<Worker> {
        let found = on_backend!(self, pool => {
            sqlx::query_as::<_, Worker>("SELECT * FROM workers WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        found.ok_or_else(|| Error::not_found(Entity::Worker, id))
    }

    /// Every worker, whatever its state, ordered by id.
    pub async fn list_workers(&self) -> Result<Vec<Worker>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_as::<_, Worker>("SELECT * FROM workers ORDER BY id")
                .fetch_all(pool)
                .await?
        }))
    }
}
