//! The http connector: REST/JSON APIs as tables, through the host's allow-listed outbound HTTP
//! (`wasi:http`).
//!
//! The `tables` property defines each table ([`table_def`]): a URL template whose `{column}`
//! placeholders are filled from the scan's equality filters ([`url_template`]), a JSON pointer
//! to the rows in the body, optional declared columns (otherwise inferred from the first page
//! with the SDK's `quarry_sdk::values`), a pagination ([`pagination`]) and the filters sent as
//! query parameters ([`pushdown`]). A split is one chain of pages ([`split`]), read lazily
//! ([`page_reader`]). Requests go through the SDK's `quarry_sdk::http` client, which follows
//! redirects, retries 429/5xx and turns the host's refusals (an origin missing from
//! `allowed_hosts`, a private address) into errors that say what to grant; `validate` fetches
//! the first page of each table, so a missing grant shows when the catalog is created. See
//! `docs/connectors/http.md`.

pub mod config;
pub mod page;
pub mod page_reader;
pub mod pagination;
pub mod pushdown;
pub mod split;
pub mod table_def;
pub mod url_template;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use arrow_array::RecordBatch;
use quarry_sdk::http::{Client, Transport, system_transport};
use quarry_sdk::values::JsonColumns;
use quarry_sdk::{
    Catalog, Column, ConfigIssue, Connector, ConnectorError, ConnectorSpec, Properties, Pushdown,
    Result, ScanPlan, ScanRequest, Split, SplitReader, TableSchema, TableSchemaArrow,
};
use serde_json::Value as Json;

use crate::config::HttpConfig;
use crate::page::{fetch_page, take_rows};
use crate::page_reader::{PageReader, ReaderSettings};
use crate::pushdown::{plan_splits, push_filters};
use crate::split::SplitPayload;
use crate::table_def::TableDef;

/// The connector.
pub struct HttpConnector;

impl Connector for HttpConnector {
    type Catalog = HttpCatalog;

    fn spec() -> ConnectorSpec {
        ConnectorSpec {
            name: "http".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "REST/JSON APIs as tables, through outbound HTTP to the catalog's \
                allowed_hosts: one table per defined URL, with pagination and filters sent as \
                query parameters"
                .to_owned(),
            config: config::fields(),
        }
    }

    fn validate(properties: &Properties) -> Vec<ConfigIssue> {
        match HttpConfig::parse(properties) {
            Ok(config) => HttpCatalog::with_config(config, system_transport()).check_reachable(),
            Err(issues) => issues,
        }
    }

    fn open(properties: Properties) -> Result<HttpCatalog> {
        HttpCatalog::open_with(&properties, system_transport())
    }
}

quarry_sdk::export_connector!(HttpConnector);

/// A configured http catalog.
#[derive(Debug)]
pub struct HttpCatalog {
    config: HttpConfig,
    client: Client,
    /// Columns inferred from first pages, by table, for as long as the instance lives.
    inferred: RefCell<BTreeMap<String, Vec<Column>>>,
}

impl HttpCatalog {
    /// Opens a catalog whose requests go through `transport` (natively, a scripted one).
    pub fn open_with(properties: &Properties, transport: Rc<dyn Transport>) -> Result<HttpCatalog> {
        Ok(Self::with_config(
            HttpConfig::parse_or_error(properties)?,
            transport,
        ))
    }

    fn with_config(config: HttpConfig, transport: Rc<dyn Transport>) -> HttpCatalog {
        HttpCatalog {
            client: Client::with_transport(transport).with_max_retries(config.max_retries),
            config,
            inferred: RefCell::default(),
        }
    }

    /// The network half of `validate`: the first page of every table whose URL has no
    /// placeholder is fetched and its rows found, and each failure is an issue on `tables`
    /// (this is where a missing `allowed_hosts` grant shows).
    pub fn check_reachable(&self) -> Vec<ConfigIssue> {
        self.config
            .tables
            .values()
            .filter(|table| table.url.placeholders().is_empty())
            .filter_map(|table| self.first_page_rows(table).err())
            .map(|err| ConfigIssue::field("tables", err.message))
            .collect()
    }

    /// The rows of the first page of a table whose URL has no placeholder.
    fn first_page_rows(&self, table: &TableDef) -> Result<Vec<Json>> {
        let url = table.url.fill(&BTreeMap::new()).map_err(|reason| {
            ConnectorError::invalid_config(format!("table \"{}\": {reason}", table.name))
        })?;
        let url = table.pagination.first_url(&url);
        let mut page = fetch_page(&self.client, self.config.auth.as_ref(), table, &url)?;
        take_rows(&mut page.body, &table.rows).map_err(|reason| {
            ConnectorError::io(format!(
                "table \"{}\": page 1 (GET {}): {reason}",
                table.name,
                quarry_sdk::http::redact_url(page.url.as_str())
            ))
        })
    }

    /// The table's columns: declared, or inferred from up to `infer_rows` rows of its first
    /// page (and kept).
    fn columns(&self, table: &TableDef) -> Result<Vec<Column>> {
        if let Some(columns) = &table.columns {
            return Ok(columns.clone());
        }
        if let Some(columns) = self.inferred.borrow().get(&table.name) {
            return Ok(columns.clone());
        }
        let rows = self.first_page_rows(table)?;
        let mut sample = JsonColumns::new();
        for row in rows.iter().take(self.config.infer_rows) {
            if let Json::Object(object) = row {
                sample.add(object);
            }
        }
        if sample.is_empty() {
            return Err(ConnectorError::not_found(format!(
                "table \"{}\": no columns found: the first page has no row objects to infer them \
                 from; declare \"columns\"",
                table.name
            )));
        }
        let columns = sample.into_columns();
        self.inferred
            .borrow_mut()
            .insert(table.name.clone(), columns.clone());
        Ok(columns)
    }
}

impl Catalog for HttpCatalog {
    type Reader = HttpReader;

    fn list_schemas(&self) -> Result<Vec<String>> {
        Ok(vec![self.config.schema.clone()])
    }

    fn list_tables(&self, schema: &str) -> Result<Vec<String>> {
        self.config.check_schema(schema)?;
        Ok(self.config.tables.keys().cloned().collect())
    }

    fn describe_table(&self, schema: &str, table: &str) -> Result<TableSchema> {
        let table = self.config.table(schema, table)?;
        Ok(TableSchema::new(self.columns(table)?))
    }

    fn plan_scan(&self, request: &ScanRequest) -> Result<ScanPlan> {
        let table = self.config.table(&request.schema, &request.table)?;
        let columns = self.columns(table)?;
        TableSchema::new(columns.clone()).project_arrow(request.projection.as_deref())?;
        let pushed = push_filters(table, &columns, &request.filters);
        let splits = plan_splits(table, &columns, &pushed)?
            .into_iter()
            .map(|payload| {
                Ok(Split {
                    payload: payload.encode()?,
                    estimated_rows: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ScanPlan {
            splits,
            filters: pushed.answers,
        })
    }

    fn open_split(&self, request: &ScanRequest, split: &Split) -> Result<HttpReader> {
        let table = self.config.table(&request.schema, &request.table)?;
        let payload = SplitPayload::decode(&split.payload)?;
        let columns = payload.columns()?;
        let projection = match &request.projection {
            None => (0..columns.len()).collect(),
            Some(p) => p.iter().map(|&i| i as usize).collect(),
        };
        // The host sends a limit only when every filter is applied exactly; stay safe anyway.
        let exact = push_filters(table, &columns, &request.filters)
            .answers
            .iter()
            .all(|a| *a == Pushdown::Exact);
        let reader = PageReader::open(ReaderSettings {
            client: self.client.clone(),
            auth: self.config.auth.clone(),
            table: table.clone(),
            max_pages: self.config.max_pages,
            projection,
            limit: request.limit.filter(|_| exact),
            payload: &payload,
        })?;
        Ok(HttpReader(Box::new(reader)))
    }
}

/// Reads one split.
pub struct HttpReader(Box<PageReader>);

impl SplitReader for HttpReader {
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RecordBatch>> {
        self.0.next_batch(max_rows)
    }
}
