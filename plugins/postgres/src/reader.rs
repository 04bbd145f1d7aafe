//! Reading one split: its statement's binary portal, `max_rows` rows per Execute, each row
//! decoded straight into Arrow builders, so no more than one batch is held at a time.
//!
//! Dropping the reader before the end (the engine has enough rows, the query was cancelled)
//! drops the connection, which sends Terminate and closes the socket; the server rolls back
//! the portal's transaction.

use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{Schema, SchemaRef};
use fallible_iterator::FallibleIterator;
use quarry_sdk::{ColumnArrow, ConnectorError, Result, SplitReader};

use crate::connection::{Connection, Fetched};
use crate::split::SplitPayload;
use crate::types::ColumnBuilder;

/// Reads one split.
pub struct PostgresReader {
    /// `None` once the portal is exhausted (the connection is then closed).
    conn: Option<Connection>,
    payload: SplitPayload,
    schema: SchemaRef,
}

impl PostgresReader {
    /// Starts the split's statement on `conn`: a missing table or column fails here.
    pub fn start(mut conn: Connection, payload: SplitPayload) -> Result<PostgresReader> {
        let schema = Arc::new(Schema::new(
            payload
                .columns
                .iter()
                .map(|c| c.to_column().to_arrow())
                .collect::<Vec<_>>(),
        ));
        conn.open_portal(&payload.sql)
            .map_err(|err| scan_error(&payload, err))?;
        Ok(PostgresReader {
            conn: Some(conn),
            payload,
            schema,
        })
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// The error with the table it happened in.
fn scan_error(payload: &SplitPayload, err: ConnectorError) -> ConnectorError {
    ConnectorError::new(
        err.kind,
        format!(
            "scan of {}.{}: {}",
            payload.schema, payload.table, err.message
        ),
    )
}

impl SplitReader for PostgresReader {
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RecordBatch>> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(None);
        };
        let mut builders = self
            .payload
            .columns
            .iter()
            .map(|c| {
                ColumnBuilder::new(c.kind).map_err(|reason| {
                    ConnectorError::internal(format!("column \"{}\": {reason}", c.name))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let columns = &self.payload.columns;
        let mut rows = 0usize;
        let fetched = conn.fetch(max_rows, |row| {
            let buffer = row.buffer();
            let mut ranges = row.ranges();
            let mut index = 0;
            while let Some(range) = ranges
                .next()
                .map_err(|err| ConnectorError::io(format!("malformed row: {err}")))?
            {
                let (Some(builder), Some(column)) = (builders.get_mut(index), columns.get(index))
                else {
                    return Err(ConnectorError::internal(format!(
                        "the server sent more than {} columns",
                        columns.len()
                    )));
                };
                let value = match range {
                    Some(range) => Some(buffer.get(range).ok_or_else(|| {
                        ConnectorError::io("a value past the end of its row".to_owned())
                    })?),
                    None => None,
                };
                builder.append(value).map_err(|reason| {
                    ConnectorError::internal(format!("column \"{}\": {reason}", column.name))
                })?;
                index += 1;
            }
            if index != columns.len() {
                return Err(ConnectorError::internal(format!(
                    "the server sent {index} columns, expected {}",
                    columns.len()
                )));
            }
            rows += 1;
            Ok(())
        });
        let fetched = match fetched {
            Ok(fetched) => fetched,
            Err(err) => {
                self.conn = None;
                return Err(scan_error(&self.payload, err));
            }
        };
        if fetched == Fetched::Done {
            self.conn = None;
            if rows == 0 {
                return Ok(None);
            }
        }
        let arrays = builders.iter_mut().map(ColumnBuilder::finish).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(Some(RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &options,
        )?))
    }
}
