//! What Flight SQL's catalog calls list: the catalogs, schemas and tables of the engine queries
//! plan against (every queryable Quarry catalog, and the system catalog `quarry`). The
//! library's builders apply the clients' name patterns; this reads the engine.

use arrow_flight::sql::metadata::{GetCatalogsBuilder, GetDbSchemasBuilder, GetTablesBuilder};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;

/// Every catalog's name, sorted.
pub fn catalogs(context: &SessionContext, builder: &mut GetCatalogsBuilder) {
    let mut names = context.catalog_names();
    names.sort();
    for name in names {
        builder.append(name);
    }
}

/// Every schema of `catalog` (all catalogs for `None`).
pub fn schemas(context: &SessionContext, catalog: Option<&str>, builder: &mut GetDbSchemasBuilder) {
    for (catalog_name, schema_name) in schema_names(context, catalog) {
        builder.append(catalog_name, schema_name);
    }
}

/// Every table of `catalog` (all catalogs for `None`), with its Arrow schema.
pub async fn tables(
    context: &SessionContext,
    catalog: Option<&str>,
    builder: &mut GetTablesBuilder,
) -> Result<()> {
    for (catalog_name, schema_name) in schema_names(context, catalog) {
        let Some(schema) = context
            .catalog(&catalog_name)
            .and_then(|catalog| catalog.schema(&schema_name))
        else {
            continue;
        };
        let mut table_names = schema.table_names();
        table_names.sort();
        for table_name in table_names {
            let Some(table) = schema.table(&table_name).await? else {
                continue;
            };
            builder
                .append(
                    &catalog_name,
                    &schema_name,
                    &table_name,
                    table_type(table.table_type()),
                    &table.schema(),
                )
                .map_err(|error| DataFusionError::External(Box::new(error)))?;
        }
    }
    Ok(())
}

/// The table types tables are listed with.
pub const TABLE_TYPES: [&str; 3] = ["LOCAL TEMPORARY", "TABLE", "VIEW"];

fn table_type(table_type: TableType) -> &'static str {
    match table_type {
        TableType::Base => "TABLE",
        TableType::View => "VIEW",
        TableType::Temporary => "LOCAL TEMPORARY",
    }
}

fn schema_names(context: &SessionContext, catalog: Option<&str>) -> Vec<(String, String)> {
    let mut catalogs = match catalog {
        Some(catalog) => vec![catalog.to_owned()],
        None => context.catalog_names(),
    };
    catalogs.sort();
    let mut names = Vec::new();
    for catalog_name in catalogs {
        let Some(catalog) = context.catalog(&catalog_name) else {
            continue;
        };
        let mut schemas = catalog.schema_names();
        schemas.sort();
        names.extend(
            schemas
                .into_iter()
                .map(|schema| (catalog_name.clone(), schema)),
        );
    }
    names
}
