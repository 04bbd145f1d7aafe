//! Row-at-a-time assembly of record batches, for sources that read rows of text or JSON (CSV,
//! JSON lines, REST responses).
//!
//! A row is parsed whole into [`Value`]s first and appended only when every cell parsed, so a
//! connector can skip or report a bad row without leaving half a row in the columns.

use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{Schema, SchemaRef};

use crate::values::{Cell, ColumnValues, Value, parse_cell};
use crate::{Column, ColumnArrow, Result};

/// Collects parsed rows of the projected columns into batches.
#[derive(Debug)]
pub struct RowAssembler {
    columns: Vec<Column>,
    values: Vec<ColumnValues>,
    schema: SchemaRef,
    rows: usize,
    parsed: Vec<Value>,
}

impl RowAssembler {
    pub fn new(columns: Vec<Column>) -> Self {
        let schema = Arc::new(Schema::new(
            columns.iter().map(Column::to_arrow).collect::<Vec<_>>(),
        ));
        RowAssembler {
            values: columns
                .iter()
                .map(|c| ColumnValues::new(c.data_type.clone()))
                .collect(),
            columns,
            schema,
            rows: 0,
            parsed: Vec::new(),
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Parses one row (`cell(i)` is the cell of projected column `i`) and appends it only if
    /// every cell parsed.
    pub fn push_row<'a>(&mut self, cell: impl Fn(usize) -> Cell<'a>) -> Result<(), String> {
        self.parsed.clear();
        for (i, column) in self.columns.iter().enumerate() {
            self.parsed.push(parse_cell(column, cell(i))?);
        }
        for (values, value) in self.values.iter_mut().zip(self.parsed.drain(..)) {
            values.push(value);
        }
        self.rows += 1;
        Ok(())
    }

    /// The rows assembled so far as a batch; starts over empty.
    pub fn take_batch(&mut self) -> Result<RecordBatch> {
        let columns = self.values.iter_mut().map(ColumnValues::finish).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &options,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Array, Int64Array, StringArray};

    use super::*;
    use crate::DataType;

    #[test]
    fn a_row_is_appended_only_when_every_cell_parses() {
        let mut rows = RowAssembler::new(vec![
            Column::not_null("id", DataType::Int64),
            Column::new("name", DataType::Utf8),
        ]);
        rows.push_row(|i| [Cell::Text("1"), Cell::Text("one")][i])
            .unwrap();
        let err = rows
            .push_row(|i| [Cell::Text("two"), Cell::Text("two")][i])
            .unwrap_err();
        assert!(err.contains("\"id\"") && err.contains("two"), "{err}");
        rows.push_row(|i| [Cell::Text("3"), Cell::Null][i]).unwrap();
        assert_eq!(rows.rows(), 2);

        let batch = rows.take_batch().unwrap();
        assert_eq!(batch.num_rows(), 2);
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(ids.values().to_vec(), vec![1, 3]);
        let names = batch
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!((names.value(0), names.is_null(1)), ("one", true));
        assert_eq!(rows.take_batch().unwrap().num_rows(), 0);
    }
}
