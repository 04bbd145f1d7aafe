//! [`CatalogVersion`]: which definition of a catalog something was made from.

use serde::{Deserialize, Serialize};

/// Which definition of a catalog a message, a plan or a held connector is about, ordered:
/// `incarnation` first (a catalog dropped and created again under the same name is a new
/// incarnation and restarts at generation 1), then `generation` (+1 on every alter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CatalogVersion {
    /// When the catalog was created, in microseconds since the Unix epoch.
    pub incarnation: i64,
    pub generation: i64,
}

impl std::fmt::Display for CatalogVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "generation {} (incarnation {})",
            self.generation, self.incarnation
        )
    }
}
