//! The component's exports: one `Guest` implementation that dispatches on the behaviour.

use std::cell::RefCell;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType as ArrowType, Field, Schema};

/// The contract's bindings. The generated glue is `unsafe` by nature (raw canonical ABI), so
/// it is allowed here and nowhere else.
#[allow(unsafe_code)]
pub(crate) mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "connector",
    });
}

use bindings::exports::quarry::connector::source::{
    Catalog as CatalogHandle, ConfigIssue, ConnectorError, ConnectorSpec, Guest, GuestCatalog,
    GuestSplitReader, Properties, ScanPlan, ScanRequest, Split, SplitReader as ReaderHandle,
    TableSchema,
};
use bindings::quarry::connector::logging::{Level, log};
use bindings::quarry::connector::types::{Column, ConfigField, DataType, Pushdown};

struct Testkit;

#[allow(unsafe_code)]
const _: () = {
    bindings::export!(Testkit with_types_in crate::guest::bindings);
};

const BEHAVIOURS: &[&str] = &[
    "normal",
    "loop-in-metadata",
    "loop-in-next",
    "memory-bomb",
    "deep-recursion",
    "panic",
    "unreachable",
    "invalid-ipc",
    "wrong-schema",
    "huge-batch",
    "escape",
    "echo-secret",
    "crafted-offsets",
    "compressed-bomb",
    "many-schemas",
    "wide-table",
    "long-name",
    "clock-sleep",
    "blocking-read",
    "socket",
];

/// For `clock-sleep` and `blocking-read`: waits inside a WASI call when `call` is the one the
/// `stall_in` property names (default `plan-scan`). A sleep through `wasi:clocks` of
/// `sleep_ms` (default ten minutes), or a read of the first `read_paths` file (a FIFO nobody writes to).
fn stall(behaviour: &str, properties: &Properties, call: &str) -> Result<(), ConnectorError> {
    if property(properties, "stall_in").unwrap_or("plan-scan") != call {
        return Ok(());
    }
    match behaviour {
        "clock-sleep" => {
            let ms = property(properties, "sleep_ms")
                .and_then(|ms| ms.parse().ok())
                .unwrap_or(600_000);
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        "blocking-read" => {
            let path = property(properties, "read_paths")
                .and_then(|p| p.split(',').next())
                .unwrap_or("/");
            let read =
                std::fs::read(path).map_err(|e| ConnectorError::Io(format!("read {path}: {e}")))?;
            log(
                Level::Info,
                &format!("blocking-read: read {} bytes of {path}", read.len()),
            );
        }
        _ => {}
    }
    Ok(())
}

/// What `echo-secret` says about its `echo` property: the value as given, trimmed, escaped and
/// hex-encoded, the ways a careless connector leaks a password.
fn echoed(properties: &Properties) -> String {
    let secret = property(properties, "echo").unwrap_or_default();
    let hex: String = secret.trim().bytes().map(|b| format!("{b:02x}")).collect();
    format!(
        "cannot log in with <{secret}>, trimmed <{}>, escaped <{secret:?}>, hex <{hex}>",
        secret.trim()
    )
}

fn property<'a>(properties: &'a Properties, key: &str) -> Option<&'a str> {
    properties
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn field(name: &str, doc: &str) -> ConfigField {
    ConfigField {
        name: name.into(),
        doc: doc.into(),
        required: false,
        secret: false,
        default_value: None,
    }
}

impl Guest for Testkit {
    type Catalog = TestCatalog;
    type SplitReader = TestReader;

    fn spec() -> ConnectorSpec {
        ConnectorSpec {
            name: "testkit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Misbehaves on purpose, for sandbox tests".into(),
            config: vec![
                ConfigField {
                    required: true,
                    ..field("behaviour", "What to do wrong (see the crate docs)")
                },
                field("rows", "Rows of main.numbers for `normal`"),
                field(
                    "huge_bytes",
                    "Approximate size of the batch for `huge-batch`",
                ),
                field("read_paths", "Comma-separated files `escape` tries to read"),
                field(
                    "list_paths",
                    "Comma-separated directories `escape` tries to list",
                ),
                field("tcp_addr", "Address `escape` tries to connect to"),
                field("http_url", "URL `escape` tries to GET"),
                field(
                    "socket_action",
                    "What `socket` tries: connect, lookup, listen, udp",
                ),
                field(
                    "connect_to",
                    "host:port `socket` connects (or sends UDP) to",
                ),
                field("lookup_name", "Name `socket` looks up"),
                field("listen_on", "Address `socket` listens on"),
                field(
                    "sleep_ms",
                    "How long `clock-sleep` sleeps (default ten minutes)",
                ),
                field(
                    "stall_in",
                    "The call `clock-sleep` and `blocking-read` wait in: `list-schemas`, \
                     `plan-scan` (default) or `next`",
                ),
                ConfigField {
                    secret: true,
                    ..field(
                        "echo",
                        "A secret `echo-secret` repeats in its errors and logs",
                    )
                },
            ],
        }
    }

    fn validate(properties: Properties) -> Vec<ConfigIssue> {
        match property(&properties, "behaviour") {
            Some("echo-secret") => {
                let message = echoed(&properties);
                log(Level::Warn, &message);
                vec![ConfigIssue {
                    field: Some("echo".into()),
                    message,
                }]
            }
            Some("socket") => match crate::socket::run(&properties) {
                Ok(()) => Vec::new(),
                Err(e) => vec![ConfigIssue {
                    field: Some("connect_to".into()),
                    message: format!("{e:?}"),
                }],
            },
            Some(b) if BEHAVIOURS.contains(&b) => Vec::new(),
            Some(b) => vec![ConfigIssue {
                field: Some("behaviour".into()),
                message: format!("unknown behaviour \"{b}\""),
            }],
            None => vec![ConfigIssue {
                field: Some("behaviour".into()),
                message: "required".into(),
            }],
        }
    }
}

struct TestCatalog {
    behaviour: String,
    properties: Properties,
}

fn numbers_schema() -> TableSchema {
    TableSchema {
        columns: vec![
            Column {
                name: "id".into(),
                data_type: DataType::Int64,
                nullable: false,
                doc: None,
            },
            Column {
                name: "name".into(),
                data_type: DataType::Utf8,
                nullable: true,
                doc: None,
            },
        ],
        row_count: None,
    }
}

/// `main.numbers` as the `wide-table` behaviour describes it: `id` and `name`, then
/// `columns - 2` more.
fn wide_schema(columns: usize) -> TableSchema {
    let mut schema = numbers_schema();
    schema.columns.extend((2..columns).map(|i| Column {
        name: format!("c{i}"),
        data_type: DataType::Int64,
        nullable: true,
        doc: None,
    }));
    schema
}

fn attempts_schema() -> TableSchema {
    let col = |name: &str, data_type| Column {
        name: name.into(),
        data_type,
        nullable: false,
        doc: None,
    };
    TableSchema {
        columns: vec![
            col("attempt", DataType::Utf8),
            col("succeeded", DataType::Boolean),
            col("detail", DataType::Utf8),
        ],
        row_count: None,
    }
}

impl GuestCatalog for TestCatalog {
    fn open(properties: Properties) -> Result<CatalogHandle, ConnectorError> {
        let behaviour = property(&properties, "behaviour")
            .ok_or_else(|| {
                ConnectorError::InvalidConfig("property \"behaviour\" is required".into())
            })?
            .to_owned();
        if !BEHAVIOURS.contains(&behaviour.as_str()) {
            return Err(ConnectorError::InvalidConfig(format!(
                "unknown behaviour \"{behaviour}\""
            )));
        }
        log(
            Level::Info,
            &format!("testkit catalog opened with behaviour {behaviour}"),
        );
        Ok(CatalogHandle::new(TestCatalog {
            behaviour,
            properties,
        }))
    }

    fn list_schemas(&self) -> Result<Vec<String>, ConnectorError> {
        stall(&self.behaviour, &self.properties, "list-schemas")?;
        if self.behaviour == "socket" {
            crate::socket::run(&self.properties)?;
        }
        match self.behaviour.as_str() {
            "loop-in-metadata" => spin_forever(),
            "many-schemas" => Ok((0..1_000_000).map(|i| format!("schema_{i}")).collect()),
            "long-name" => Ok(vec!["main".into(), "s".repeat(100 << 20)]),
            _ => Ok(vec!["main".into(), "escape".into()]),
        }
    }

    fn list_tables(&self, schema: String) -> Result<Vec<String>, ConnectorError> {
        match schema.as_str() {
            "main" => Ok(vec!["numbers".into()]),
            "escape" => Ok(vec!["attempts".into()]),
            _ => Err(ConnectorError::NotFound(format!(
                "schema \"{schema}\" not found"
            ))),
        }
    }

    fn describe_table(&self, schema: String, table: String) -> Result<TableSchema, ConnectorError> {
        match (schema.as_str(), table.as_str()) {
            ("main", "numbers") if self.behaviour == "wide-table" => Ok(wide_schema(200_000)),
            ("main", "numbers") => Ok(numbers_schema()),
            ("escape", "attempts") => Ok(attempts_schema()),
            _ => Err(ConnectorError::NotFound(format!(
                "table \"{table}\" not found in schema \"{schema}\""
            ))),
        }
    }

    fn plan_scan(&self, request: ScanRequest) -> Result<ScanPlan, ConnectorError> {
        stall(&self.behaviour, &self.properties, "plan-scan")?;
        self.describe_table(request.schema.clone(), request.table.clone())?;
        let splits = if request.table == "numbers" {
            let rows = self.rows();
            let half = rows / 2;
            vec![range_split(0, half), range_split(half, rows)]
        } else {
            vec![range_split(0, 0)]
        };
        Ok(ScanPlan {
            splits,
            filters: request
                .filters
                .iter()
                .map(|_| Pushdown::Unsupported)
                .collect(),
        })
    }

    fn open_split(
        &self,
        request: ScanRequest,
        split: Split,
    ) -> Result<ReaderHandle, ConnectorError> {
        self.describe_table(request.schema.clone(), request.table.clone())?;
        let (start, end) = decode_split(&split.payload)?;
        Ok(ReaderHandle::new(TestReader {
            behaviour: self.behaviour.clone(),
            properties: self.properties.clone(),
            table: request.table,
            projection: request.projection,
            state: RefCell::new(ReaderState {
                next: start,
                end,
                done: false,
            }),
        }))
    }
}

impl TestCatalog {
    fn rows(&self) -> i64 {
        property(&self.properties, "rows")
            .and_then(|r| r.parse().ok())
            .unwrap_or(10_000)
    }
}

fn range_split(start: i64, end: i64) -> Split {
    let mut payload = start.to_le_bytes().to_vec();
    payload.extend_from_slice(&end.to_le_bytes());
    Split {
        payload,
        estimated_rows: Some(u64::try_from(end - start).unwrap_or(0)),
    }
}

fn decode_split(payload: &[u8]) -> Result<(i64, i64), ConnectorError> {
    let bad = || ConnectorError::Internal("malformed split payload".into());
    let start = payload.get(..8).ok_or_else(bad)?;
    let end = payload.get(8..16).ok_or_else(bad)?;
    let start = i64::from_le_bytes(start.try_into().map_err(|_| bad())?);
    let end = i64::from_le_bytes(end.try_into().map_err(|_| bad())?);
    Ok((start, end))
}

struct ReaderState {
    next: i64,
    end: i64,
    done: bool,
}

struct TestReader {
    behaviour: String,
    properties: Properties,
    table: String,
    projection: Option<Vec<u32>>,
    state: RefCell<ReaderState>,
}

impl GuestSplitReader for TestReader {
    fn next(&self, max_rows: u32, _max_bytes: u64) -> Result<Option<Vec<u8>>, ConnectorError> {
        stall(&self.behaviour, &self.properties, "next")?;
        match self.behaviour.as_str() {
            "loop-in-next" => spin_forever(),
            "memory-bomb" => memory_bomb(),
            "deep-recursion" => {
                let depth = recurse(std::hint::black_box(1));
                return Err(ConnectorError::Internal(format!(
                    "recursion ended at {depth}"
                )));
            }
            "panic" => panic!("testkit: deliberate panic in next"),
            "unreachable" => core::arch::wasm32::unreachable(),
            "invalid-ipc" => return Ok(Some(b"this is not arrow ipc, not at all".to_vec())),
            "crafted-offsets" => return crafted_offsets(self.numbers_projected()).map(Some),
            "compressed-bomb" => return compressed_bomb(self.numbers_projected()).map(Some),
            "wrong-schema" => {
                let schema = Arc::new(Schema::new(vec![Field::new("x", ArrowType::Float64, true)]));
                let col: ArrayRef = Arc::new(arrow_array::Float64Array::from(vec![1.0, 2.0]));
                return encode(schema, vec![col]).map(Some);
            }
            "huge-batch" => {
                let bytes: usize = property(&self.properties, "huge_bytes")
                    .and_then(|b| b.parse().ok())
                    .unwrap_or(96 << 20);
                let chunk = "x".repeat(1 << 20);
                let n = bytes.div_ceil(1 << 20);
                let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n as i64));
                let names: ArrayRef = Arc::new(StringArray::from_iter_values(
                    (0..n).map(|_| chunk.as_str()),
                ));
                return encode(self.numbers_projected(), self.project(vec![ids, names])).map(Some);
            }
            _ => {}
        }
        let mut state = self.state.borrow_mut();
        if state.done {
            return Ok(None);
        }
        if self.table == "attempts" {
            state.done = true;
            let attempts = crate::escape::attempt_everything(&self.properties);
            let schema = Arc::new(Schema::new(vec![
                Field::new("attempt", ArrowType::Utf8, false),
                Field::new("succeeded", ArrowType::Boolean, false),
                Field::new("detail", ArrowType::Utf8, false),
            ]));
            let cols: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from_iter_values(
                    attempts.iter().map(|a| a.0.as_str()),
                )),
                Arc::new(BooleanArray::from(
                    attempts.iter().map(|a| a.1).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from_iter_values(
                    attempts.iter().map(|a| a.2.as_str()),
                )),
            ];
            return encode(schema, cols).map(Some);
        }
        if state.next >= state.end {
            state.done = true;
            return Ok(None);
        }
        let end = state.end.min(state.next + i64::from(max_rows.max(1)));
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(state.next..end));
        let names: ArrayRef = Arc::new(StringArray::from_iter(
            (state.next..end).map(|i| (i % 7 != 0).then(|| format!("row {i}"))),
        ));
        state.next = end;
        encode(self.numbers_projected(), self.project(vec![ids, names])).map(Some)
    }
}

impl TestReader {
    fn numbers_projected(&self) -> Arc<Schema> {
        let fields = vec![
            Field::new("id", ArrowType::Int64, false),
            Field::new("name", ArrowType::Utf8, true),
        ];
        Arc::new(Schema::new(self.project(fields)))
    }

    fn project<T: Clone>(&self, all: Vec<T>) -> Vec<T> {
        match &self.projection {
            None => all,
            Some(p) => p
                .iter()
                .filter_map(|&i| all.get(i as usize).cloned())
                .collect(),
        }
    }
}

fn encode(schema: Arc<Schema>, columns: Vec<ArrayRef>) -> Result<Vec<u8>, ConnectorError> {
    let internal = |e: arrow_schema::ArrowError| ConnectorError::Internal(e.to_string());
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(internal)?;
    let mut out = Vec::new();
    let mut writer = StreamWriter::try_new(&mut out, &schema).map_err(internal)?;
    writer.write(&batch).map_err(internal)?;
    writer.finish().map_err(internal)?;
    drop(writer);
    Ok(out)
}

/// A valid batch of three rows whose metadata then says the `id` values buffer (24 bytes) is a
/// GiB long: the buffer reaches far past the body.
fn crafted_offsets(schema: Arc<Schema>) -> Result<Vec<u8>, ConnectorError> {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| -> ArrayRef {
            match field.data_type() {
                ArrowType::Int64 => Arc::new(Int64Array::from(vec![1, 2, 3])),
                _ => Arc::new(StringArray::from(vec!["a", "b", "c"])),
            }
        })
        .collect();
    let mut bytes = encode(schema, columns)?;
    let length = 24u64.to_le_bytes();
    let at = (0..bytes.len().saturating_sub(8))
        .find(|&at| bytes[at..at + 8] == length)
        .ok_or_else(|| ConnectorError::Internal("no buffer length to corrupt".into()))?;
    bytes[at..at + 8].copy_from_slice(&(1u64 << 30).to_le_bytes());
    Ok(bytes)
}

/// An LZ4-compressed batch whose `name` column decompresses to 64 MiB: a few hundred KiB on
/// the wire, far over any batch cap once expanded.
fn compressed_bomb(schema: Arc<Schema>) -> Result<Vec<u8>, ConnectorError> {
    let internal = |e: arrow_schema::ArrowError| ConnectorError::Internal(e.to_string());
    let chunk = "x".repeat(1 << 20);
    let rows = 64;
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| -> ArrayRef {
            match field.data_type() {
                ArrowType::Int64 => Arc::new(Int64Array::from_iter_values(0..rows)),
                _ => Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|_| chunk.as_str()),
                )),
            }
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(internal)?;
    let options = arrow_ipc::writer::IpcWriteOptions::default()
        .try_with_compression(Some(arrow_ipc::CompressionType::LZ4_FRAME))
        .map_err(internal)?;
    let mut out = Vec::new();
    let mut writer =
        StreamWriter::try_new_with_options(&mut out, &schema, options).map_err(internal)?;
    writer.write(&batch).map_err(internal)?;
    writer.finish().map_err(internal)?;
    drop(writer);
    Ok(out)
}

fn spin_forever() -> ! {
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

fn memory_bomb() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Touch every page so the memory is really used, not just reserved.
        hoard.push(vec![1u8; 16 << 20]);
        std::hint::black_box(&hoard);
    }
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let next = std::hint::black_box(depth + 1);
    recurse(next) + std::hint::black_box(1)
}
