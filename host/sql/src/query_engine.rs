//! [`QueryEngine`]: a DataFusion session over [`QuarryCatalogs`], with `information_schema`
//! and the read-only catalog statements (`SHOW CATALOGS`, `SHOW SCHEMAS FROM c`,
//! `SHOW TABLES FROM c.s`).
//!
//! `CREATE`, `ALTER` and `DROP CATALOG` change the cluster's desired state, which the
//! coordinator owns: the engine refuses them, and the coordinator parses them with
//! [`catalog_ddl::parse`](crate::catalog_ddl::parse) before a statement reaches the engine.
//!
//! Everything else SQL can do in DataFusion beyond reading is refused when planned, before it
//! takes effect ([`QueryEngine::dataframe`], [`QueryEngine::logical_plan`]): DDL such as
//! `CREATE EXTERNAL TABLE` (which would read the coordinator's files) or `CREATE VIEW`, DML such as
//! `INSERT` or `COPY … TO` (which would write them), and DataFusion's own statements such as
//! `SET datafusion.…` (which would change the settings of every other session).

use std::sync::Arc;

use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::CatalogProviderList;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};

use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;

use crate::catalog_ddl::{self, CatalogDdl};
use crate::catalog_list::QuarryCatalogs;
use crate::error::{Error, Result};
use crate::pg_catalog_setup::{self, DEFAULT_SCHEMA, SYSTEM_CATALOG};
use crate::query_options::QueryOptions;

/// A SQL session over the Quarry catalogs. Cheap to clone.
#[derive(Clone)]
pub struct QueryEngine {
    ctx: SessionContext,
    catalogs: QuarryCatalogs,
}

impl std::fmt::Debug for QueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine")
            .field("catalogs", &self.catalogs.catalog_names())
            .finish_non_exhaustive()
    }
}

impl QueryEngine {
    /// An engine over `catalogs`: every catalog set there is visible to the next query. Scans
    /// run in this process.
    pub fn new(catalogs: QuarryCatalogs) -> Self {
        Self::with_session(catalogs, |builder| builder)
    }

    /// An engine over `catalogs` whose session `configure` finishes: the coordinator adds the
    /// distributed planner there, so that scans and most of the work run on the workers.
    pub fn with_session(
        catalogs: QuarryCatalogs,
        configure: impl FnOnce(SessionStateBuilder) -> SessionStateBuilder,
    ) -> Self {
        // No DataFusion in-memory catalog: every table is `catalog.schema.table` of a Quarry
        // catalog. Sessions start in `quarry.public` (PostgreSQL clients' database and schema,
        // with `pg_catalog`).
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema(SYSTEM_CATALOG, DEFAULT_SCHEMA);
        let builder = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_catalog_list(Arc::new(catalogs.clone()));
        let state = configure(builder).build();
        let ctx = SessionContext::new_with_state(state);
        if let Err(error) = pg_catalog_setup::install(&ctx) {
            // Queries over the catalogs work without it; PostgreSQL clients' catalog queries fail.
            tracing::error!(%error, "cannot install pg_catalog");
        }
        QueryEngine { ctx, catalogs }
    }

    /// The catalogs this engine queries.
    pub fn catalogs(&self) -> &QuarryCatalogs {
        &self.catalogs
    }

    /// The DataFusion session, for front ends that drive DataFusion themselves (the
    /// PostgreSQL wire protocol). Plan statements with [`Self::dataframe`] or
    /// [`Self::logical_plan`], which refuse what is not a read.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// `sql` planned, ready to run: a query, `EXPLAIN`, `SHOW` or `DESCRIBE`. DDL, DML and
    /// DataFusion statements are refused ([`Error::Refused`]) before they take effect.
    pub async fn dataframe(&self, sql: &str) -> Result<DataFrame> {
        let plan = self.logical_plan(sql).await?;
        Ok(self.ctx.execute_logical_plan(plan).await?)
    }

    /// [`Self::dataframe`] with `options`: the session's settings and the query's memory pool,
    /// in a state of this statement's own (the engine's state, shared by every session, is
    /// never changed).
    pub async fn dataframe_with(&self, sql: &str, options: &QueryOptions) -> Result<DataFrame> {
        let mut state = self.ctx.state();
        for (name, value) in &options.settings {
            crate::query_options::check_session_setting(name, value).map_err(Error::Refused)?;
            state.config_mut().options_mut().set(name, value)?;
        }
        if let Some(limit) = options.memory_limit {
            let runtime = RuntimeEnvBuilder::from_runtime_env(state.runtime_env())
                .with_memory_pool(Arc::new(GreedyMemoryPool::new(limit)))
                .build_arc()?;
            state = SessionStateBuilder::new_from_existing(state)
                .with_runtime_env(runtime)
                .build();
        }
        let plan = state.create_logical_plan(sql).await?;
        verify_read_only(&plan)?;
        Ok(DataFrame::new(state, plan))
    }

    /// `sql` planned but not run (to describe its result and parameters), refused like
    /// [`Self::dataframe`] refuses it. Planning alone never takes effect: DataFusion runs DDL
    /// and `SET` when the plan is executed.
    pub async fn logical_plan(&self, sql: &str) -> Result<LogicalPlan> {
        let plan = self.ctx.state().create_logical_plan(sql).await?;
        verify_read_only(&plan)?;
        Ok(plan)
    }

    /// Runs one statement and collects its result.
    pub async fn sql(&self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        if let Some(ddl) = catalog_ddl::parse(sql)? {
            let batch = self.catalog_statement(ddl).await?;
            return Ok((batch.schema(), vec![batch]));
        }
        let df = self.dataframe(sql).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        Ok((schema, batches))
    }

    /// Runs one statement as a stream of batches. Dropping the stream cancels the query and
    /// stops every split being read.
    pub async fn sql_stream(&self, sql: &str) -> Result<SendableRecordBatchStream> {
        if let Some(ddl) = catalog_ddl::parse(sql)? {
            let batch = self.catalog_statement(ddl).await?;
            let schema = batch.schema();
            return Ok(Box::pin(
                datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                    schema,
                    futures::stream::iter([Ok(batch)]),
                ),
            ));
        }
        Ok(self.dataframe(sql).await?.execute_stream().await?)
    }

    async fn catalog_statement(&self, ddl: CatalogDdl) -> Result<RecordBatch> {
        match ddl {
            CatalogDdl::ShowCatalogs => one_column("Catalog", self.catalogs.catalog_names()),
            CatalogDdl::ShowSchemas { catalog } => {
                let names = self.catalogs.schema_names(&catalog).await?;
                one_column("Schema", names)
            }
            CatalogDdl::ShowTables { catalog, schema } => {
                let names = self.catalogs.table_names(&catalog, &schema).await?;
                one_column("Table", names)
            }
            CatalogDdl::Create { name, .. }
            | CatalogDdl::Alter { name, .. }
            | CatalogDdl::Drop { name, .. } => Err(Error::Unsupported(format!(
                "catalog \"{name}\": create, alter and drop catalog are run by the coordinator, \
                 not by the query engine"
            ))),
        }
    }
}

/// What a statement may do: read. The plan is checked against these before it is executed
/// (executing is what makes DDL and `SET` take effect).
/// Refuses a plan that is not a read ([`read_only`]).
fn verify_read_only(plan: &LogicalPlan) -> Result<()> {
    read_only()
        .verify_plan(plan)
        .map_err(|refusal| match refusal.find_root() {
            // "DDL not supported: CreateExternalTable", without "Error during planning: ".
            DataFusionError::Plan(reason) => Error::Refused(reason.clone()),
            other => Error::Refused(other.to_string()),
        })
}

fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// A one-column string result, sorted.
fn one_column(name: &str, mut values: Vec<String>) -> Result<RecordBatch> {
    values.sort();
    let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(values))])
        .map_err(|e| Error::DataFusion(DataFusionError::from(e)))
}
