//! The SQL layer's error type and how it crosses into DataFusion.

use datafusion::error::DataFusionError;

/// What can go wrong in the SQL layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Planning or executing a query failed.
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    /// A connector call failed.
    #[error(transparent)]
    Runtime(#[from] quarry_runtime::Error),
    /// A catalog DDL statement could not be parsed.
    #[error("catalog ddl: {0}")]
    Ddl(String),
    /// A catalog or schema does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The statement is valid but this engine does not run it (catalog DDL that changes
    /// state belongs to the coordinator).
    #[error("{0}")]
    Unsupported(String),
    /// The statement would do more than read Quarry catalogs (DataFusion DDL, DML or
    /// statements): refused before any of it ran. Holds DataFusion's reason, like
    /// `DDL not supported: CreateExternalTable`.
    #[error(
        "statement refused: {0}. Quarry's SQL reads Quarry catalogs and nothing else: no \
         CREATE EXTERNAL TABLE, CREATE TABLE/VIEW/SCHEMA, INSERT, COPY or SET datafusion.*; \
         catalogs are made with CREATE CATALOG"
    )]
    Refused(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A connector error as a DataFusion error, keeping the original as its source.
pub(crate) fn to_datafusion(e: quarry_runtime::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}
