//! What PostgreSQL clients look for when they connect and browse: a database, `public`, a
//! `pg_catalog` schema and the functions they call (`current_schema()`, `current_database()`,
//! `format_type`, `has_table_privilege`, `pg_table_is_visible`, `to_regtype`, …).
//!
//! Every session's default catalog is [`SYSTEM_CATALOG`] (`quarry`, what `psql -d quarry`
//! names), holding an empty `public` and `pg_catalog` from `datafusion-pg-catalog`. Its
//! `pg_class`, `pg_namespace` and `pg_attribute` describe every catalog's schemas, tables and
//! columns, so a client's table browser lists the Quarry catalogs' tables by their schema names;
//! queries still name them `catalog.schema.table` (ADR 0023).

use std::sync::Arc;

use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider};
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::setup_pg_catalog;

use crate::to_regtype::to_regtype_udf;

/// The catalog every session starts in: PostgreSQL's "database".
pub const SYSTEM_CATALOG: &str = "quarry";
/// The schema every session starts in, empty.
pub const DEFAULT_SCHEMA: &str = "public";

/// Registers [`SYSTEM_CATALOG`] with `public` and `pg_catalog`, and the PostgreSQL functions,
/// in `ctx`.
pub(crate) fn install(ctx: &SessionContext) -> Result<()> {
    let catalog = MemoryCatalogProvider::new();
    catalog.register_schema(DEFAULT_SCHEMA, Arc::new(MemorySchemaProvider::new()))?;
    ctx.register_catalog(SYSTEM_CATALOG, Arc::new(catalog));
    setup_pg_catalog(ctx, SYSTEM_CATALOG, EmptyContextProvider).map_err(|e| *e)?;
    ctx.register_udf(to_regtype_udf());
    Ok(())
}
