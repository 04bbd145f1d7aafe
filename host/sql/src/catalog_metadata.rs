//! What one catalog generation's connector said about itself: schema and table names, table
//! descriptions and per-filter pushdown answers, each asked once and kept until the catalog is
//! replaced or removed (a new generation starts with an empty cache).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::error::Result;
use quarry_runtime::{
    Connector, ConnectorErrorKind, Error as RuntimeError, Predicate, Pushdown, ScanRequest,
    TableSchema,
};

use crate::error::to_datafusion;

/// (schema, table).
type TableKey = (String, String);

/// The metadata cache of one (catalog, generation).
#[derive(Debug)]
pub(crate) struct CatalogMetadata {
    connector: Connector,
    schemas: Mutex<Option<Arc<Vec<String>>>>,
    /// Tables by schema; `None` for a schema the connector says does not exist.
    tables: Mutex<HashMap<String, Option<Arc<Vec<String>>>>>,
    /// Descriptions by (schema, table); `None` for a table that does not exist.
    described: Mutex<HashMap<TableKey, Option<Arc<TableSchema>>>>,
    /// The connector's pushdown answer for one filter of one table, keyed by (schema, table,
    /// the filter's debug form).
    pushdown: Mutex<HashMap<(String, String, String), Pushdown>>,
}

fn is_not_found(e: &RuntimeError) -> bool {
    matches!(
        e,
        RuntimeError::Connector {
            kind: ConnectorErrorKind::NotFound,
            ..
        }
    )
}

/// Locks a cache map; a poisoned lock only means another thread panicked mid-insert, and the
/// maps hold no invariant across entries, so the data is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CatalogMetadata {
    pub(crate) fn new(connector: Connector) -> Self {
        CatalogMetadata {
            connector,
            schemas: Mutex::new(None),
            tables: Mutex::new(HashMap::new()),
            described: Mutex::new(HashMap::new()),
            pushdown: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn connector(&self) -> &Connector {
        &self.connector
    }

    /// The catalog's schemas.
    pub(crate) async fn schemas(&self) -> Result<Arc<Vec<String>>> {
        if let Some(s) = lock(&self.schemas).clone() {
            return Ok(s);
        }
        let listed = Arc::new(self.connector.list_schemas().await.map_err(to_datafusion)?);
        *lock(&self.schemas) = Some(Arc::clone(&listed));
        Ok(listed)
    }

    /// The tables of `schema`, or `None` when the connector says it does not exist.
    pub(crate) async fn tables(&self, schema: &str) -> Result<Option<Arc<Vec<String>>>> {
        if let Some(t) = lock(&self.tables).get(schema) {
            return Ok(t.clone());
        }
        let listed = match self.connector.list_tables(schema).await {
            Ok(t) => Some(Arc::new(t)),
            Err(e) if is_not_found(&e) => None,
            Err(e) => return Err(to_datafusion(e)),
        };
        lock(&self.tables).insert(schema.to_owned(), listed.clone());
        Ok(listed)
    }

    /// The description of `schema.table`, or `None` when the connector says it does not exist.
    pub(crate) async fn table(
        &self,
        schema: &str,
        table: &str,
    ) -> Result<Option<Arc<TableSchema>>> {
        let key = (schema.to_owned(), table.to_owned());
        if let Some(t) = lock(&self.described).get(&key) {
            return Ok(t.clone());
        }
        let described = match self.connector.describe_table(schema, table).await {
            Ok(t) => Some(Arc::new(t)),
            Err(e) if is_not_found(&e) => None,
            Err(e) => return Err(to_datafusion(e)),
        };
        lock(&self.described).insert(key, described.clone());
        Ok(described)
    }

    /// How the connector treats each of `filters` on `schema.table`: answers cached from
    /// earlier questions, the rest asked in one `plan_scan` (without projection or limit).
    pub(crate) async fn pushdown(
        &self,
        schema: &str,
        table: &str,
        filters: &[Predicate],
    ) -> Result<Vec<Pushdown>> {
        let key = |p: &Predicate| (schema.to_owned(), table.to_owned(), format!("{p:?}"));
        let mut answers: Vec<Option<Pushdown>> = {
            let cache = lock(&self.pushdown);
            filters
                .iter()
                .map(|p| cache.get(&key(p)).copied())
                .collect()
        };
        let missing: Vec<Predicate> = filters
            .iter()
            .zip(&answers)
            .filter(|(_, a)| a.is_none())
            .map(|(p, _)| p.clone())
            .collect();
        if !missing.is_empty() {
            let mut request = ScanRequest::table(schema, table);
            request.filters = missing.clone();
            let plan = self
                .connector
                .plan_scan(&request)
                .await
                .map_err(to_datafusion)?;
            let mut cache = lock(&self.pushdown);
            let mut asked = missing.iter().zip(plan.filters);
            for answer in answers.iter_mut().filter(|a| a.is_none()) {
                if let Some((p, pushdown)) = asked.next() {
                    cache.insert(key(p), pushdown);
                    *answer = Some(pushdown);
                }
            }
        }
        Ok(answers
            .into_iter()
            .map(|a| a.unwrap_or(Pushdown::Unsupported))
            .collect())
    }
}
