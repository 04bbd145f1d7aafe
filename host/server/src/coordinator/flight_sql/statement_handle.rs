//! [`StatementHandle`]: the opaque bytes a Flight SQL client holds for a statement (in a
//! ticket, or as a prepared statement's handle).
//!
//! Stateless: the handle carries the statement's SQL and, once parameters are bound, their
//! values (one row, as an Arrow IPC stream), so nothing is kept on the coordinator between
//! calls and a client that never closes its prepared statements costs nothing. A handle grants
//! nothing by itself: every call that runs one authenticates on its own, and the statement runs
//! as the caller.

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use datafusion::scalar::ScalarValue;
use serde::{Deserialize, Serialize};
use tonic::Status;

/// A statement a client may run later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementHandle {
    /// The statement, as the client sent it.
    pub sql: String,
    /// The bound `$1`, `$2`, … values: base64 of an Arrow IPC stream holding one row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parameters: Option<String>,
}

impl StatementHandle {
    pub fn new(sql: impl Into<String>) -> Self {
        StatementHandle {
            sql: sql.into(),
            parameters: None,
        }
    }

    /// This statement with `row` (one row; column `i` is `$i+1`) bound as its parameters.
    pub fn with_parameters(&self, batches: &[RecordBatch]) -> Result<Self, Status> {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if rows != 1 {
            return Err(Status::invalid_argument(format!(
                "a prepared query runs with one row of parameters; {rows} rows were bound"
            )));
        }
        let Some(row) = batches.iter().find(|batch| batch.num_rows() == 1) else {
            return Err(Status::invalid_argument("no parameter row was bound"));
        };
        let mut ipc = Vec::new();
        let mut writer = StreamWriter::try_new(&mut ipc, &row.schema()).map_err(ipc_error)?;
        writer.write(row).map_err(ipc_error)?;
        writer.finish().map_err(ipc_error)?;
        drop(writer);
        Ok(StatementHandle {
            sql: self.sql.clone(),
            parameters: Some(STANDARD.encode(ipc)),
        })
    }

    /// The bound values in order (none when nothing was bound).
    pub fn parameters(&self) -> Result<Vec<ScalarValue>, Status> {
        let Some(encoded) = &self.parameters else {
            return Ok(Vec::new());
        };
        let ipc = STANDARD.decode(encoded).map_err(|_| invalid_handle())?;
        let reader = StreamReader::try_new(ipc.as_slice(), None).map_err(|_| invalid_handle())?;
        for batch in reader {
            let batch = batch.map_err(|_| invalid_handle())?;
            if batch.num_rows() == 1 {
                return batch
                    .columns()
                    .iter()
                    .map(|column| {
                        ScalarValue::try_from_array(column, 0)
                            .map_err(|error| Status::invalid_argument(error.to_string()))
                    })
                    .collect();
            }
        }
        Err(invalid_handle())
    }

    pub fn encode(&self) -> Bytes {
        // A struct of two strings always serialises.
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, Status> {
        serde_json::from_slice(bytes).map_err(|_| invalid_handle())
    }
}

fn invalid_handle() -> Status {
    Status::invalid_argument(
        "not a statement handle this coordinator issued (prepare the statement again)",
    )
}

fn ipc_error(error: arrow_schema::ArrowError) -> Status {
    Status::invalid_argument(format!("the bound parameters cannot be kept: {error}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};

    use super::*;

    #[test]
    fn a_handle_carries_its_sql_and_bound_row() {
        let handle = StatementHandle::new("select $1, $2");
        assert_eq!(StatementHandle::decode(&handle.encode()).unwrap(), handle);
        assert!(handle.parameters().unwrap().is_empty());

        let row = RecordBatch::try_from_iter([
            ("$1", Arc::new(Int64Array::from(vec![7])) as ArrayRef),
            ("$2", Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
        ])
        .unwrap();
        let bound = handle.with_parameters(std::slice::from_ref(&row)).unwrap();
        let bound = StatementHandle::decode(&bound.encode()).unwrap();
        assert_eq!(bound.sql, "select $1, $2");
        assert_eq!(
            bound.parameters().unwrap(),
            vec![
                ScalarValue::Int64(Some(7)),
                ScalarValue::Utf8(Some("x".into()))
            ]
        );

        let two = datafusion::arrow::compute::concat_batches(&row.schema(), [&row, &row]).unwrap();
        assert!(handle.with_parameters(&[two]).is_err());
        assert!(StatementHandle::decode(b"garbage").is_err());
    }
}
