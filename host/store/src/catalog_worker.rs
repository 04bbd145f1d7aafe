//! What a worker reports about one catalog: the generation it holds and whether loading it
//! worked. One row per (catalog, worker); see [`crate::Store::report_catalog_state`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::UnknownState;

/// The state a worker reports for a catalog at some generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadState {
    Loading,
    Loaded,
    Failed,
}

impl LoadState {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadState::Loading => "loading",
            LoadState::Loaded => "loaded",
            LoadState::Failed => "failed",
        }
    }
}

impl fmt::Display for LoadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LoadState {
    type Err = UnknownState;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "loading" => Ok(LoadState::Loading),
            "loaded" => Ok(LoadState::Loaded),
            "failed" => Ok(LoadState::Failed),
            _ => Err(UnknownState {
                kind: "catalog load state",
                value: value.to_owned(),
            }),
        }
    }
}

/// What became of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum ReportOutcome {
    /// The report is now the worker's row for the catalog.
    Recorded,
    /// The worker's row already holds a newer generation; the report was ignored. Expected when
    /// messages cross (a late "loaded" for generation 2 after a "loading" for generation 3).
    Stale { recorded_generation: i64 },
}

/// One report in a batch ([`crate::Store::report_catalog_states`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogReport<'a> {
    pub catalog: &'a str,
    pub generation: i64,
    pub state: LoadState,
    /// Kept only with [`LoadState::Failed`].
    pub error: Option<&'a str>,
}
