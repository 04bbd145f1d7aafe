//! Running one SQL statement on the coordinator, for every front end (`POST /v1/statement`, the
//! PostgreSQL wire protocol).
//!
//! `CREATE`, `ALTER` and `DROP CATALOG` change the desired state: they go through the same code
//! as the HTTP API (`catalog_changes.rs`), then wait, within the worker request deadline, until
//! the change is queryable (or has failed), so the next statement of the same session sees it.
//! Everything else, the `SHOW` statements included, is the query engine's.
//!
//! Every statement runs as a [`Principal`]: catalog DDL needs the admin role. A statement
//! longer than `max_statement_bytes` is refused before it is parsed, and one that is still
//! planning or producing rows at `statement_timeout` fails.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::execute_stream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::scalar::ScalarValue;
use quarry_sql::{CatalogDdl, QueryOptions};
use quarry_store::{CatalogSpec, CatalogState};

use crate::api_error::{ApiError, ApiResult};
use crate::coordinator::catalog_changes;
use crate::coordinator::sql::query_metrics::ExecutedPlan;
use crate::coordinator::sql::stage_traffic::StagePlacements;
use crate::coordinator::sql::statement_deadline::{timeout_message, with_deadline};
use crate::coordinator::state::AppState;
use crate::coordinator::users::{Principal, Role};

/// How often a catalog statement checks whether its change is queryable yet.
const POLL: Duration = Duration::from_millis(50);

/// Runs `sql` as `user` with `options` (the session's settings, the query's memory limit) and
/// the values of its `$1`, `$2`... placeholders (none for plain text). Dropping the stream cancels the query and stops its splits on the workers. The
/// statement is counted in the coordinator's query metrics until its stream ends or is dropped.
pub async fn run(
    state: &AppState,
    user: &Principal,
    options: &QueryOptions,
    sql: &str,
    params: Vec<ScalarValue>,
) -> ApiResult<SendableRecordBatchStream> {
    check_length(state, sql)?;
    let metrics = state.query_metrics();
    let limit = state.sql_limits().statement_timeout;
    let deadline = tokio::time::Instant::now() + limit;
    let started = tokio::time::timeout_at(deadline, start(state, user, options, sql, params))
        .await
        .unwrap_or_else(|_| Err(ApiError::QueryFailed(timeout_message(limit))));
    match started {
        Ok((stream, executed)) => Ok(metrics.track(
            &user.name,
            sql,
            with_deadline(stream, deadline, limit),
            executed,
        )),
        Err(error) => {
            metrics.failed_to_start(&user.name, sql, &error);
            Err(error)
        }
    }
}

/// Refuses a statement over `max_statement_bytes` before anything parses it.
fn check_length(state: &AppState, sql: &str) -> ApiResult<()> {
    let max = state.sql_limits().max_statement_bytes;
    if sql.len() > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "the statement is {} bytes; the limit is {max} (max_statement_bytes)",
            sql.len()
        )));
    }
    Ok(())
}

/// The statement's result stream, and for a query the plan it executes (whose stage figures
/// are read once it ends).
async fn start(
    state: &AppState,
    user: &Principal,
    options: &QueryOptions,
    sql: &str,
    params: Vec<ScalarValue>,
) -> ApiResult<(SendableRecordBatchStream, Option<ExecutedPlan>)> {
    let engine = state.engine();
    if let Some(ddl) = quarry_sql::catalog_ddl::parse(sql).map_err(sql_error)? {
        let stream = match ddl {
            CatalogDdl::Create { .. } | CatalogDdl::Alter { .. } | CatalogDdl::Drop { .. } => {
                require_admin(user, &ddl)?;
                let batch = catalog_statement(state, ddl).await?;
                one_batch(batch)
            }
            _ => engine.sql_stream(sql).await.map_err(sql_error)?,
        };
        return Ok((stream, None));
    }
    let mut frame = engine
        .dataframe_with(sql, options)
        .await
        .map_err(sql_error)?;
    if !params.is_empty() {
        frame = frame.with_param_values(params).map_err(df_error)?;
    }
    // What `DataFrame::execute_stream` does, keeping the plan, with the record of where its
    // stages are routed in the query's own session config.
    let (mut session, logical) = frame.into_parts();
    let placements = Arc::new(StagePlacements::default());
    session.config_mut().set_extension(Arc::clone(&placements));
    let plan = session
        .create_physical_plan(&logical)
        .await
        .map_err(df_error)?;
    let task = Arc::new(TaskContext::from(&session));
    let stream = execute_stream(Arc::clone(&plan), task).map_err(df_error)?;
    Ok((stream, Some(ExecutedPlan { plan, placements })))
}

/// Catalog DDL is for admins.
fn require_admin(user: &Principal, ddl: &CatalogDdl) -> ApiResult<()> {
    if user.role == Role::Admin {
        return Ok(());
    }
    let statement = match ddl {
        CatalogDdl::Create { .. } => "CREATE CATALOG",
        CatalogDdl::Alter { .. } => "ALTER CATALOG",
        _ => "DROP CATALOG",
    };
    tracing::warn!(user = %user.name, role = %user.role, statement, "statement refused: not an admin");
    Err(ApiError::Forbidden(format!(
        "permission denied: {statement} needs the admin role, and user \"{}\" is a {}",
        user.name, user.role
    )))
}

/// The result schema of `sql` and the types of its placeholders (`$1` first), without running
/// it. Refused like a run would be (length, role, read-only).
pub async fn describe(
    state: &AppState,
    user: &Principal,
    sql: &str,
) -> ApiResult<(SchemaRef, Vec<Option<DataType>>)> {
    check_length(state, sql)?;
    if let Some(ddl) = quarry_sql::catalog_ddl::parse(sql).map_err(sql_error)? {
        let schema = match ddl {
            CatalogDdl::Create { .. } | CatalogDdl::Alter { .. } | CatalogDdl::Drop { .. } => {
                require_admin(user, &ddl)?;
                ddl_schema()
            }
            CatalogDdl::ShowCatalogs => one_column_schema("Catalog"),
            CatalogDdl::ShowSchemas { .. } => one_column_schema("Schema"),
            CatalogDdl::ShowTables { .. } => one_column_schema("Table"),
        };
        return Ok((schema, Vec::new()));
    }
    // Planned, not run, and refused like a run would refuse it.
    let plan = state.engine().logical_plan(sql).await.map_err(sql_error)?;
    let mut types: Vec<(usize, Option<DataType>)> = plan
        .get_parameter_types()
        .map_err(df_error)?
        .into_iter()
        .filter_map(|(id, ty)| Some((id.strip_prefix('$')?.parse().ok()?, ty)))
        .collect();
    types.sort_by_key(|(i, _)| *i);
    let schema = Arc::new(plan.schema().as_arrow().clone());
    Ok((schema, types.into_iter().map(|(_, ty)| ty).collect()))
}

fn one_batch(batch: RecordBatch) -> SendableRecordBatchStream {
    Box::pin(RecordBatchStreamAdapter::new(
        batch.schema(),
        futures::stream::iter([Ok(batch)]),
    ))
}

fn one_column_schema(name: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, false)]))
}

/// What a catalog statement answers: one row.
fn ddl_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("catalog", DataType::Utf8, false),
        Field::new("generation", DataType::Int64, true),
        Field::new("status", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, true),
    ]))
}

async fn catalog_statement(state: &AppState, ddl: CatalogDdl) -> ApiResult<RecordBatch> {
    let (name, generation, status, detail) = match ddl {
        CatalogDdl::Create {
            name,
            plugin,
            properties,
        } => {
            let spec = CatalogSpec {
                properties: properties.into_iter().collect(),
                grants: Default::default(),
                ..plugin_spec(state, &plugin).await?
            };
            let (catalog, _) = catalog_changes::create(state, &name, &spec).await?;
            let (status, detail) = wait_until_settled(state, &name, catalog.generation).await;
            (name, Some(catalog.generation), status, detail)
        }
        CatalogDdl::Alter { name, properties } => {
            let current = state.store().get_catalog(&name).await?;
            let mut merged: BTreeMap<String, String> = current.properties.clone();
            merged.extend(properties);
            let spec = CatalogSpec {
                plugin_name: current.plugin_name.clone(),
                plugin_version: current.plugin_version.clone(),
                properties: merged,
                grants: current.grants.clone(),
            };
            let (catalog, _) =
                catalog_changes::alter(state, &name, &spec, Some(current.generation)).await?;
            let (status, detail) = wait_until_settled(state, &name, catalog.generation).await;
            (name, Some(catalog.generation), status, detail)
        }
        CatalogDdl::Drop { name, if_exists } => {
            match catalog_changes::delete(state, &name).await {
                Ok(()) => {}
                Err(ApiError::NotFound(_)) if if_exists => {
                    return ddl_row(&name, None, "absent", None);
                }
                Err(other) => return Err(other),
            }
            wait_until_gone(state, &name).await;
            (name, None, "dropped".to_owned(), None)
        }
        other => {
            return Err(ApiError::Internal(format!(
                "not a catalog change: {other:?}"
            )));
        }
    };
    ddl_row(&name, generation, &status, detail.as_deref())
}

/// `plugin` is `name` (its most recently uploaded version) or `name@version`.
async fn plugin_spec(state: &AppState, plugin: &str) -> ApiResult<CatalogSpec> {
    let (plugin_name, plugin_version) = match plugin.split_once('@') {
        Some(_) => crate::coordinator::api::catalogs::parse_plugin_reference(plugin)?,
        None => {
            let latest = state
                .store()
                .list_plugin_versions(plugin)
                .await?
                .into_iter()
                .max_by_key(|p| p.uploaded_at)
                .ok_or_else(|| {
                    ApiError::UnknownPlugin(format!(
                        "plugin \"{plugin}\" is not uploaded (see GET /v1/plugins)"
                    ))
                })?;
            (latest.name, latest.version)
        }
    };
    Ok(CatalogSpec {
        plugin_name,
        plugin_version,
        properties: BTreeMap::new(),
        grants: Default::default(),
    })
}

/// Waits until generation `generation` of `name` is queryable (`ready`) or has failed on a
/// worker (`failed`, with the errors); after the worker request deadline, `pending`.
async fn wait_until_settled(
    state: &AppState,
    name: &str,
    generation: i64,
) -> (String, Option<String>) {
    let deadline = tokio::time::Instant::now() + state.sync().settings().request_timeout;
    loop {
        if state.engine().catalogs().generation(name) == Some(generation) {
            return ("ready".to_owned(), None);
        }
        if let Some(reason) = state.open_failures().reason(name, generation) {
            return ("failed".to_owned(), Some(format!("coordinator: {reason}")));
        }
        if let Ok(status) = state.store().catalog_status(name).await
            && status.generation == generation
            && status.state == CatalogState::Failed
        {
            let errors: Vec<String> = status
                .errors
                .iter()
                .map(|e| format!("worker \"{}\": {}", e.worker, e.error))
                .collect();
            return ("failed".to_owned(), Some(errors.join("; ")));
        }
        if tokio::time::Instant::now() >= deadline {
            return (
                "pending".to_owned(),
                Some(format!(
                    "not loaded by any worker yet; see GET /v1/catalogs/{name}"
                )),
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits (briefly) until the engine no longer shows `name`.
async fn wait_until_gone(state: &AppState, name: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while state.engine().catalogs().generation(name).is_some()
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(POLL).await;
    }
}

fn ddl_row(
    name: &str,
    generation: Option<i64>,
    status: &str,
    detail: Option<&str>,
) -> ApiResult<RecordBatch> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![name])),
        Arc::new(Int64Array::from(vec![generation])),
        Arc::new(StringArray::from(vec![status])),
        Arc::new(StringArray::from(vec![detail])),
    ];
    RecordBatch::try_new(ddl_schema(), columns).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A SQL-layer error as the API shows it.
pub fn sql_error(error: quarry_sql::Error) -> ApiError {
    match error {
        quarry_sql::Error::DataFusion(e) => df_error(e),
        quarry_sql::Error::Runtime(e) => ApiError::QueryFailed(e.to_string()),
        error @ quarry_sql::Error::Refused(_) => ApiError::BadRequest(error.to_string()),
        quarry_sql::Error::Ddl(message) | quarry_sql::Error::Unsupported(message) => {
            ApiError::BadRequest(message)
        }
        quarry_sql::Error::NotFound(message) => ApiError::NotFound(message),
    }
}

/// A DataFusion error as the API shows it: the statement's fault (400), a failure while
/// running (422), or ours (500).
pub fn df_error(error: DataFusionError) -> ApiError {
    let message = error.to_string();
    match error.find_root() {
        DataFusionError::SQL(..)
        | DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_)
        | DataFusionError::Configuration(_) => ApiError::BadRequest(message),
        DataFusionError::Internal(_) => ApiError::Internal(message),
        _ => ApiError::QueryFailed(message),
    }
}
