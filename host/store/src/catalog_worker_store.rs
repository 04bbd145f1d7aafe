//! What workers report per catalog, and the catalog status derived from it.

use std::collections::BTreeMap;

use crate::catalog_status::{
    CatalogStatus, WorkerCatalogState, WorkerCatalogStatus, derive_status,
};
use crate::catalog_worker::{CatalogReport, LoadState, ReportOutcome};
use crate::error::{Entity, Error, Result, is_foreign_key_violation};
use crate::store::{BeginWrite, Store, now, on_backend};

/// One row of the status queries: a catalog, one live worker (if any) and its report (if any).
type StatusRow = (
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// Every catalog joined with every live worker and that worker's report, followed by `$tail`.
/// One statement, so one snapshot: the generation and the reports agree. The left join on
/// `workers` keeps a catalog that has no live worker.
macro_rules! status_query {
    ($tail:literal) => {
        concat!(
            "SELECT c.name, c.generation, w.id, cw.generation, cw.state, cw.error \
             FROM catalogs c \
             LEFT JOIN workers w ON w.state = 'alive' \
             LEFT JOIN catalog_workers cw ON cw.catalog_name = c.name AND cw.worker_id = w.id ",
            $tail
        )
    };
}

impl Store {
    /// Records what `worker` reports for `catalog` at `generation`, in one conditional
    /// statement:
    ///
    /// - a report for a generation the catalog does not have yet is refused
    ///   ([`Error::Conflict`]): it can only come from a confused worker;
    /// - a report older than what the worker's row already holds is ignored
    ///   ([`ReportOutcome::Stale`]): an older generation never overwrites a newer one;
    /// - otherwise it replaces the row, even at the same generation (`loading` → `loaded`).
    ///
    /// A report for a generation older than the catalog's but newer than the row's is recorded:
    /// it tells where the worker is, and the status shows the worker as behind.
    ///
    /// `error` is kept only with [`LoadState::Failed`].
    pub async fn report_catalog_state(
        &self,
        worker: &str,
        catalog: &str,
        generation: i64,
        state: LoadState,
        error: Option<&str>,
    ) -> Result<ReportOutcome> {
        if generation < 1 {
            return Err(Error::InvalidName {
                kind: "generation",
                value: generation.to_string(),
                reason: "must be at least 1",
            });
        }
        let error = error.filter(|_| state == LoadState::Failed);
        let updated_at = now();
        on_backend!(self, pool => {
            let written = sqlx::query(
                "INSERT INTO catalog_workers \
                 (catalog_name, worker_id, generation, state, error, updated_at) \
                 SELECT name, $2, $3, $4, $5, $6 FROM catalogs \
                 WHERE name = $1 AND generation >= $3 \
                 ON CONFLICT (catalog_name, worker_id) DO UPDATE SET \
                 generation = excluded.generation, state = excluded.state, \
                 error = excluded.error, updated_at = excluded.updated_at \
                 WHERE catalog_workers.generation <= excluded.generation",
            )
            .bind(catalog)
            .bind(worker)
            .bind(generation)
            .bind(state.as_str())
            .bind(error)
            .bind(updated_at)
            .execute(pool)
            .await;
            match written {
                Ok(done) if done.rows_affected() > 0 => return Ok(ReportOutcome::Recorded),
                Ok(_) => {}
                Err(error) if is_foreign_key_violation(&error) => {
                    // The worker is unknown (or the catalog was deleted meanwhile).
                    let known: Option<String> =
                        sqlx::query_scalar("SELECT id FROM workers WHERE id = $1")
                            .bind(worker)
                            .fetch_optional(pool)
                            .await?;
                    let kind = if known.is_none() { Entity::Worker } else { Entity::Catalog };
                    let name = if known.is_none() { worker } else { catalog };
                    return Err(Error::not_found(kind, name));
                }
                Err(error) => return Err(error.into()),
            }
            // Nothing written: say why.
            let found: Option<(i64, Option<i64>)> = sqlx::query_as(
                "SELECT c.generation, cw.generation FROM catalogs c \
                 LEFT JOIN catalog_workers cw \
                 ON cw.catalog_name = c.name AND cw.worker_id = $2 \
                 WHERE c.name = $1",
            )
            .bind(catalog)
            .bind(worker)
            .fetch_optional(pool)
            .await?;
            match found {
                None => Err(Error::not_found(Entity::Catalog, catalog)),
                Some((current, _)) if current < generation => Err(Error::Conflict(format!(
                    "catalog \"{catalog}\" is at generation {current}; worker \"{worker}\" \
                     reported generation {generation}, which does not exist yet"
                ))),
                Some((_, Some(recorded))) if recorded > generation => {
                    Ok(ReportOutcome::Stale { recorded_generation: recorded })
                }
                // The catalog changed between the write and this read; the worker reports
                // again on its next reconcile.
                Some(_) => Err(Error::Conflict(format!(
                    "catalog \"{catalog}\" changed while worker \"{worker}\" reported \
                     generation {generation}; report again"
                ))),
            }
        })
    }

    /// Records many reports of `worker` in one transaction, each under the rules of
    /// [`Store::report_catalog_state`], except that a report that would be refused (unknown
    /// catalog, a generation that does not exist) or is stale is skipped. Returns how many were
    /// recorded. [`Error::NotFound`] if the worker is unknown.
    ///
    /// A worker that loads ten thousand catalogs reports them in a few transactions rather than
    /// ten thousand.
    pub async fn report_catalog_states(
        &self,
        worker: &str,
        reports: &[CatalogReport<'_>],
    ) -> Result<usize> {
        let updated_at = now();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let known: Option<String> = sqlx::query_scalar("SELECT id FROM workers WHERE id = $1")
                .bind(worker)
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                return Err(Error::not_found(Entity::Worker, worker));
            }
            let mut recorded = 0;
            for report in reports.iter().filter(|r| r.generation >= 1) {
                let error = report.error.filter(|_| report.state == LoadState::Failed);
                let written = sqlx::query(
                    "INSERT INTO catalog_workers \
                     (catalog_name, worker_id, generation, state, error, updated_at) \
                     SELECT name, $2, $3, $4, $5, $6 FROM catalogs \
                     WHERE name = $1 AND generation >= $3 \
                     ON CONFLICT (catalog_name, worker_id) DO UPDATE SET \
                     generation = excluded.generation, state = excluded.state, \
                     error = excluded.error, updated_at = excluded.updated_at \
                     WHERE catalog_workers.generation <= excluded.generation",
                )
                .bind(report.catalog)
                .bind(worker)
                .bind(report.generation)
                .bind(report.state.as_str())
                .bind(error)
                .bind(updated_at)
                .execute(&mut *tx)
                .await?;
                if written.rows_affected() > 0 {
                    recorded += 1;
                }
            }
            tx.commit().await?;
            Ok(recorded)
        })
    }

    /// The derived status of the catalog `name`, with one entry per live worker.
    pub async fn catalog_status(&self, name: &str) -> Result<CatalogStatus> {
        let rows: Vec<StatusRow> = on_backend!(self, pool => {
            sqlx::query_as(status_query!("WHERE c.name = $1 ORDER BY w.id"))
                .bind(name)
                .fetch_all(pool)
                .await?
        });
        statuses_from_rows(rows)?
            .pop()
            .ok_or_else(|| Error::not_found(Entity::Catalog, name))
    }

    /// The derived status of every catalog, ordered by catalog name.
    pub async fn catalog_statuses(&self) -> Result<Vec<CatalogStatus>> {
        let rows: Vec<StatusRow> = on_backend!(self, pool => {
            sqlx::query_as(status_query!("ORDER BY c.name, w.id"))
                .fetch_all(pool)
                .await?
        });
        statuses_from_rows(rows)
    }
}

/// Groups status rows (ordered by catalog) into one derived status per catalog.
fn statuses_from_rows(rows: Vec<StatusRow>) -> Result<Vec<CatalogStatus>> {
    let mut catalogs: BTreeMap<String, (i64, Vec<WorkerCatalogStatus>)> = BTreeMap::new();
    for (catalog, generation, worker, reported_generation, state, error) in rows {
        let (_, workers) = catalogs.entry(catalog).or_insert((generation, Vec::new()));
        let Some(worker) = worker else { continue };
        let state = match state {
            Some(state) => state
                .parse::<LoadState>()
                .map_err(|unknown| sqlx::Error::Decode(Box::new(unknown)))?
                .into(),
            None => WorkerCatalogState::Pending,
        };
        workers.push(WorkerCatalogStatus {
            worker,
            generation: reported_generation,
            state,
            error,
        });
    }
    Ok(catalogs
        .into_iter()
        .map(|(catalog, (generation, workers))| derive_status(catalog, generation, workers))
        .collect())
}
