//! [`Connector`]: the typed handle to one catalog that the rest of the host calls.
//!
//! Every method takes a warm instance of the catalog's plugin from its pool (or, within the
//! catalog's share of instance slots, instantiates one; or waits for a slot), runs the call on a tokio blocking thread under the catalog's deadline, and gives the
//! instance back unless the call trapped, hit a limit or produced invalid output. A scan holds
//! its instance for as long as its stream is read.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::Stream;
use wasmtime::component::ResourceAny;

use crate::batch_check::check_batch;
use crate::error::{Error, Result};
use crate::instance_pool::{CallContext, Instance, InstancePool};
use crate::instance_slots::{CatalogSlots, Lease};
use crate::metadata_check::{check_columns, check_names};
use crate::runtime::{Plugin, PluginInfo, Runtime};
use crate::sandbox::{Grants, SandboxLimits};
use crate::types::{
    ConfigIssue, ConnectorSpec, ScanPlan, ScanRequest, Split, TableSchema, TableSchemaArrow,
};

/// Batches a scan reads ahead of its consumer.
const SCAN_PREFETCH: usize = 1;

/// A stream of checked batches from one split.
pub type BatchStream = Pin<Box<dyn Stream<Item = Result<RecordBatch>> + Send>>;

pub(crate) struct CatalogState {
    /// Held so the runtime (and its epoch ticker, which enforces deadlines) outlives every
    /// catalog handle.
    pub _runtime: Runtime,
    pub plugin: Plugin,
    pub properties: Vec<(String, String)>,
    pub grants: Grants,
    pub ctx: CallContext,
    pub pool: Arc<InstancePool>,
    /// The catalog's share of the process's instance slots.
    pub slots: CatalogSlots,
}

struct ConnectorInner {
    state: CatalogState,
    /// Schemas the connector described, by (schema, table): batches are checked against them.
    described: Mutex<HashMap<(String, String), TableSchema>>,
}

/// One opened catalog. Cheap to clone; clones share the warm instances.
#[derive(Clone)]
pub struct Connector {
    inner: Arc<ConnectorInner>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("catalog", &self.inner.state.ctx.at.catalog)
            .field("plugin", &self.inner.state.ctx.at.plugin)
            .finish_non_exhaustive()
    }
}

impl Connector {
    pub(crate) fn new(state: CatalogState) -> Self {
        Connector {
            inner: Arc::new(ConnectorInner {
                state,
                described: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The catalog's name.
    pub fn catalog_name(&self) -> &str {
        &self.inner.state.ctx.at.catalog
    }

    /// The plugin this catalog runs.
    pub fn plugin(&self) -> &PluginInfo {
        self.inner.state.plugin.info()
    }

    /// The limits in force for this catalog.
    pub fn limits(&self) -> &SandboxLimits {
        &self.inner.state.ctx.limits
    }

    /// Calls of this catalog waiting for an instance slot right now.
    pub fn waiting_calls(&self) -> usize {
        self.inner.state.slots.waiting()
    }

    /// Warm instances held right now (0 for an idle catalog after the idle timeout).
    pub fn warm_instances(&self) -> usize {
        self.inner.state.pool.idle_count()
    }

    /// Makes sure a warm instance with the catalog opened is in the pool, instantiating one
    /// if there is none: a worker calls this when it loads a catalog, so the first query does
    /// not pay for instantiation (and a catalog the plugin refuses fails at load time).
    pub async fn warm_up(&self) -> Result<()> {
        self.run(|inst, ctx| inst.catalog(ctx).map(|_| ())).await
    }

    /// Drops the warm instances now.
    pub fn release_instances(&self) {
        self.inner.state.pool.clear();
    }

    /// What the connector is (asked once, when the plugin was loaded).
    pub fn spec(&self) -> ConnectorSpec {
        self.plugin().spec.clone()
    }

    /// Checks `properties` (Kafka Connect's `validate`): first against the connector's spec
    /// (every required key present, no unknown key, no key twice), then, if that finds
    /// nothing, by asking the connector.
    pub async fn validate(&self, properties: Vec<(String, String)>) -> Result<Vec<ConfigIssue>> {
        let issues = spec_issues(&self.plugin().spec, &properties);
        if !issues.is_empty() {
            return Ok(issues);
        }
        self.run(move |inst, ctx| {
            let issues = inst.call(ctx, "validate", async |store, b| {
                b.quarry_connector_source()
                    .call_validate(store, &properties)
                    .await
            })?;
            let mut issues: Vec<ConfigIssue> = issues
                .into_iter()
                .map(|issue| {
                    let mut issue: ConfigIssue = issue.into();
                    issue.message = ctx.scrubber.scrub(&issue.message);
                    issue
                })
                .collect();
            // What the plugin found wrong may be the socket policy's refusal: say what to grant.
            if let Some(denial) = inst.take_socket_denial()
                && !issues.is_empty()
            {
                let denied = Error::SocketDenied {
                    at: ctx.at.clone(),
                    denial,
                }
                .scrubbed(&ctx.scrubber);
                issues.insert(
                    0,
                    ConfigIssue {
                        field: Some("grants.allowed_sockets".to_owned()),
                        message: denied.to_string(),
                    },
                );
            }
            Ok(issues)
        })
        .await
    }

    /// The schemas of the catalog.
    pub async fn list_schemas(&self) -> Result<Vec<String>> {
        self.run(|inst, ctx| {
            let catalog = inst.catalog(ctx)?;
            let r = inst.call(ctx, "catalog.list-schemas", async |store, b| {
                b.quarry_connector_source()
                    .catalog()
                    .call_list_schemas(store, catalog)
                    .await
            })?;
            let names = inst.connector_result(ctx, r)?;
            check_names(&names, "schema")
                .map_err(|reason| invalid_output(ctx, "catalog.list-schemas", reason))?;
            Ok(names)
        })
        .await
    }

    /// The tables of a schema.
    pub async fn list_tables(&self, schema: &str) -> Result<Vec<String>> {
        let schema = schema.to_owned();
        self.run(move |inst, ctx| {
            let catalog = inst.catalog(ctx)?;
            let r = inst.call(ctx, "catalog.list-tables", async |store, b| {
                b.quarry_connector_source()
                    .catalog()
                    .call_list_tables(store, catalog, &schema)
                    .await
            })?;
            let names = inst.connector_result(ctx, r)?;
            check_names(&names, "table")
                .map_err(|reason| invalid_output(ctx, "catalog.list-tables", reason))?;
            Ok(names)
        })
        .await
    }

    /// The columns of a table.
    pub async fn describe_table(&self, schema: &str, table: &str) -> Result<TableSchema> {
        let key = (schema.to_owned(), table.to_owned());
        let this = self.clone();
        self.run(move |inst, ctx| this.describe_in(inst, ctx, &key))
            .await
    }

    fn describe_in(
        &self,
        inst: &mut Instance,
        ctx: &CallContext,
        key: &(String, String),
    ) -> Result<TableSchema> {
        let catalog = inst.catalog(ctx)?;
        let r = inst.call(ctx, "catalog.describe-table", async |store, b| {
            b.quarry_connector_source()
                .catalog()
                .call_describe_table(store, catalog, &key.0, &key.1)
                .await
        })?;
        let described: TableSchema = inst.connector_result(ctx, r)?.into();
        check_columns(described.columns.iter().map(|c| c.name.as_str()))
            .map_err(|reason| invalid_output(ctx, "catalog.describe-table", reason))?;
        if let Ok(mut map) = self.inner.described.lock() {
            map.insert(key.clone(), described.clone());
        }
        Ok(described)
    }

    fn cached_description(&self, key: &(String, String)) -> Option<TableSchema> {
        self.inner.described.lock().ok()?.get(key).cloned()
    }

    /// Plans a scan: splits, and how each filter is pushed down.
    pub async fn plan_scan(&self, request: &ScanRequest) -> Result<ScanPlan> {
        let request = request.clone();
        self.run(move |inst, ctx| {
            let catalog = inst.catalog(ctx)?;
            let wit_request = (&request).into();
            let r = inst.call(ctx, "catalog.plan-scan", async |store, b| {
                b.quarry_connector_source()
                    .catalog()
                    .call_plan_scan(store, catalog, &wit_request)
                    .await
            })?;
            let plan: ScanPlan = inst.connector_result(ctx, r)?.into();
            if plan.filters.len() != request.filters.len() {
                return Err(Error::InvalidOutput {
                    at: ctx.at.clone(),
                    call: "catalog.plan-scan",
                    reason: format!(
                        "{} pushdown answers for {} filters",
                        plan.filters.len(),
                        request.filters.len()
                    ),
                });
            }
            Ok(plan)
        })
        .await
    }

    /// Reads one split: a stream of batches, each checked against the declared schema of the
    /// table (projected as requested). The stream holds an instance until it ends; dropping
    /// it early discards that instance rather than return one with a half-read split. The split
    /// is read one batch ahead on a blocking thread; a consumer that stops polling without
    /// dropping the stream keeps that thread waiting.
    pub async fn scan(&self, request: ScanRequest, split: Split) -> Result<BatchStream> {
        let this = self.clone();
        let opened = self
            .take_instance(move |inst, ctx| {
                let catalog = inst.catalog(ctx)?;
                let key = (request.schema.clone(), request.table.clone());
                let table = match this.cached_description(&key) {
                    Some(t) => t,
                    None => this.describe_in(inst, ctx, &key)?,
                };
                let expected = table
                    .projected_arrow_schema(request.projection.as_deref())
                    .ok_or_else(|| Error::InvalidRequest {
                        at: ctx.at.clone(),
                        message: format!(
                            "projection {:?} is out of range for {}.{} ({} columns)",
                            request.projection,
                            request.schema,
                            request.table,
                            table.columns.len()
                        ),
                    })?;
                let wit_request = (&request).into();
                let wit_split = (&split).into();
                let r = inst.call(ctx, "catalog.open-split", async |store, b| {
                    b.quarry_connector_source()
                        .catalog()
                        .call_open_split(store, catalog, &wit_request, &wit_split)
                        .await
                })?;
                let reader = inst.connector_result(ctx, r)?;
                Ok((reader, expected))
            })
            .await?;
        let (instance, (reader, expected)) = opened;
        let scan = SplitScan {
            connector: self.clone(),
            instance: Some(instance),
            reader,
            expected,
        };
        // The split is read on one blocking thread from start to end, one batch ahead of the
        // consumer: no thread hop per batch, and the next batch is generated while the
        // consumer works on this one. The bounded channel is the backpressure.
        //
        // The reading thread says when it is done (`finished`): if the channel closes without
        // that, the thread died (a panic), and the split fails instead of ending short.
        let (tx, rx) = tokio::sync::mpsc::channel(SCAN_PREFETCH);
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = finished.clone();
        let at = self.inner.state.ctx.at.clone();
        tokio::task::spawn_blocking(move || scan.run(tx, &done));
        Ok(Box::pin(futures::stream::unfold(
            Some((rx, finished, at)),
            |state| async move {
                let (mut rx, finished, at) = state?;
                match rx.recv().await {
                    Some(item) => Some((item, Some((rx, finished, at)))),
                    None if finished.load(std::sync::atomic::Ordering::SeqCst) => None,
                    None => Some((
                        Err(Error::Internal(format!(
                            "{at}: the thread reading the split stopped before its end; the \
                             split is failed rather than returned short"
                        ))),
                        None,
                    )),
                }
            },
        )))
    }

    /// Runs `f` with an instance on a blocking thread, then gives the instance back (or drops
    /// it after a poisoning error).
    async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Instance, &CallContext) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (instance, r) = self.take_instance(f).await?;
        self.inner.state.give_back(instance);
        Ok(r)
    }

    /// Like `run`, but hands the instance to the caller on success. Waits for an instance slot
    /// first (see [`crate::instance_slots`]), without holding a thread.
    async fn take_instance<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Instance, &CallContext) -> Result<R> + Send + 'static,
    ) -> Result<(Instance, R)> {
        let state = &self.inner.state;
        let runtime = &state._runtime;
        let lease = runtime
            .inner
            .slots
            .lease(&state.ctx.at, &state.slots, &state.pool, || {
                runtime.inner.evict_one_idle()
            })
            .await?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let state = &this.inner.state;
            let ctx = &state.ctx;
            let (mut instance, turn) = match lease {
                Lease::Warm(instance) => (*instance, None),
                Lease::Fresh(slot, turn) => (
                    Instance::new(
                        &state.plugin.inner.pre,
                        ctx,
                        &state.grants,
                        state.properties.clone(),
                        Some(slot),
                    )
                    .map_err(|e| e.scrubbed(&ctx.scrubber))?,
                    Some(turn),
                ),
            };
            let result = f(&mut instance, ctx);
            // A new instance has run its first call (its warm-up): the next may start.
            drop(turn);
            match result {
                Ok(r) => Ok((instance, r)),
                Err(e) => {
                    let e = e.scrubbed(&ctx.scrubber);
                    if e.poisons_instance() {
                        tracing::warn!(
                            catalog = %ctx.at.catalog,
                            plugin = %ctx.at.plugin,
                            error = %e,
                            "discarding plugin instance"
                        );
                        drop(instance);
                    } else {
                        state.give_back(instance);
                    }
                    Err(e)
                }
            }
        })
        .await
        .map_err(|e| Error::Internal(format!("plugin call task failed: {e}")))?
    }
}

impl CatalogState {
    /// Keeps a healthy instance warm in the catalog's pool, or drops it when calls of any
    /// catalog wait for a process slot; either way a call waiting on this catalog wakes.
    fn give_back(&self, instance: Instance) {
        if self._runtime.inner.slots.contended() {
            drop(instance);
        } else {
            self.pool.put(instance);
        }
        self.slots.wake();
    }
}

fn invalid_output(ctx: &CallContext, call: &'static str, reason: String) -> Error {
    Error::InvalidOutput {
        at: ctx.at.clone(),
        call,
        reason,
    }
}

/// What the host checks itself before `validate` reaches the connector: the
/// [`property_problems`] of the properties, in the runtime's words.
fn spec_issues(spec: &ConnectorSpec, properties: &[(String, String)]) -> Vec<ConfigIssue> {
    let declared: Vec<(&str, bool)> = spec
        .config
        .iter()
        .map(|f| (f.name.as_str(), f.required))
        .collect();
    let known: Vec<&str> = spec.config.iter().map(|f| f.name.as_str()).collect();
    property_problems(&declared, properties.iter().map(|(k, _)| k.as_str()))
        .into_iter()
        .map(|problem| match problem {
            PropertyProblem::Missing { field } => ConfigIssue {
                message: format!("property \"{field}\" is required"),
                field: Some(field),
            },
            PropertyProblem::Unknown { key } => ConfigIssue {
                message: format!(
                    "unknown property \"{key}\" (known: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
                field: Some(key),
            },
            PropertyProblem::Repeated { key } => ConfigIssue {
                message: format!("property \"{key}\" is given twice"),
                field: Some(key),
            },
        })
        .collect()
}

/// One way a catalog's property keys do not fit the fields its connector declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyProblem {
    /// A required field has no value.
    Missing { field: String },
    /// A key the connector does not declare.
    Unknown { key: String },
    /// A declared key given more than once.
    Repeated { key: String },
}

/// The problems of `keys` against the `declared` fields, `(name, required)`: missing required
/// fields first, in declared order, then unknown and repeated keys, in the order given. The one
/// property check: the runtime runs it before `validate` reaches a connector, and the
/// coordinator before it stores a catalog; each says the problems in its own words.
pub fn property_problems<'k>(
    declared: &[(&str, bool)],
    keys: impl IntoIterator<Item = &'k str>,
) -> Vec<PropertyProblem> {
    let keys: Vec<&str> = keys.into_iter().collect();
    let mut problems: Vec<PropertyProblem> = declared
        .iter()
        .filter(|(name, required)| *required && !keys.contains(name))
        .map(|(name, _)| PropertyProblem::Missing {
            field: (*name).to_owned(),
        })
        .collect();
    for (i, key) in keys.iter().enumerate() {
        if !declared.iter().any(|(name, _)| name == key) {
            problems.push(PropertyProblem::Unknown {
                key: (*key).to_owned(),
            });
        } else if keys[..i].contains(key) {
            problems.push(PropertyProblem::Repeated {
                key: (*key).to_owned(),
            });
        }
    }
    problems
}

/// A split being read: the instance it is read in and the reader resource inside it.
struct SplitScan {
    connector: Connector,
    instance: Option<Instance>,
    reader: ResourceAny,
    expected: SchemaRef,
}

enum Step {
    Batch(RecordBatch),
    End,
}

impl SplitScan {
    /// One `next` call and its check; at the end of the split, drops the reader and gives the
    /// instance back.
    fn step(&mut self) -> Result<Step> {
        let state = &self.connector.inner.state;
        let ctx = &state.ctx;
        let Some(instance) = self.instance.as_mut() else {
            return Ok(Step::End);
        };
        let reader = self.reader;
        let (rows, bytes) = (ctx.limits.batch_rows, ctx.limits.batch_bytes);
        let r = instance.call(ctx, "split-reader.next", async |store, b| {
            b.quarry_connector_source()
                .split_reader()
                .call_next(store, reader, rows, bytes)
                .await
        });
        let outcome = r
            .and_then(|r| instance.connector_result(ctx, r))
            .and_then(|next| match next {
                None => Ok(Step::End),
                Some(ipc) => check_batch(ipc, &self.expected, rows, ctx.limits.max_batch_bytes)
                    .map(Step::Batch)
                    .map_err(|reason| Error::InvalidOutput {
                        at: ctx.at.clone(),
                        call: "split-reader.next",
                        reason,
                    }),
            })
            .map_err(|e| e.scrubbed(&ctx.scrubber));
        match &outcome {
            Ok(Step::Batch(_)) => {}
            Ok(Step::End) => self.finish(true),
            Err(e) => self.finish(!e.poisons_instance()),
        }
        outcome
    }

    /// Reads the split to its end (or first error) into `tx`, then sets `finished` while `tx`
    /// is still open, so the consumer can tell a finished split from a thread that died.
    fn run(
        self,
        tx: tokio::sync::mpsc::Sender<Result<RecordBatch>>,
        finished: &std::sync::atomic::AtomicBool,
    ) {
        self.read_all(&tx);
        finished.store(true, std::sync::atomic::Ordering::SeqCst);
        drop(tx);
    }

    /// The loop of [`Self::run`]. When the consumer goes away mid-split, the instance is
    /// dropped with its half-read reader.
    fn read_all(mut self, tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>) {
        loop {
            match self.step() {
                Ok(Step::Batch(batch)) => {
                    if tx.blocking_send(Ok(batch)).is_err() {
                        return;
                    }
                }
                Ok(Step::End) => return,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    }

    /// Ends the scan: a healthy instance has its reader dropped and goes back to the pool.
    fn finish(&mut self, healthy: bool) {
        let Some(mut instance) = self.instance.take() else {
            return;
        };
        let state = &self.connector.inner.state;
        if healthy && instance.drop_resource(&state.ctx, self.reader).is_ok() {
            state.give_back(instance);
        }
    }
}
