//! [`QuarryTable`]: one connector table as a DataFusion `TableProvider`.
//!
//! A scan turns DataFusion's projection, filters and limit into a `ScanRequest`, asks the
//! connector for splits with `plan_scan`, and returns a [`ConnectorScanExec`] with one partition
//! per split up to the engine's target partitions (more splits share partitions) and at least
//! two, each split read through the catalog's `SplitSource` where the scan runs.
//!
//! Filters: `supports_filters_pushdown` answers from the connector itself. Filters the contract
//! can express are asked in one `plan_scan` (answers cached per catalog generation); the rest
//! are unsupported. A connector that answers `exact` there and something weaker in the scan's
//! own `plan_scan` fails the query rather than return unfiltered rows.
//!
//! Limit: sent to the connector only when every filter of the scan is exact, as the contract
//! requires; DataFusion passes one only in that case anyway.

use std::sync::Arc;

use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use quarry_runtime::{Predicate, Pushdown, ScanRequest, TableSchema, TableSchemaArrow};

use crate::catalog_list::CatalogEntry;
use crate::connector_scan_exec::{ConnectorScanExec, MIN_SCAN_PARTITIONS, ScanDescription};
use crate::error::to_datafusion;
use crate::filter_pushdown::to_predicate;
use crate::scan_log::ScanRecord;
use crate::sync_bridge::block_on;

#[derive(Debug)]
pub(crate) struct QuarryTable {
    entry: Arc<CatalogEntry>,
    schema_name: String,
    table_name: String,
    described: Arc<TableSchema>,
    arrow_schema: SchemaRef,
}

impl QuarryTable {
    pub(crate) fn new(
        entry: Arc<CatalogEntry>,
        schema_name: String,
        table_name: String,
        described: Arc<TableSchema>,
    ) -> Self {
        let arrow_schema = Arc::new(described.arrow_schema());
        QuarryTable {
            entry,
            schema_name,
            table_name,
            described,
            arrow_schema,
        }
    }

    fn qualified_name(&self) -> String {
        format!(
            "{}.{}.{}",
            self.entry.name, self.schema_name, self.table_name
        )
    }

    /// The connector's pushdown answers for `predicates` (cached per generation).
    async fn pushdown(&self, predicates: &[Predicate]) -> Result<Vec<Pushdown>> {
        if predicates.is_empty() {
            return Ok(Vec::new());
        }
        self.entry
            .metadata
            .pushdown(&self.schema_name, &self.table_name, predicates)
            .await
    }
}

fn to_datafusion_pushdown(p: Pushdown) -> TableProviderFilterPushDown {
    match p {
        Pushdown::Exact => TableProviderFilterPushDown::Exact,
        Pushdown::Inexact => TableProviderFilterPushDown::Inexact,
        Pushdown::Unsupported => TableProviderFilterPushDown::Unsupported,
    }
}

#[async_trait]
impl TableProvider for QuarryTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.arrow_schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let predicates: Vec<Option<Predicate>> = filters
            .iter()
            .map(|f| to_predicate(f, &self.described))
            .collect();
        let expressible: Vec<Predicate> = predicates.iter().flatten().cloned().collect();
        let mut answers = if expressible.is_empty() {
            Vec::new().into_iter()
        } else {
            block_on(self.entry.handle.as_ref(), self.pushdown(&expressible))??.into_iter()
        };
        Ok(predicates
            .iter()
            .map(|p| match p {
                Some(_) => answers.next().map_or(
                    TableProviderFilterPushDown::Unsupported,
                    to_datafusion_pushdown,
                ),
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let table = self.qualified_name();
        // Only filters DataFusion was told the connector takes arrive here; every one of them
        // was expressible then.
        let predicates = filters
            .iter()
            .map(|f| {
                to_predicate(f, &self.described).ok_or_else(|| {
                    DataFusionError::Internal(format!(
                        "table {table}: filter {f} cannot be pushed to the connector"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let promised = self.pushdown(&predicates).await?;

        // An empty projection (`count(*)`) still needs rows: ask for the first column and
        // project it away above the split streams.
        let (connector_projection, exec_projection) = match projection {
            Some(p) if p.is_empty() && !self.described.columns.is_empty() => {
                (Some(vec![0u32]), Some(Vec::new()))
            }
            Some(p) => (
                Some(
                    p.iter()
                        .map(|&i| u32::try_from(i))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| {
                            DataFusionError::Internal(format!("table {table}: projection: {e}"))
                        })?,
                ),
                None,
            ),
            None => (None, None),
        };
        let all_exact = promised.iter().all(|p| *p == Pushdown::Exact);
        let limit = limit.filter(|_| all_exact);
        let request = ScanRequest {
            schema: self.schema_name.clone(),
            table: self.table_name.clone(),
            projection: connector_projection,
            filters: predicates,
            limit: limit.map(|l| l as u64),
        };
        let plan = self
            .entry
            .metadata
            .connector()
            .plan_scan(&request)
            .await
            .map_err(to_datafusion)?;
        for ((filter, promised), answered) in filters.iter().zip(&promised).zip(&plan.filters) {
            if *promised == Pushdown::Exact && *answered != Pushdown::Exact {
                return Err(DataFusionError::Execution(format!(
                    "table {table}: the connector answered exact for filter {filter} when \
                     planning but {answered:?} when scanning; refusing to return unfiltered rows"
                )));
            }
        }
        self.entry.scan_log.record(ScanRecord {
            catalog: self.entry.name.clone(),
            generation: self.entry.version.generation,
            request: request.clone(),
            pushdown: plan.filters.clone(),
            splits: plan.splits.len(),
        });

        let partition_schema = self
            .described
            .projected_arrow_schema(request.projection.as_deref())
            .ok_or_else(|| {
                DataFusionError::Internal(format!("table {table}: projection out of range"))
            })?;
        if plan.splits.is_empty() {
            let schema = match &exec_projection {
                Some(p) => Arc::new(partition_schema.project(p)?),
                None => partition_schema,
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        // As DataFusion's own file scans: at most the target partitions (the cores, unless
        // configured). More would run more sandboxed readers at once than there are cores to
        // run them, which cost a CPU-bound connector a fifth of its speed (ADR 0029).
        let partitions = plan
            .splits
            .len()
            .min(state.config().target_partitions())
            .max(MIN_SCAN_PARTITIONS);
        let scan = ScanDescription {
            catalog: self.entry.name.clone(),
            version: self.entry.version,
            request,
            splits: plan.splits,
            partitions,
            output_projection: exec_projection,
            limit,
        };
        let exec = ConnectorScanExec::try_new(
            scan,
            partition_schema,
            Arc::clone(&self.entry.split_source),
        )?;
        Ok(Arc::new(exec))
    }
}
