//! [`QuarryCatalog`]: one catalog generation as a DataFusion `CatalogProvider`; its schemas are
//! the connector's `list_schemas`.

use std::sync::Arc;

use datafusion::catalog::{CatalogProvider, SchemaProvider};

use crate::catalog_list::CatalogEntry;
use crate::schema_provider::QuarrySchema;
use crate::sync_bridge::block_on;

#[derive(Debug)]
pub(crate) struct QuarryCatalog {
    entry: Arc<CatalogEntry>,
}

impl QuarryCatalog {
    pub(crate) fn new(entry: Arc<CatalogEntry>) -> Self {
        QuarryCatalog { entry }
    }
}

impl CatalogProvider for QuarryCatalog {
    /// The connector's schemas; none (with a warning logged) when the connector fails, since
    /// this method cannot report an error.
    fn schema_names(&self) -> Vec<String> {
        let metadata = &self.entry.metadata;
        match block_on(self.entry.handle.as_ref(), metadata.schemas()).and_then(|r| r) {
            Ok(names) => names.as_ref().clone(),
            Err(e) => {
                tracing::warn!(catalog = %self.entry.name, error = %e, "cannot list schemas");
                Vec::new()
            }
        }
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if !self.schema_names().iter().any(|s| s == name) {
            return None;
        }
        Some(Arc::new(QuarrySchema::new(
            Arc::clone(&self.entry),
            name.to_owned(),
        )))
    }
}
