//! The TPC-H connector: the eight TPC-H tables generated on the fly by `tpchgen`, identical to
//! the reference dbgen, so results can be checked against any other engine's TPC-H.
//!
//! A schema is a scale factor (`tiny` is 0.01, `sf1` … `sf1000`); a split is one generator part
//! (`tpchgen` generates part *i* of *n* of a table independently of the others). Only the
//! projected columns are built, and a limit stops generation early.

mod columns;
mod scale;
mod split;
mod table;

pub use scale::SCHEMAS;
pub use table::Table;

use quarry_sdk::{
    Catalog, ConfigField, Connector, ConnectorError, ConnectorSpec, Properties, Result, ScanPlan,
    ScanRequest, Split, TableSchema, TableSchemaArrow,
};

use crate::columns::GeneratorReader;
use crate::split::SplitPayload;

/// Rows per split when neither `splits` nor `split_rows` is set.
pub const DEFAULT_SPLIT_ROWS: u64 = 1_000_000;

/// The connector.
pub struct TpchConnector;

impl Connector for TpchConnector {
    type Catalog = TpchCatalog;

    fn spec() -> ConnectorSpec {
        ConnectorSpec {
            name: "tpch".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "TPC-H data generated on the fly (tpchgen, identical to dbgen); \
                schemas tiny (sf 0.01), sf1, sf10, sf100, sf1000"
                .to_owned(),
            config: vec![
                ConfigField::optional(
                    "splits",
                    "Splits (generator parts) per table, for every table but nation and \
                     region, which always have one. Overrides split_rows.",
                ),
                ConfigField::optional(
                    "split_rows",
                    "Target rows per split when `splits` is not set; a table gets \
                     ceil(rows / split_rows) splits.",
                )
                .with_default(&DEFAULT_SPLIT_ROWS.to_string()),
            ],
        }
    }

    fn open(properties: Properties) -> Result<TpchCatalog> {
        let splits = properties.parse::<u32>("splits")?;
        let split_rows = properties.parse_or::<u64>("split_rows", DEFAULT_SPLIT_ROWS)?;
        if splits == Some(0) {
            return Err(ConnectorError::invalid_config(
                "property \"splits\" must be at least 1",
            ));
        }
        if split_rows == 0 {
            return Err(ConnectorError::invalid_config(
                "property \"split_rows\" must be at least 1",
            ));
        }
        if let Some((key, _)) = properties
            .iter()
            .find(|(k, _)| !matches!(*k, "splits" | "split_rows"))
        {
            return Err(ConnectorError::invalid_config(format!(
                "unknown property \"{key}\" (known: splits, split_rows)"
            )));
        }
        Ok(TpchCatalog { splits, split_rows })
    }

    /// Builds tpchgen's text pool (300 MiB of generated sentences that every comment column
    /// draws from, about 1.5 s), so that instances start from the host's snapshot of it
    /// instead of each building its own.
    fn pre_initialize() {
        tpchgen::text::TextPool::get_or_init_default();
    }
}

quarry_sdk::export_connector!(TpchConnector, pre_initialize);

/// A configured tpch catalog.
#[derive(Debug, Clone)]
pub struct TpchCatalog {
    splits: Option<u32>,
    split_rows: u64,
}

impl TpchCatalog {
    /// Splits for a table at a scale factor, per the catalog's properties.
    pub fn split_count(&self, table: Table, scale_factor: f64) -> u32 {
        if !table.scales() {
            return 1;
        }
        if let Some(splits) = self.splits {
            return splits;
        }
        let rows = table.estimated_rows(scale_factor);
        u32::try_from(rows.div_ceil(self.split_rows).max(1)).unwrap_or(u32::MAX)
    }

    fn resolve(&self, schema: &str, table: &str) -> Result<(f64, Table)> {
        let scale_factor = scale::scale_factor(schema)?;
        let table = Table::from_name(table).ok_or_else(|| {
            ConnectorError::not_found(format!(
                "table \"{table}\" not found in schema \"{schema}\""
            ))
        })?;
        Ok((scale_factor, table))
    }
}

impl Catalog for TpchCatalog {
    type Reader = GeneratorReader;

    fn list_schemas(&self) -> Result<Vec<String>> {
        Ok(SCHEMAS.iter().map(|(name, _)| (*name).to_owned()).collect())
    }

    fn list_tables(&self, schema: &str) -> Result<Vec<String>> {
        scale::scale_factor(schema)?;
        Ok(Table::ALL.iter().map(|t| t.name().to_owned()).collect())
    }

    fn describe_table(&self, schema: &str, table: &str) -> Result<TableSchema> {
        let (scale_factor, table) = self.resolve(schema, table)?;
        Ok(TableSchema {
            columns: table.columns(),
            row_count: table.exact_rows(scale_factor),
        })
    }

    fn plan_scan(&self, request: &ScanRequest) -> Result<ScanPlan> {
        let (scale_factor, table) = self.resolve(&request.schema, &request.table)?;
        table
            .schema()
            .project_arrow(request.projection.as_deref())?;
        let parts = self.split_count(table, scale_factor);
        let mut splits = Vec::new();
        let mut planned_rows = 0u64;
        for part in 1..=parts {
            // Filters are never pushed down, so a limit counts generated rows: once the splits
            // planned so far are sure to produce that many, later splits are not needed.
            if request.limit.is_some_and(|limit| planned_rows >= limit) {
                break;
            }
            let estimated = table.part_rows(scale_factor, part, parts);
            planned_rows =
                planned_rows.saturating_add(table.min_part_rows(scale_factor, part, parts));
            splits.push(Split {
                payload: SplitPayload { part, parts }.encode(),
                estimated_rows: Some(estimated),
            });
        }
        Ok(ScanPlan::ignoring_filters(request, splits))
    }

    fn open_split(&self, request: &ScanRequest, split: &Split) -> Result<GeneratorReader> {
        let (scale_factor, table) = self.resolve(&request.schema, &request.table)?;
        let payload = SplitPayload::decode(&split.payload)?;
        let projection: Vec<usize> = match &request.projection {
            Some(p) => p.iter().map(|&i| i as usize).collect(),
            None => (0..table.columns().len()).collect(),
        };
        let schema = table
            .schema()
            .project_arrow(request.projection.as_deref())?;
        Ok(GeneratorReader::new(
            table,
            scale_factor,
            payload,
            schema,
            projection,
            request.limit,
        ))
    }
}
