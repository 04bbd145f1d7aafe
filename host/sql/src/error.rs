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
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A connector error as a DataFusion error, keeping the original as its source.
pub(crate) fn to_datafusion(e: quarry_runtime::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}
