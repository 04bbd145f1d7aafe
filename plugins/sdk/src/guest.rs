//! The export glue: wit-bindgen bindings of the contract, adapters from the SDK traits to the
//! generated `Guest*` traits, and the conversions between the generated types and the contract
//! crate's (ADR 0025). Connector authors never name anything here; `export_connector!` does.
//!
//! Built for wasm32; natively only for unit tests, where a round trip (contract value, generated
//! type, contract value again) checks every conversion.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::connector::{Catalog as _, Connector, SplitReader as _};
use crate::log::Level;
use crate::predicate::{CompareOp, Predicate, PredicateNode, Scalar};
use crate::{
    BatchPacer, Column, ConfigField, ConfigIssue, ConnectorError, ConnectorSpec, DataType,
    ErrorKind, Properties, Pushdown, ScanPlan, ScanRequest, Split, TableSchema,
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

// Natively only the conversions are exercised; logging goes to standard error there.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
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
        C::spec().into()
    }

    fn validate(properties: wit::Properties) -> Vec<wit::ConfigIssue> {
        let properties: Properties = properties.into_iter().collect();
        C::validate(&properties)
            .into_iter()
            .map(Into::into)
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
            .map(Into::into)
            .map_err(error_to_wit)
    }

    fn plan_scan(&self, request: wit::ScanRequest) -> Result<wit::ScanPlan, wit::ConnectorError> {
        self.inner
            .plan_scan(&request.into())
            .map(Into::into)
            .map_err(error_to_wit)
    }

    fn open_split(
        &self,
        request: wit::ScanRequest,
        split: wit::Split,
    ) -> Result<wit_source::SplitReader, wit::ConnectorError> {
        let reader = self
            .inner
            .open_split(&request.into(), &split.into())
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

// The conversions, both ways for every type, so each round-trips in the tests below; the
// adapters above use one direction of each.

impl From<wit::ConnectorError> for ConnectorError {
    fn from(err: wit::ConnectorError) -> Self {
        match err {
            wit::ConnectorError::InvalidConfig(m) => ConnectorError::invalid_config(m),
            wit::ConnectorError::NotFound(m) => ConnectorError::not_found(m),
            wit::ConnectorError::Unsupported(m) => ConnectorError::unsupported(m),
            wit::ConnectorError::Io(m) => ConnectorError::io(m),
            wit::ConnectorError::Internal(m) => ConnectorError::internal(m),
        }
    }
}

impl From<ConnectorSpec> for wit::ConnectorSpec {
    fn from(spec: ConnectorSpec) -> Self {
        wit::ConnectorSpec {
            name: spec.name,
            version: spec.version,
            description: spec.description,
            config: spec.config.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<wit::ConnectorSpec> for ConnectorSpec {
    fn from(spec: wit::ConnectorSpec) -> Self {
        ConnectorSpec {
            name: spec.name,
            version: spec.version,
            description: spec.description,
            config: spec.config.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ConfigField> for wit::ConfigField {
    fn from(f: ConfigField) -> Self {
        wit::ConfigField {
            name: f.name,
            doc: f.doc,
            required: f.required,
            secret: f.secret,
            default_value: f.default_value,
        }
    }
}

impl From<wit::ConfigField> for ConfigField {
    fn from(f: wit::ConfigField) -> Self {
        ConfigField {
            name: f.name,
            doc: f.doc,
            required: f.required,
            secret: f.secret,
            default_value: f.default_value,
        }
    }
}

impl From<ConfigIssue> for wit::ConfigIssue {
    fn from(ConfigIssue { field, message }: ConfigIssue) -> Self {
        wit::ConfigIssue { field, message }
    }
}

impl From<wit::ConfigIssue> for ConfigIssue {
    fn from(wit::ConfigIssue { field, message }: wit::ConfigIssue) -> Self {
        ConfigIssue { field, message }
    }
}

impl From<DataType> for wit::DataType {
    fn from(data_type: DataType) -> Self {
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
}

impl From<wit::DataType> for DataType {
    fn from(data_type: wit::DataType) -> Self {
        match data_type {
            wit::DataType::Boolean => DataType::Boolean,
            wit::DataType::Int8 => DataType::Int8,
            wit::DataType::Int16 => DataType::Int16,
            wit::DataType::Int32 => DataType::Int32,
            wit::DataType::Int64 => DataType::Int64,
            wit::DataType::Uint8 => DataType::UInt8,
            wit::DataType::Uint16 => DataType::UInt16,
            wit::DataType::Uint32 => DataType::UInt32,
            wit::DataType::Uint64 => DataType::UInt64,
            wit::DataType::Float32 => DataType::Float32,
            wit::DataType::Float64 => DataType::Float64,
            wit::DataType::Decimal128(d) => DataType::Decimal128 {
                precision: d.precision,
                scale: d.scale,
            },
            wit::DataType::Utf8 => DataType::Utf8,
            wit::DataType::Binary => DataType::Binary,
            wit::DataType::Date32 => DataType::Date32,
            wit::DataType::TimestampMicros(timezone) => DataType::TimestampMicros { timezone },
        }
    }
}

impl From<TableSchema> for wit::TableSchema {
    fn from(table: TableSchema) -> Self {
        wit::TableSchema {
            columns: table
                .columns
                .into_iter()
                .map(|c| wit::Column {
                    name: c.name,
                    data_type: c.data_type.into(),
                    nullable: c.nullable,
                    doc: c.doc,
                })
                .collect(),
            row_count: table.row_count,
        }
    }
}

impl From<wit::TableSchema> for TableSchema {
    fn from(table: wit::TableSchema) -> Self {
        TableSchema {
            columns: table
                .columns
                .into_iter()
                .map(|c| Column {
                    name: c.name,
                    data_type: c.data_type.into(),
                    nullable: c.nullable,
                    doc: c.doc,
                })
                .collect(),
            row_count: table.row_count,
        }
    }
}

impl From<Pushdown> for wit::Pushdown {
    fn from(p: Pushdown) -> Self {
        match p {
            Pushdown::Exact => wit::Pushdown::Exact,
            Pushdown::Inexact => wit::Pushdown::Inexact,
            Pushdown::Unsupported => wit::Pushdown::Unsupported,
        }
    }
}

impl From<wit::Pushdown> for Pushdown {
    fn from(p: wit::Pushdown) -> Self {
        match p {
            wit::Pushdown::Exact => Pushdown::Exact,
            wit::Pushdown::Inexact => Pushdown::Inexact,
            wit::Pushdown::Unsupported => Pushdown::Unsupported,
        }
    }
}

impl From<Split> for wit::Split {
    fn from(s: Split) -> Self {
        wit::Split {
            payload: s.payload,
            estimated_rows: s.estimated_rows,
        }
    }
}

impl From<wit::Split> for Split {
    fn from(s: wit::Split) -> Self {
        Split {
            payload: s.payload,
            estimated_rows: s.estimated_rows,
        }
    }
}

impl From<ScanPlan> for wit::ScanPlan {
    fn from(plan: ScanPlan) -> Self {
        wit::ScanPlan {
            splits: plan.splits.into_iter().map(Into::into).collect(),
            filters: plan.filters.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<wit::ScanPlan> for ScanPlan {
    fn from(plan: wit::ScanPlan) -> Self {
        ScanPlan {
            splits: plan.splits.into_iter().map(Into::into).collect(),
            filters: plan.filters.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ScanRequest> for wit::ScanRequest {
    fn from(request: ScanRequest) -> Self {
        wit::ScanRequest {
            schema: request.schema,
            table: request.table,
            projection: request.projection,
            filters: request.filters.into_iter().map(Into::into).collect(),
            limit: request.limit,
        }
    }
}

impl From<wit::ScanRequest> for ScanRequest {
    fn from(request: wit::ScanRequest) -> Self {
        ScanRequest {
            schema: request.schema,
            table: request.table,
            projection: request.projection,
            filters: request.filters.into_iter().map(Into::into).collect(),
            limit: request.limit,
        }
    }
}

impl From<Predicate> for wit::Predicate {
    fn from(predicate: Predicate) -> Self {
        wit::Predicate {
            root: predicate.root,
            nodes: predicate
                .nodes
                .into_iter()
                .map(|node| match node {
                    PredicateNode::Compare { column, op, value } => {
                        wit::PredicateNode::Compare(wit::Comparison {
                            column,
                            op: op.into(),
                            value: value.into(),
                        })
                    }
                    PredicateNode::InList {
                        column,
                        values,
                        negated,
                    } => wit::PredicateNode::InList(wit::InList {
                        column,
                        values: values.into_iter().map(Into::into).collect(),
                        negated,
                    }),
                    PredicateNode::IsNull(c) => wit::PredicateNode::IsNull(c),
                    PredicateNode::IsNotNull(c) => wit::PredicateNode::IsNotNull(c),
                    PredicateNode::And(items) => wit::PredicateNode::And(items),
                    PredicateNode::Or(items) => wit::PredicateNode::Or(items),
                    PredicateNode::Not(item) => wit::PredicateNode::Not(item),
                })
                .collect(),
        }
    }
}

impl From<wit::Predicate> for Predicate {
    fn from(predicate: wit::Predicate) -> Self {
        Predicate {
            root: predicate.root,
            nodes: predicate
                .nodes
                .into_iter()
                .map(|node| match node {
                    wit::PredicateNode::Compare(c) => PredicateNode::Compare {
                        column: c.column,
                        op: c.op.into(),
                        value: c.value.into(),
                    },
                    wit::PredicateNode::InList(list) => PredicateNode::InList {
                        column: list.column,
                        values: list.values.into_iter().map(Into::into).collect(),
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
}

impl From<CompareOp> for wit::CompareOp {
    fn from(op: CompareOp) -> Self {
        match op {
            CompareOp::Eq => wit::CompareOp::Eq,
            CompareOp::Ne => wit::CompareOp::Ne,
            CompareOp::Lt => wit::CompareOp::Lt,
            CompareOp::Le => wit::CompareOp::Le,
            CompareOp::Gt => wit::CompareOp::Gt,
            CompareOp::Ge => wit::CompareOp::Ge,
        }
    }
}

impl From<wit::CompareOp> for CompareOp {
    fn from(op: wit::CompareOp) -> Self {
        match op {
            wit::CompareOp::Eq => CompareOp::Eq,
            wit::CompareOp::Ne => CompareOp::Ne,
            wit::CompareOp::Lt => CompareOp::Lt,
            wit::CompareOp::Le => CompareOp::Le,
            wit::CompareOp::Gt => CompareOp::Gt,
            wit::CompareOp::Ge => CompareOp::Ge,
        }
    }
}

impl From<Scalar> for wit::Scalar {
    fn from(value: Scalar) -> Self {
        match value {
            Scalar::Null => wit::Scalar::Null,
            Scalar::Boolean(v) => wit::Scalar::Boolean(v),
            Scalar::Int64(v) => wit::Scalar::Int64(v),
            Scalar::UInt64(v) => wit::Scalar::Uint64(v),
            Scalar::Float64(v) => wit::Scalar::Float64(v),
            // The two 64-bit halves of the unscaled value.
            Scalar::Decimal128 {
                value,
                precision,
                scale,
            } => wit::Scalar::Decimal128(wit::DecimalValue {
                high: (value >> 64) as i64,
                low: value as u64,
                precision,
                scale,
            }),
            Scalar::Utf8(v) => wit::Scalar::Utf8(v),
            Scalar::Binary(v) => wit::Scalar::Binary(v),
            Scalar::Date32(v) => wit::Scalar::Date32(v),
            Scalar::TimestampMicros(v) => wit::Scalar::TimestampMicros(v),
        }
    }
}

impl From<wit::Scalar> for Scalar {
    fn from(value: wit::Scalar) -> Self {
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
}

#[cfg(test)]
mod tests {
    use quarry_contract::samples;

    use super::*;

    /// Converts `value` to its generated type and back.
    fn round_trip<T, W>(value: T) -> T
    where
        T: Into<W> + From<W>,
    {
        T::from(value.into())
    }

    #[test]
    fn every_error_kind_round_trips() {
        for err in [
            ConnectorError::invalid_config("a"),
            ConnectorError::not_found("b"),
            ConnectorError::unsupported("c"),
            ConnectorError::io("d"),
            ConnectorError::internal("e"),
        ] {
            assert_eq!(ConnectorError::from(error_to_wit(err.clone())), err);
        }
    }

    #[test]
    fn specs_and_issues_round_trip() {
        let spec = samples::spec();
        assert_eq!(round_trip::<_, wit::ConnectorSpec>(spec.clone()), spec);
        for issue in samples::issues() {
            assert_eq!(round_trip::<_, wit::ConfigIssue>(issue.clone()), issue);
        }
    }

    #[test]
    fn every_data_type_round_trips_in_a_table_schema() {
        let table = samples::table_schema();
        assert_eq!(round_trip::<_, wit::TableSchema>(table.clone()), table);
    }

    #[test]
    fn requests_with_every_node_op_and_scalar_round_trip() {
        let request = samples::scan_request();
        assert_eq!(round_trip::<_, wit::ScanRequest>(request.clone()), request);
        let bare = ScanRequest::table("s", "t");
        assert_eq!(round_trip::<_, wit::ScanRequest>(bare.clone()), bare);
    }

    #[test]
    fn plans_with_every_pushdown_round_trip() {
        let plan = samples::scan_plan();
        assert_eq!(round_trip::<_, wit::ScanPlan>(plan.clone()), plan);
    }
}
