//! The postgres connector: the tables and views of one PostgreSQL database, read over the wire
//! protocol through a socket the catalog is granted (`allowed_sockets`).
//!
//! [`connection`] drives `postgres-protocol`'s messages over a blocking `std::net::TcpStream`
//! (wasi:sockets in the component), with trust, cleartext, md5 and SCRAM-SHA-256 logins.
//! [`metadata`] reads schemas, tables and columns from the server's catalog and [`types`] maps
//! column types. A scan's filters become SQL where PostgreSQL's semantics match the engine's
//! ([`pushdown`], [`sql`]); a table is cut into ctid page ranges read in parallel ([`split`]),
//! each streamed from a binary portal a batch at a time ([`reader`]). See
//! `docs/connectors/postgres.md` and ADR 0028.

pub mod config;
pub mod connection;
pub mod metadata;
pub mod pushdown;
pub mod reader;
pub mod split;
pub mod sql;
pub mod types;

use quarry_sdk::{
    Catalog, ConfigIssue, Connector, ConnectorError, ConnectorSpec, Properties, Result, ScanPlan,
    ScanRequest, Split, TableSchema, log, split_json,
};

use crate::config::PgConfig;
use crate::connection::Connection;
use crate::metadata::{TableInfo, is_system_schema};
use crate::pushdown::push_filters;
use crate::reader::PostgresReader;
use crate::split::{SplitPayload, page_ranges};

/// The first PostgreSQL version with TID range scans; older servers get one split per table.
pub const TID_RANGE_SCAN_SINCE: u32 = 14;

/// The connector.
pub struct PostgresConnector;

impl Connector for PostgresConnector {
    type Catalog = PostgresCatalog;

    fn spec() -> ConnectorSpec {
        ConnectorSpec {
            name: "postgres".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "the tables and views of a PostgreSQL database, over the wire protocol \
                to the catalog's allowed_sockets; filters and limits are sent to the server, \
                large tables are read in parallel by ctid ranges"
                .to_owned(),
            config: config::fields(),
        }
    }

    /// Parses the properties, then connects and logs in, so a wrong password, an unreachable
    /// server or a missing grant shows when the catalog is created; names in `schemas` that
    /// the server does not have are issues too.
    fn validate(properties: &Properties) -> Vec<ConfigIssue> {
        let config = match PgConfig::parse(properties) {
            Ok(config) => config,
            Err(issues) => return issues,
        };
        let catalog = PostgresCatalog { config };
        let mut conn = match catalog.connect() {
            Ok(conn) => conn,
            Err(err) => return vec![ConfigIssue::general(err.message)],
        };
        let Some(wanted) = &catalog.config.schemas else {
            return Vec::new();
        };
        match metadata::schemas(&mut conn) {
            Ok(present) => wanted
                .iter()
                .filter(|name| !present.contains(name))
                .map(|name| {
                    ConfigIssue::field(
                        "schemas",
                        format!(
                            "schema \"{name}\" not found in database \"{}\" (or no USAGE on it)",
                            catalog.config.database
                        ),
                    )
                })
                .collect(),
            Err(err) => vec![ConfigIssue::general(err.message)],
        }
    }

    /// Parses the properties; connections are made per call, so a catalog opens while the
    /// server is down and its calls fail with the reason.
    fn open(properties: Properties) -> Result<PostgresCatalog> {
        let config = PgConfig::parse(&properties).map_err(ConnectorError::from_issues)?;
        Ok(PostgresCatalog { config })
    }
}

quarry_sdk::export_connector!(PostgresConnector);

/// A configured catalog: its properties. Every call opens its own connection.
#[derive(Debug)]
pub struct PostgresCatalog {
    config: PgConfig,
}

impl PostgresCatalog {
    /// The catalog's configuration.
    pub fn config(&self) -> &PgConfig {
        &self.config
    }

    /// A new, authenticated connection.
    pub fn connect(&self) -> Result<Connection> {
        Connection::open(&self.config)
    }

    /// Whether `schema` is shown: named by `schemas`, or not a system schema when unset.
    fn shows(&self, schema: &str) -> bool {
        match &self.config.schemas {
            Some(wanted) => wanted.iter().any(|w| w == schema),
            None => !is_system_schema(schema),
        }
    }

    fn check_schema(&self, schema: &str) -> Result<()> {
        if self.shows(schema) {
            Ok(())
        } else {
            Err(ConnectorError::not_found(format!(
                "schema \"{schema}\" not found in database \"{}\"",
                self.config.database
            )))
        }
    }

    fn table(&self, conn: &mut Connection, schema: &str, table: &str) -> Result<TableInfo> {
        self.check_schema(schema)?;
        metadata::table_info(conn, schema, table)
    }
}

impl Catalog for PostgresCatalog {
    type Reader = PostgresReader;

    fn list_schemas(&self) -> Result<Vec<String>> {
        let mut conn = self.connect()?;
        let all = metadata::schemas(&mut conn)?;
        Ok(all.into_iter().filter(|s| self.shows(s)).collect())
    }

    fn list_tables(&self, schema: &str) -> Result<Vec<String>> {
        self.check_schema(schema)?;
        let mut conn = self.connect()?;
        if !metadata::schemas(&mut conn)?.iter().any(|s| s == schema) {
            return Err(ConnectorError::not_found(format!(
                "schema \"{schema}\" not found in database \"{}\"",
                self.config.database
            )));
        }
        metadata::tables(&mut conn, schema)
    }

    fn describe_table(&self, schema: &str, table: &str) -> Result<TableSchema> {
        let mut conn = self.connect()?;
        let info = self.table(&mut conn, schema, table)?;
        Ok(TableSchema {
            columns: info.columns.iter().map(|c| c.to_column()).collect(),
            row_count: info.row_estimate,
        })
    }

    fn plan_scan(&self, request: &ScanRequest) -> Result<ScanPlan> {
        let mut conn = self.connect()?;
        let info = self.table(&mut conn, &request.schema, &request.table)?;
        let projected = match &request.projection {
            Some(indices) => indices
                .iter()
                .map(|&i| {
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| info.columns.get(i))
                        .cloned()
                        .ok_or_else(|| {
                            ConnectorError::invalid_config(format!(
                                "projection index {i} out of range: {}.{} has {} columns",
                                request.schema,
                                request.table,
                                info.columns.len()
                            ))
                        })
                })
                .collect::<Result<Vec<_>>>()?,
            None => info.columns.clone(),
        };
        let filters = push_filters(&request.filters, &info.columns);
        let limit = request.limit.filter(|_| filters.all_exact());
        let ranges =
            if matches!(info.kind, 'r' | 'm') && conn.server_major() >= TID_RANGE_SCAN_SINCE {
                page_ranges(info.pages, self.config.split_pages, self.config.max_splits)
            } else {
                vec![(None, None)]
            };
        let count = ranges.len() as u64;
        let splits = ranges
            .into_iter()
            .map(|pages| {
                let sql = sql::scan_statement(
                    &request.schema,
                    &request.table,
                    &projected,
                    pages,
                    &filters.sql,
                    limit,
                );
                let payload = SplitPayload {
                    schema: request.schema.clone(),
                    table: request.table.clone(),
                    sql,
                    columns: projected.clone(),
                };
                Ok(Split {
                    payload: split_json::encode("postgres", &payload)?,
                    estimated_rows: info.row_estimate.map(|rows| rows.div_ceil(count)),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ScanPlan {
            splits,
            filters: filters.answers,
        })
    }

    fn open_split(&self, _request: &ScanRequest, split: &Split) -> Result<PostgresReader> {
        let payload: SplitPayload = split_json::decode("postgres", &split.payload)?;
        log::debug(&scan_log_line(&payload));
        let conn = self.connect()?;
        PostgresReader::start(conn, payload)
    }
}

/// The debug line logged for each split read: `postgres: scan SCHEMA.TABLE: SQL`.
pub fn scan_log_line(payload: &SplitPayload) -> String {
    format!(
        "postgres: scan {}.{}: {}",
        payload.schema, payload.table, payload.sql
    )
}
