//! The export glue (wasm32 only): wit-bindgen bindings of the contract and adapters from the
//! SDK traits to the generated `Guest*` traits, with the conversions between WIT records and
//! SDK types. Connector authors never name anything here; `export_connector!` does.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::connector::{Catalog as _, Connector, SplitReader as _};
use crate::log::Level;
use crate::predicate::{CompareOp, Predicate, PredicateNode, Scalar};
use crate::{
    BatchPacer, ConfigIssue, ConnectorError, ConnectorSpec, DataType, ErrorKind, Properties,
    Pushdown, ScanPlan, ScanRequest, Split, TableSchema,
};

/// The generated bindings of `wit/connector.wit`.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "connector",
        pub_export_macro: true,
        export_macro_name: "export_source",
        default_bindings_module: "quarry_sdk::guest::bindings",
        runtime_path: "quarry_sdk::guest::wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use wit_bindgen;

use bindings::exports::quarry::connector::source as wit_source;
use bindings::quarry::connector::{logging as wit_logging, types as wit};

pub(crate) fn log(level: Level, message: &str) {
    let level = match level {
        Level::Trace => wit_logging::Level::Trace,
        Level::Debug => wit_logging::Level::Debug,
        Level::Info => wit_logging::Level::Info,
        Level::Warn => wit_logging::Level::Warn,
        Level::Error => wit_logging::Level::Error,
    };
    wit_logging::log(level, message);
}

/// Implements the contract's `source` interface for a [`Connector`].
pub struct GuestAdapter<C>(PhantomData<C>);

impl<C: Connector> wit_source::Guest for GuestAdapter<C> {
    type Catalog = CatalogAdapter<C>;
    type SplitReader = ReaderAdapter<C>;

    fn spec() -> wit::ConnectorSpec {
        spec_to_wit(C::spec())
    }

    fn validate(properties: wit::Properties) -> Vec<wit::ConfigIssue> {
        let properties: Properties = properties.into_iter().collect();
        C::validate(&properties)
            .into_iter()
            .map(|ConfigIssue { field, message }| wit::ConfigIssue { field, message })
            .collect()
    }
}

/// The `catalog` resource: one opened [`crate::Catalog`].
pub struct CatalogAdapter<C: Connector> {
    inner: C::Catalog,
}

impl<C: Connector> wit_source::GuestCatalog for CatalogAdapter<C> {
    fn open(properties: wit::Properties) -> Result<wit_source::Catalog, wit::ConnectorError> {
        let inner = C::open(properties.into_iter().collect()).map_err(error_to_wit)?;
        Ok(wit_source::Catalog::new(CatalogAdapter::<C> { inner }))
    }

    fn list_schemas(&self) -> Result<Vec<String>, wit::ConnectorError> {
        self.inner.list_schemas().map_err(error_to_wit)
    }

    fn list_tables(&self, schema: String) -> Result<Vec<String>, wit::ConnectorError> {
        self.inner.list_tables(&schema).map_err(error_to_wit)
    }

    fn describe_table(
        &self,
        schema: String,
        table: String,
    ) -> Result<wit::TableSchema, wit::ConnectorError> {
        self.inner
            .describe_table(&schema, &table)
            .map(table_to_wit)
            .map_err(error_to_wit)
    }

    fn plan_scan(&self, request: wit::ScanRequest) -> Result<wit::ScanPlan, wit::ConnectorError> {
        let request = request_from_wit(request).map_err(error_to_wit)?;
        self.inner
            .plan_scan(&request)
            .map(plan_to_wit)
            .map_err(error_to_wit)
    }

    fn open_split(
        &self,
        request: wit::ScanRequest,
        split: wit::Split,
    ) -> Result<wit_source::SplitReader, wit::ConnectorError> {
        let request = request_from_wit(request).map_err(error_to_wit)?;
        let split = Split {
            payload: split.payload,
            estimated_rows: split.estimated_rows,
        };
        let reader = self
            .inner
            .open_split(&request, &split)
            .map_err(error_to_wit)?;
        Ok(wit_source::SplitReader::new(ReaderAdapter::<C> {
            state: RefCell::new((reader, BatchPacer::new())),
        }))
    }
}

type ReaderOf<C> = <<C as Connector>::Catalog as crate::Catalog>::Reader;

/// The `split-reader` resource: a [`crate::SplitReader`] behind a [`BatchPacer`].
pub struct ReaderAdapter<C: Connector> {
    state: RefCell<(ReaderOf<C>, BatchPacer)>,
}

impl<C: Connector> wit_source::GuestSplitReader for ReaderAdapter<C> {
    fn next(&self, max_rows: u32, max_bytes: u64) -> Result<Option<Vec<u8>>, wit::ConnectorError> {
        let mut state = self.state.borrow_mut();
        let (reader, pacer) = &mut *state;
        let max_bytes = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        let batch = pacer
            .next(max_rows as usize, max_bytes, |rows| reader.next_batch(rows))
            .map_err(error_to_wit)?;
        batch
            .map(|b| crate::ipc::encode(&b))
            .transpose()
            .map_err(error_to_wit)
    }
}

fn error_to_wit(err: ConnectorError) -> wit::ConnectorError {
    match err.kind {
        ErrorKind::InvalidConfig => wit::ConnectorError::InvalidConfig(err.message),
        ErrorKind::NotFound => wit::ConnectorError::NotFound(err.message),
        ErrorKind::Unsupported => wit::ConnectorError::Unsupported(err.message),
        ErrorKind::Io => wit::ConnectorError::Io(err.message),
        ErrorKind::Internal => wit::ConnectorError::Internal(err.message),
    }
}

fn spec_to_wit(spec: ConnectorSpec) -> wit::ConnectorSpec {
    wit::ConnectorSpec {
        name: spec.name,
        version: spec.version,
        description: spec.description,
        config: spec
            .config
            .into_iter()
            .map(|f| wit::ConfigField {
                name: f.name,
                doc: f.doc,
                required: f.required,
                secret: f.secret,
                default_value: f.default_value,
            })
            .collect(),
    }
}

fn type_to_wit(data_type: DataType) -> wit::DataType {
    match data_type {
        DataType::Boolean => wit::DataType::Boolean,
        DataType::Int8 => wit::DataType::Int8,
        DataType::Int16 => wit::DataType::Int16,
        DataType::Int32 => wit::DataType::Int32,
        DataType::Int64 => wit::DataType::Int64,
        DataType::UInt8 => wit::DataType::Uint8,
        DataType::UInt16 => wit::DataType::Uint16,
        DataType::UInt32 => wit::DataType::Uint32,
        DataType::UInt64 => wit::DataType::Uint64,
        DataType::Float32 => wit::DataType::Float32,
        DataType::Float64 => wit::DataType::Float64,
        DataType::Decimal128 { precision, scale } => {
            wit::DataType::Decimal128(wit::DecimalType { precision, scale })
        }
        DataType::Utf8 => wit::DataType::Utf8,
        DataType::Binary => wit::DataType::Binary,
        DataType::Date32 => wit::DataType::Date32,
        DataType::TimestampMicros { timezone } => wit::DataType::TimestampMicros(timezone),
    }
}

fn table_to_wit(table: TableSchema) -> wit::TableSchema {
    wit::TableSchema {
        columns: table
            .columns
            .into_iter()
            .map(|c| wit::Column {
                name: c.name,
                data_type: type_to_wit(c.data_type),
                nullable: c.nullable,
                doc: c.doc,
            })
            .collect(),
        row_count: table.row_count,
    }
}

fn plan_to_wit(plan: ScanPlan) -> wit::ScanPlan {
    wit::ScanPlan {
        splits: plan
            .splits
            .into_iter()
            .map(|s| wit::Split {
                payload: s.payload,
                estimated_rows: s.estimated_rows,
            })
            .collect(),
        filters: plan
            .filters
            .into_iter()
            .map(|p| match p {
                Pushdown::Exact => wit::Pushdown::Exact,
                Pushdown::Inexact => wit::Pushdown::Inexact,
                Pushdown::Unsupported => wit::Pushdown::Unsupported,
            })
            .collect(),
    }
}

fn request_from_wit(request: wit::ScanRequest) -> crate::Result<ScanRequest> {
    Ok(ScanRequest {
        schema: request.schema,
        table: request.table,
        projection: request.projection,
        filters: request
            .filters
            .into_iter()
            .map(predicate_from_wit)
            .collect(),
        limit: request.limit,
    })
}

fn predicate_from_wit(predicate: wit::Predicate) -> Predicate {
    Predicate {
        root: predicate.root,
        nodes: predicate
            .nodes
            .into_iter()
            .map(|node| match node {
                wit::PredicateNode::Compare(c) => PredicateNode::Compare {
                    column: c.column,
                    op: op_from_wit(c.op),
                    value: scalar_from_wit(c.value),
                },
                wit::PredicateNode::InList(list) => PredicateNode::InList {
                    column: list.column,
                    values: list.values.into_iter().map(scalar_from_wit).collect(),
                    negated: list.negated,
                },
                wit::PredicateNode::IsNull(c) => PredicateNode::IsNull(c),
                wit::PredicateNode::IsNotNull(c) => PredicateNode::IsNotNull(c),
                wit::PredicateNode::And(items) => PredicateNode::And(items),
                wit::PredicateNode::Or(items) => PredicateNode::Or(items),
                wit::PredicateNode::Not(item) => PredicateNode::Not(item),
            })
            .collect(),
    }
}

fn op_from_wit(op: wit::CompareOp) -> CompareOp {
    match op {
        wit::CompareOp::Eq => CompareOp::Eq,
        wit::CompareOp::Ne => CompareOp::Ne,
        wit::CompareOp::Lt => CompareOp::Lt,
        wit::CompareOp::Le => CompareOp::Le,
        wit::CompareOp::Gt => CompareOp::Gt,
        wit::CompareOp::Ge => CompareOp::Ge,
    }
}

fn scalar_from_wit(value: wit::Scalar) -> Scalar {
    match value {
        wit::Scalar::Null => Scalar::Null,
        wit::Scalar::Boolean(v) => Scalar::Boolean(v),
        wit::Scalar::Int64(v) => Scalar::Int64(v),
        wit::Scalar::Uint64(v) => Scalar::UInt64(v),
        wit::Scalar::Float64(v) => Scalar::Float64(v),
        wit::Scalar::Decimal128(d) => Scalar::Decimal128 {
            value: (i128::from(d.high) << 64) | i128::from(d.low),
            precision: d.precision,
            scale: d.scale,
        },
        wit::Scalar::Utf8(v) => Scalar::Utf8(v),
        wit::Scalar::Binary(v) => Scalar::Binary(v),
        wit::Scalar::Date32(v) => Scalar::Date32(v),
        wit::Scalar::TimestampMicros(v) => Scalar::TimestampMicros(v),
    }
}
