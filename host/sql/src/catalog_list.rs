//! [`QuarryCatalogs`]: the set of Quarry catalogs as a DataFusion `CatalogProviderList`.
//!
//! Why a catalog provider list rather than catalogs registered on a `SessionContext`: the
//! list is the one place that knows which catalogs exist, so a catalog set or removed here is
//! visible to the next query of every session sharing the list, with nothing to re-register.
//! Each catalog is a connector at a generation; its metadata cache belongs to that generation
//! and goes with it when the catalog is replaced or removed. A query that already resolved its
//! tables keeps the generation it started with until it ends.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use datafusion::catalog::{CatalogProvider, CatalogProviderList};
use quarry_runtime::Connector;
use tokio::runtime::Handle;

use crate::catalog_metadata::CatalogMetadata;
use crate::catalog_provider::QuarryCatalog;
use crate::catalog_version::CatalogVersion;
use crate::error::{Error, Result};
use crate::scan_log::ScanLog;
use crate::split_source::SplitSource;

/// One catalog generation: what its tables, scans and splits need.
#[derive(Debug)]
pub(crate) struct CatalogEntry {
    pub name: String,
    pub version: CatalogVersion,
    pub metadata: CatalogMetadata,
    pub split_source: Arc<dyn SplitSource>,
    pub scan_log: ScanLog,
    /// Drives connector calls made from DataFusion's synchronous methods when they are called
    /// outside a tokio runtime.
    pub handle: Option<Handle>,
}

#[derive(Debug, Default)]
struct Catalogs {
    quarry: HashMap<String, Arc<CatalogEntry>>,
    /// Catalogs DataFusion itself registered (`SessionContext::register_catalog`).
    other: HashMap<String, Arc<dyn CatalogProvider>>,
}

/// The Quarry catalogs. Cheap to clone; clones share the catalogs and the scan log.
#[derive(Debug, Clone)]
pub struct QuarryCatalogs {
    catalogs: Arc<RwLock<Catalogs>>,
    scan_log: ScanLog,
    handle: Option<Handle>,
}

impl Default for QuarryCatalogs {
    fn default() -> Self {
        Self::new()
    }
}

impl QuarryCatalogs {
    /// An empty set. Remembers the current tokio runtime, if any, to run connector calls that
    /// DataFusion makes from outside one.
    pub fn new() -> Self {
        QuarryCatalogs {
            catalogs: Arc::default(),
            scan_log: ScanLog::default(),
            handle: Handle::try_current().ok(),
        }
    }

    /// Adds catalog `name` at `version`, or replaces it when it holds another version (dropping
    /// the old version's metadata). Setting the version a catalog already has changes nothing,
    /// so repeated deliveries of the same version keep the cache.
    pub fn set_catalog(
        &self,
        name: &str,
        version: CatalogVersion,
        connector: Connector,
        split_source: Arc<dyn SplitSource>,
    ) {
        let mut catalogs = self.write();
        if catalogs
            .quarry
            .get(name)
            .is_some_and(|c| c.version == version)
        {
            return;
        }
        let entry = CatalogEntry {
            name: name.to_owned(),
            version,
            metadata: CatalogMetadata::new(connector),
            split_source,
            scan_log: self.scan_log.clone(),
            handle: self.handle.clone(),
        };
        catalogs.other.remove(name);
        catalogs.quarry.insert(name.to_owned(), Arc::new(entry));
    }

    /// Removes catalog `name`; returns whether it existed.
    pub fn remove_catalog(&self, name: &str) -> bool {
        let mut catalogs = self.write();
        catalogs.quarry.remove(name).is_some() || catalogs.other.remove(name).is_some()
    }

    /// The version catalog `name` is at, if it is a Quarry catalog.
    pub fn version(&self, name: &str) -> Option<CatalogVersion> {
        self.read().quarry.get(name).map(|c| c.version)
    }

    /// The generation catalog `name` is at, if it is a Quarry catalog.
    pub fn generation(&self, name: &str) -> Option<i64> {
        self.version(name).map(|v| v.generation)
    }

    /// The connector of catalog `name`, if it is a Quarry catalog.
    pub fn connector(&self, name: &str) -> Option<Connector> {
        self.read()
            .quarry
            .get(name)
            .map(|c| c.metadata.connector().clone())
    }

    /// The schemas of `catalog`, asking its connector if they are not cached (errors are
    /// reported, unlike through DataFusion's synchronous `schema_names`).
    pub async fn schema_names(&self, catalog: &str) -> Result<Vec<String>> {
        let entry = self.read().quarry.get(catalog).cloned();
        if let Some(entry) = entry {
            return Ok(entry.metadata.schemas().await?.as_ref().clone());
        }
        match CatalogProviderList::catalog(self, catalog) {
            Some(other) => Ok(other.schema_names()),
            None => Err(Error::NotFound(format!("catalog \"{catalog}\" not found"))),
        }
    }

    /// The tables of `catalog.schema`, asking its connector if they are not cached.
    pub async fn table_names(&self, catalog: &str, schema: &str) -> Result<Vec<String>> {
        let not_found = || Error::NotFound(format!("schema \"{catalog}.{schema}\" not found"));
        let entry = self.read().quarry.get(catalog).cloned();
        if let Some(entry) = entry {
            let tables = entry.metadata.tables(schema).await?.ok_or_else(not_found)?;
            return Ok(tables.as_ref().clone());
        }
        match CatalogProviderList::catalog(self, catalog) {
            Some(other) => Ok(other.schema(schema).ok_or_else(not_found)?.table_names()),
            None => Err(Error::NotFound(format!("catalog \"{catalog}\" not found"))),
        }
    }

    /// What every scan of these catalogs asked its connector for.
    pub fn scan_log(&self) -> &ScanLog {
        &self.scan_log
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Catalogs> {
        self.catalogs.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Catalogs> {
        self.catalogs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl CatalogProviderList for QuarryCatalogs {
    /// Registers a catalog that is not a Quarry catalog (DataFusion's own, in memory). A Quarry
    /// catalog of the same name hides it.
    fn register_catalog(
        &self,
        name: String,
        catalog: Arc<dyn CatalogProvider>,
    ) -> Option<Arc<dyn CatalogProvider>> {
        self.write().other.insert(name, catalog)
    }

    fn catalog_names(&self) -> Vec<String> {
        let catalogs = self.read();
        let mut names: Vec<String> = catalogs
            .quarry
            .keys()
            .chain(
                catalogs
                    .other
                    .keys()
                    .filter(|n| !catalogs.quarry.contains_key(*n)),
            )
            .cloned()
            .collect();
        names.sort();
        names
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        let catalogs = self.read();
        if let Some(entry) = catalogs.quarry.get(name) {
            return Some(Arc::new(QuarryCatalog::new(Arc::clone(entry))));
        }
        catalogs.other.get(name).cloned()
    }
}
