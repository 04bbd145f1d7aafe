//! Quarry's SQL layer: Quarry catalogs as DataFusion catalogs, table scans as connector splits,
//! and catalog DDL.
//!
//! What lives here, by file:
//!
//! - [`catalog_list`]: [`QuarryCatalogs`], the catalogs (a connector at a generation each) as a
//!   DataFusion `CatalogProviderList`, changed at runtime with `set_catalog`/`remove_catalog`.
//! - `catalog_metadata`: a catalog generation's cached schema and table names, descriptions
//!   and pushdown answers.
//! - `catalog_provider`, `schema_provider`, `table_provider`: the DataFusion views of a
//!   catalog, a schema and a table; a table scan asks the connector for splits.
//! - [`filter_pushdown`]: DataFusion filters in the contract's predicate form.
//! - [`catalog_version`]: [`CatalogVersion`], which definition of a catalog a scan was planned
//!   with.
//! - [`connector_scan_exec`]: [`ConnectorScanExec`], a table scan's splits, the leaf that runs
//!   on the workers; [`connector_scan_codec`]: how it travels there, and [`ScanSources`], how
//!   the receiving side finds its connector; [`scan_distribution`]: how the distributed planner
//!   spreads it over tasks.
//! - [`split_source`]: [`SplitSource`], where a split's batches come from, and
//!   [`LocalSplitSource`], which reads them through the local connector.
//! - [`scan_log`]: [`ScanLog`], what each scan asked the connector for.
//! - `sync_bridge`: connector calls from DataFusion's synchronous catalog methods.
//! - [`catalog_ddl`]: `CREATE`/`ALTER`/`DROP`/`SHOW CATALOG(S)` and friends, parsed.
//! - [`query_engine`]: [`QueryEngine`], the facade: SQL text in, Arrow batches out.
//! - [`query_options`]: [`QueryOptions`], one statement's session settings and memory limit.
//! - [`pg_catalog_setup`]: the `quarry` catalog every session starts in, with `public` and
//!   `pg_catalog`, and the PostgreSQL functions clients call; [`client_sql_rewrite`]: the
//!   rewrites clients' catalog queries need; `to_regtype`: the one catalog function clients
//!   call that the library lacks.
//! - [`error`]: [`Error`] and [`Result`].

pub mod catalog_ddl;
pub mod catalog_list;
mod catalog_metadata;
mod catalog_provider;
pub mod catalog_version;
pub mod client_sql_rewrite;
pub mod connector_scan_codec;
pub mod connector_scan_exec;
pub mod error;
pub mod filter_pushdown;
pub mod pg_catalog_setup;
pub mod query_engine;
pub mod query_options;
pub mod scan_distribution;
pub mod scan_log;
mod schema_provider;
pub mod split_source;
mod sync_bridge;
mod table_provider;
mod to_regtype;

pub use catalog_ddl::CatalogDdl;
pub use catalog_list::QuarryCatalogs;
pub use catalog_version::CatalogVersion;
pub use client_sql_rewrite::rewrite_client_sql;
pub use connector_scan_codec::{ConnectorScanCodec, ScanSources};
pub use connector_scan_exec::{ConnectorScanExec, ScanDescription};
pub use error::{Error, Result};
pub use query_engine::QueryEngine;
pub use query_options::{QueryOptions, check_session_setting};
pub use scan_log::{ScanLog, ScanRecord};
pub use split_source::{LocalSplitSource, SplitSource, SplitTask};
