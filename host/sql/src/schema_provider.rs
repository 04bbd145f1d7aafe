//! [`QuarrySchema`]: one schema of a catalog as a DataFusion `SchemaProvider`; its tables are the
//! connector's `list_tables`, each described on first use.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::Result;
use datafusion::logical_expr::TableType;

use crate::catalog_list::CatalogEntry;
use crate::sync_bridge::block_on;
use crate::table_provider::QuarryTable;

#[derive(Debug)]
pub(crate) struct QuarrySchema {
    entry: Arc<CatalogEntry>,
    name: String,
}

impl QuarrySchema {
    pub(crate) fn new(entry: Arc<CatalogEntry>, name: String) -> Self {
        QuarrySchema { entry, name }
    }
}

#[async_trait]
impl SchemaProvider for QuarrySchema {
    /// The connector's tables; none (with a warning logged) when the connector fails, since
    /// this method cannot report an error.
    fn table_names(&self) -> Vec<String> {
        let metadata = &self.entry.metadata;
        match block_on(self.entry.handle.as_ref(), metadata.tables(&self.name)).and_then(|r| r) {
            Ok(names) => names.map(|n| n.as_ref().clone()).unwrap_or_default(),
            Err(e) => {
                tracing::warn!(
                    catalog = %self.entry.name,
                    schema = %self.name,
                    error = %e,
                    "cannot list tables"
                );
                Vec::new()
            }
        }
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some(described) = self.entry.metadata.table(&self.name, name).await? else {
            return Ok(None);
        };
        Ok(Some(Arc::new(QuarryTable::new(
            Arc::clone(&self.entry),
            self.name.clone(),
            name.to_owned(),
            described,
        ))))
    }

    /// Every table of a connector is a base table; answering from the table list spares
    /// `information_schema.tables` a description per table.
    async fn table_type(&self, name: &str) -> Result<Option<TableType>> {
        let tables = self.entry.metadata.tables(&self.name).await?;
        Ok(tables
            .filter(|t| t.iter().any(|t| t == name))
            .map(|_| TableType::Base))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.table_names().iter().any(|t| t == name)
    }
}
