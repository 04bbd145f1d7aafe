//! Reading one split: pages fetched lazily, one at a time, their rows assembled into batches of
//! at most `max_rows` (the rest of a page waits for the next call), until the pagination ends,
//! the scan's limit is reached, or `max_pages` is exceeded (which fails the scan: a partial
//! answer is never returned as if it were whole).

use std::sync::Arc;

use arrow_array::RecordBatch;
use quarry_sdk::http::{Client, Header, Url, origin};
use quarry_sdk::rows::RowAssembler;
use quarry_sdk::values::{Cell, Value, json_kind, parse_cell};
use quarry_sdk::{Column, ConnectorError, Result};
use serde_json::{Map, Value as Json};

use crate::page::{fetch_page, take_rows};
use crate::pagination::PageSeen;
use crate::split::SplitPayload;
use crate::table_def::TableDef;

/// A value the split asked the API for (through a placeholder or a filter parameter).
#[derive(Debug)]
struct Fixed {
    /// Index into the table's columns.
    column: usize,
    text: String,
    /// `text` read as the column's type.
    value: Value,
}

/// What a reader needs besides its split.
pub struct ReaderSettings<'a> {
    pub client: Client,
    pub auth: Option<Header>,
    pub table: Arc<TableDef>,
    pub max_pages: u64,
    /// Column indices of the table, in output order.
    pub projection: Vec<usize>,
    /// Rows wanted in total; `None` for all.
    pub limit: Option<u64>,
    pub payload: &'a SplitPayload,
}

/// Reads one split.
pub struct PageReader {
    client: Client,
    auth: Option<Header>,
    table: Arc<TableDef>,
    max_pages: u64,
    /// The split's URL, which page and offset parameters are added to.
    base: Url,
    /// The page to fetch next; `None` once the pagination ended.
    next: Option<Url>,
    pages: u64,
    rows_total: u64,
    /// `table "t": page N (GET url)`, for messages about the current page.
    place: String,
    page_rows: std::vec::IntoIter<Json>,
    row_in_page: u64,
    columns: Vec<Column>,
    fixed: Vec<Fixed>,
    projection: Vec<usize>,
    /// Per projected column, the index in `fixed` of the value that fills it when a row lacks it.
    fill: Vec<Option<usize>>,
    assembler: RowAssembler,
    remaining: Option<u64>,
    dropped: u64,
    finished: bool,
}

impl PageReader {
    pub fn open(settings: ReaderSettings<'_>) -> Result<PageReader> {
        let ReaderSettings {
            client,
            auth,
            table,
            max_pages,
            projection,
            limit,
            payload,
        } = settings;
        let bad_payload = |reason: String| {
            ConnectorError::invalid_config(format!("invalid http split payload: {reason}"))
        };
        let base = Url::parse(&payload.url).map_err(|e| bad_payload(e.to_string()))?;
        if origin(&base) != table.url.origin() {
            return Err(bad_payload(format!(
                "its url is not on table \"{}\"'s origin {}",
                table.name,
                table.url.origin()
            )));
        }
        let columns = payload.columns()?;
        let fixed = payload
            .fixed
            .iter()
            .map(|(name, text)| {
                let column = columns
                    .iter()
                    .position(|c| c.name == *name)
                    .ok_or_else(|| bad_payload(format!("no column \"{name}\"")))?;
                let value = parse_cell(&columns[column], Cell::Text(text)).map_err(bad_payload)?;
                Ok(Fixed {
                    column,
                    text: text.clone(),
                    value,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(index) = projection.iter().find(|&&i| i >= columns.len()) {
            return Err(ConnectorError::invalid_config(format!(
                "projection index {index} is out of range for a table of {} columns",
                columns.len()
            )));
        }
        let fill = projection
            .iter()
            .map(|&c| fixed.iter().position(|f| f.column == c))
            .collect();
        let projected = projection.iter().map(|&i| columns[i].clone()).collect();
        Ok(PageReader {
            next: Some(table.pagination.first_url(&base)),
            client,
            auth,
            max_pages,
            base,
            pages: 0,
            rows_total: 0,
            place: format!("table \"{}\"", table.name),
            table,
            page_rows: Vec::new().into_iter(),
            row_in_page: 0,
            columns,
            fixed,
            projection,
            fill,
            assembler: RowAssembler::new(projected),
            remaining: limit,
            dropped: 0,
            finished: false,
        })
    }

    /// The next batch: at most `max_rows` rows, never more than one page's.
    pub fn next_batch(&mut self, max_rows: usize) -> Result<Option<RecordBatch>> {
        loop {
            while self.assembler.rows() < max_rows.max(1) && self.remaining != Some(0) {
                let Some(row) = self.page_rows.next() else {
                    break;
                };
                self.push_row(row)?;
            }
            if self.assembler.rows() > 0 {
                return Ok(Some(self.assembler.take_batch()?));
            }
            let Some(url) = self.next.take().filter(|_| self.remaining != Some(0)) else {
                self.finish();
                return Ok(None);
            };
            self.fetch(&url)?;
        }
    }

    fn fetch(&mut self, url: &Url) -> Result<()> {
        if self.pages >= self.max_pages {
            return Err(ConnectorError::io(format!(
                "table \"{}\": more than {} pages (the max_pages property); the scan fails \
                 rather than return a partial answer: raise max_pages or narrow the query",
                self.table.name, self.max_pages
            )));
        }
        let mut page = fetch_page(&self.client, self.auth.as_ref(), &self.table, url)?;
        self.pages += 1;
        self.place = format!(
            "table \"{}\": page {} (GET {})",
            self.table.name,
            self.pages,
            quarry_sdk::http::redact_url(page.url.as_str())
        );
        let place = &self.place;
        let rows = take_rows(&mut page.body, &self.table.rows)
            .map_err(|reason| ConnectorError::io(format!("{place}: {reason}")))?;
        self.rows_total += rows.len() as u64;
        let seen = PageSeen {
            url: &page.url,
            body: &page.body,
            link_headers: page.link_headers.iter().map(String::as_str).collect(),
            rows: rows.len(),
            pages: self.pages,
            rows_total: self.rows_total,
        };
        self.next = self
            .table
            .pagination
            .next_url(&self.base, &seen)
            .map_err(|reason| ConnectorError::io(format!("{place}: {reason}")))?;
        self.page_rows = rows.into_iter();
        self.row_in_page = 0;
        Ok(())
    }

    /// Appends one row, or drops it when its value of a requested column is not the one asked
    /// for (the API did not apply the filter; the scan promised it exactly).
    fn push_row(&mut self, row: Json) -> Result<()> {
        self.row_in_page += 1;
        let object = match row {
            Json::Object(object) => object,
            other => {
                return Err(self.row_error(&format!("is {}, not an object", json_kind(&other))));
            }
        };
        if !self.matches_requested(&object)? {
            self.dropped += 1;
            if self.dropped == 1 {
                quarry_sdk::log::warn(&format!(
                    "{}: row {}: the api answered a row outside the values asked for; such rows \
                     are dropped (does the filter's query parameter exist?)",
                    self.place, self.row_in_page
                ));
            }
            return Ok(());
        }
        let (columns, projection, fill, fixed) =
            (&self.columns, &self.projection, &self.fill, &self.fixed);
        let pushed = self.assembler.push_row(|i| {
            let column = &columns[projection[i]];
            match object.get(&column.name) {
                None | Some(Json::Null) => match fill[i] {
                    Some(f) => Cell::Text(&fixed[f].text),
                    None => Cell::Null,
                },
                Some(value) => Cell::Json(value),
            }
        });
        if let Err(reason) = pushed {
            return Err(self.row_error(&reason));
        }
        if let Some(remaining) = self.remaining.as_mut() {
            *remaining -= 1;
        }
        Ok(())
    }

    /// Whether the row's value of every requested column is the one asked for (a row without
    /// it takes that value).
    fn matches_requested(&self, object: &Map<String, Json>) -> Result<bool> {
        for fixed in &self.fixed {
            let column = &self.columns[fixed.column];
            match object.get(&column.name) {
                None | Some(Json::Null) => {}
                Some(json) => match parse_cell(column, Cell::Json(json)) {
                    Ok(value) if value == fixed.value => {}
                    Ok(_) => return Ok(false),
                    Err(reason) => return Err(self.row_error(&reason)),
                },
            }
        }
        Ok(true)
    }

    fn row_error(&self, reason: &str) -> ConnectorError {
        ConnectorError::io(format!(
            "{}: row {}: {reason}",
            self.place, self.row_in_page
        ))
    }

    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            quarry_sdk::log::debug(&format!(
                "table \"{}\": split read: {} pages, {} rows received, {} dropped",
                self.table.name, self.pages, self.rows_total, self.dropped
            ));
        }
    }
}
