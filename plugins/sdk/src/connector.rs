//! The traits a connector author implements.
//!
//! Why three traits: they follow the contract's lifetimes. A [`Connector`] is the component
//! itself (stateless facts), a [`Catalog`] lives as long as the host keeps a warm instance of a
//! configured catalog (parse the properties once, keep connections and caches here), and a
//! [`SplitReader`] lives for one split. Calls are synchronous: a component instance runs one
//! call at a time and the host runs many instances in parallel.

use arrow_array::RecordBatch;

use crate::{
    ConfigIssue, ConnectorSpec, Properties, Result, ScanPlan, ScanRequest, Split, TableSchema,
};

/// A connector: implement this and call [`crate::export_connector!`].
pub trait Connector: 'static {
    type Catalog: Catalog;

    /// Static facts: name, version, description and configuration fields.
    fn spec() -> ConnectorSpec;

    /// Checks properties before a catalog is created. The default opens the catalog and
    /// reports the error, if any.
    fn validate(properties: &Properties) -> Vec<ConfigIssue> {
        match Self::open(properties.clone()) {
            Ok(_) => Vec::new(),
            Err(err) => vec![ConfigIssue::general(err.message)],
        }
    }

    /// Opens a configured catalog.
    fn open(properties: Properties) -> Result<Self::Catalog>;

    /// Builds the state every instance needs and that depends on nothing but the code (lookup
    /// tables, text pools, parsed constants), once per plugin version instead of once per
    /// instance. Only called when the connector is exported with
    /// `export_connector!(MyConnector, pre_initialize)`: the host then calls it once when it
    /// loads the component, snapshots the instance's memory, and starts every later instance
    /// from that snapshot (copy-on-write, so the state is also shared in memory).
    ///
    /// It runs with no catalog, no grants, no environment and no network, and what it leaves
    /// in memory is all that is kept: keep it to pure computation (no files, sockets, clocks or
    /// log lines whose handles would be kept in the snapshot).
    fn pre_initialize() {}
}

/// One configured catalog.
pub trait Catalog: 'static {
    type Reader: SplitReader;

    fn list_schemas(&self) -> Result<Vec<String>>;

    fn list_tables(&self, schema: &str) -> Result<Vec<String>>;

    fn describe_table(&self, schema: &str, table: &str) -> Result<TableSchema>;

    /// Splits a scan and says how each filter is pushed down.
    fn plan_scan(&self, request: &ScanRequest) -> Result<ScanPlan>;

    /// Starts reading one split planned for `request`.
    fn open_split(&self, request: &ScanRequest, split: &Split) -> Result<Self::Reader>;
}

/// Reads one split.
pub trait SplitReader: 'static {
    /// The next batch, with at most `max_rows` rows, in the projected schema; `None` at the
    /// end. Batches larger than the host's byte cap are sliced by the SDK, so a reader only
    /// needs to respect `max_rows`.
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RecordBatch>>;
}
