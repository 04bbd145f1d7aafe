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
//! - [`split_source`]: [`SplitSource`], where a split's batches come from, and
//!   [`LocalSplitSource`], which reads them through the local connector.
//! - `split_partition`: the splits one DataFusion partition reads, in turn.
//! - [`scan_log`]: [`ScanLog`], what each scan asked the connector for.
//! - `sync_bridge`: connector calls from DataFusion's synchronous catalog methods.
//! - [`catalog_ddl`]: `CREATE`/`ALTER`/`DROP`/`SHOW CATALOG(S)` and friends, parsed.
//! - [`query_engine`]: [`QueryEngine`], the facade: SQL text in, Arrow batches out.
//! - [`query_options`]: [`QueryOptions`], one statement's session settings and memory limit.
//! - [`error`]: [`Error`] and [`Result`].

pub mod catalog_ddl;
pub mod catalog_list;
mod catalog_metadata;
mod catalog_provider;
pub mod error;
pub mod filter_pushdown;
pub mod query_engine;
pub mod query_options;
pub mod scan_log;
mod schema_provider;
mod split_partition;
pub mod split_source;
mod sync_bridge;
mod table_provider;

pub use catalog_ddl::CatalogDdl;
pub use catalog_list::QuarryCatalogs;
pub use error::{Error, Result};
pub use query_engine::QueryEngine;
pub use query_options::{QueryOptions, check_session_setting};
pub use scan_log::{ScanLog, ScanRecord};
pub use split_source::{LocalSplitSource, SplitSource, SplitTask};
