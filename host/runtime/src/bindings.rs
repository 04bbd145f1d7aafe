//! The one place the contract's bindings are generated: a module per contract version this
//! host serves, each with the conversions between its generated types and the contract crate's
//! types (`quarry-contract`, re-exported by [`crate::types`]; ADR 0025).
//!
//! Every type converts both ways, so a round trip (contract value, generated type, contract
//! value again) tests each conversion; the host itself sends requests, predicates and splits and
//! receives the rest.
//!
//! When the contract makes a breaking change, the old WIT is frozen under
//! `wit/deps/connector@X.Y.Z/`, a module for it is added here, and [`crate::contract`] lists the
//! version as supported. The connector world imports nothing from WASI, so no `with:` mapping is
//! needed; WASI itself is linked from `wasmtime-wasi`'s own bindings.

/// Contract `quarry:connector@0.1.0`.
pub mod v0_1_0 {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "quarry:connector/connector@0.1.0",
        // Exports are futures, so a call can be dropped at its deadline while the plugin waits
        // in a host call (ADR 0018); the contract's own imports (logging) stay synchronous.
        exports: { default: async },
    });

    use self::quarry::connector::types as wit;
    use crate::types as host;

    impl From<wit::ConnectorError> for (host::ConnectorErrorKind, String) {
        fn from(e: wit::ConnectorError) -> Self {
            match e {
                wit::ConnectorError::InvalidConfig(m) => {
                    (host::ConnectorErrorKind::InvalidConfig, m)
                }
                wit::ConnectorError::NotFound(m) => (host::ConnectorErrorKind::NotFound, m),
                wit::ConnectorError::Unsupported(m) => (host::ConnectorErrorKind::Unsupported, m),
                wit::ConnectorError::Io(m) => (host::ConnectorErrorKind::Io, m),
                wit::ConnectorError::Internal(m) => (host::ConnectorErrorKind::Internal, m),
            }
        }
    }

    impl From<(host::ConnectorErrorKind, String)> for wit::ConnectorError {
        fn from((kind, m): (host::ConnectorErrorKind, String)) -> Self {
            match kind {
                host::ConnectorErrorKind::InvalidConfig => wit::ConnectorError::InvalidConfig(m),
                host::ConnectorErrorKind::NotFound => wit::ConnectorError::NotFound(m),
                host::ConnectorErrorKind::Unsupported => wit::ConnectorError::Unsupported(m),
                host::ConnectorErrorKind::Io => wit::ConnectorError::Io(m),
                host::ConnectorErrorKind::Internal => wit::ConnectorError::Internal(m),
            }
        }
    }

    impl From<wit::ConnectorSpec> for host::ConnectorSpec {
        fn from(s: wit::ConnectorSpec) -> Self {
            host::ConnectorSpec {
                name: s.name,
                version: s.version,
                description: s.description,
                config: s.config.into_iter().map(Into::into).collect(),
            }
        }
    }

    impl From<&host::ConnectorSpec> for wit::ConnectorSpec {
        fn from(s: &host::ConnectorSpec) -> Self {
            wit::ConnectorSpec {
                name: s.name.clone(),
                version: s.version.clone(),
                description: s.description.clone(),
                config: s.config.iter().map(Into::into).collect(),
            }
        }
    }

    impl From<wit::ConfigField> for host::ConfigField {
        fn from(f: wit::ConfigField) -> Self {
            host::ConfigField {
                name: f.name,
                doc: f.doc,
                required: f.required,
                secret: f.secret,
                default_value: f.default_value,
            }
        }
    }

    impl From<&host::ConfigField> for wit::ConfigField {
        fn from(f: &host::ConfigField) -> Self {
            wit::ConfigField {
                name: f.name.clone(),
                doc: f.doc.clone(),
                required: f.required,
                secret: f.secret,
                default_value: f.default_value.clone(),
            }
        }
    }

    impl From<wit::ConfigIssue> for host::ConfigIssue {
        fn from(i: wit::ConfigIssue) -> Self {
            host::ConfigIssue {
                field: i.field,
                message: i.message,
            }
        }
    }

    impl From<&host::ConfigIssue> for wit::ConfigIssue {
        fn from(i: &host::ConfigIssue) -> Self {
            wit::ConfigIssue {
                field: i.field.clone(),
                message: i.message.clone(),
            }
        }
    }

    impl From<wit::DataType> for host::DataType {
        fn from(t: wit::DataType) -> Self {
            use host::DataType as H;
            use wit::DataType as W;
            match t {
                W::Boolean => H::Boolean,
                W::Int8 => H::Int8,
                W::Int16 => H::Int16,
                W::Int32 => H::Int32,
                W::Int64 => H::Int64,
                W::Uint8 => H::UInt8,
                W::Uint16 => H::UInt16,
                W::Uint32 => H::UInt32,
                W::Uint64 => H::UInt64,
                W::Float32 => H::Float32,
                W::Float64 => H::Float64,
                W::Decimal128(d) => H::Decimal128 {
                    precision: d.precision,
                    scale: d.scale,
                },
                W::Utf8 => H::Utf8,
                W::Binary => H::Binary,
                W::Date32 => H::Date32,
                W::TimestampMicros(timezone) => H::TimestampMicros { timezone },
            }
        }
    }

    impl From<&host::DataType> for wit::DataType {
        fn from(t: &host::DataType) -> Self {
            use host::DataType as H;
            use wit::DataType as W;
            match t {
                H::Boolean => W::Boolean,
                H::Int8 => W::Int8,
                H::Int16 => W::Int16,
                H::Int32 => W::Int32,
                H::Int64 => W::Int64,
                H::UInt8 => W::Uint8,
                H::UInt16 => W::Uint16,
                H::UInt32 => W::Uint32,
                H::UInt64 => W::Uint64,
                H::Float32 => W::Float32,
                H::Float64 => W::Float64,
                H::Decimal128 { precision, scale } => W::Decimal128(wit::DecimalType {
                    precision: *precision,
                    scale: *scale,
                }),
                H::Utf8 => W::Utf8,
                H::Binary => W::Binary,
                H::Date32 => W::Date32,
                H::TimestampMicros { timezone } => W::TimestampMicros(timezone.clone()),
            }
        }
    }

    impl From<wit::TableSchema> for host::TableSchema {
        fn from(s: wit::TableSchema) -> Self {
            host::TableSchema {
                columns: s
                    .columns
                    .into_iter()
                    .map(|c| host::Column {
                        name: c.name,
                        data_type: c.data_type.into(),
                        nullable: c.nullable,
                        doc: c.doc,
                    })
                    .collect(),
                row_count: s.row_count,
            }
        }
    }

    impl From<&host::TableSchema> for wit::TableSchema {
        fn from(s: &host::TableSchema) -> Self {
            wit::TableSchema {
                columns: s
                    .columns
                    .iter()
                    .map(|c| wit::Column {
                        name: c.name.clone(),
                        data_type: (&c.data_type).into(),
                        nullable: c.nullable,
                        doc: c.doc.clone(),
                    })
                    .collect(),
                row_count: s.row_count,
            }
        }
    }

    impl From<wit::Pushdown> for host::Pushdown {
        fn from(p: wit::Pushdown) -> Self {
            match p {
                wit::Pushdown::Exact => host::Pushdown::Exact,
                wit::Pushdown::Inexact => host::Pushdown::Inexact,
                wit::Pushdown::Unsupported => host::Pushdown::Unsupported,
            }
        }
    }

    impl From<&host::Pushdown> for wit::Pushdown {
        fn from(p: &host::Pushdown) -> Self {
            match p {
                host::Pushdown::Exact => wit::Pushdown::Exact,
                host::Pushdown::Inexact => wit::Pushdown::Inexact,
                host::Pushdown::Unsupported => wit::Pushdown::Unsupported,
            }
        }
    }

    impl From<wit::Split> for host::Split {
        fn from(s: wit::Split) -> Self {
            host::Split {
                payload: s.payload,
                estimated_rows: s.estimated_rows,
            }
        }
    }

    impl From<&host::Split> for wit::Split {
        fn from(s: &host::Split) -> Self {
            wit::Split {
                payload: s.payload.clone(),
                estimated_rows: s.estimated_rows,
            }
        }
    }

    impl From<wit::ScanPlan> for host::ScanPlan {
        fn from(p: wit::ScanPlan) -> Self {
            host::ScanPlan {
                splits: p.splits.into_iter().map(Into::into).collect(),
                filters: p.filters.into_iter().map(Into::into).collect(),
            }
        }
    }

    impl From<&host::ScanPlan> for wit::ScanPlan {
        fn from(p: &host::ScanPlan) -> Self {
            wit::ScanPlan {
                splits: p.splits.iter().map(Into::into).collect(),
                filters: p.filters.iter().map(Into::into).collect(),
            }
        }
    }

    impl From<&host::Scalar> for wit::Scalar {
        fn from(s: &host::Scalar) -> Self {
            use host::Scalar as H;
            use wit::Scalar as W;
            match s {
                H::Null => W::Null,
                H::Boolean(b) => W::Boolean(*b),
                H::Int64(v) => W::Int64(*v),
                H::UInt64(v) => W::Uint64(*v),
                H::Float64(v) => W::Float64(*v),
                // The two 64-bit halves of the unscaled value.
                H::Decimal128 {
                    value,
                    precision,
                    scale,
                } => W::Decimal128(wit::DecimalValue {
                    high: (*value >> 64) as i64,
                    low: *value as u64,
                    precision: *precision,
                    scale: *scale,
                }),
                H::Utf8(v) => W::Utf8(v.clone()),
                H::Binary(v) => W::Binary(v.clone()),
                H::Date32(v) => W::Date32(*v),
                H::TimestampMicros(v) => W::TimestampMicros(*v),
            }
        }
    }

    impl From<wit::Scalar> for host::Scalar {
        fn from(s: wit::Scalar) -> Self {
            use host::Scalar as H;
            use wit::Scalar as W;
            match s {
                W::Null => H::Null,
                W::Boolean(b) => H::Boolean(b),
                W::Int64(v) => H::Int64(v),
                W::Uint64(v) => H::UInt64(v),
                W::Float64(v) => H::Float64(v),
                W::Decimal128(d) => H::Decimal128 {
                    value: (i128::from(d.high) << 64) | i128::from(d.low),
                    precision: d.precision,
                    scale: d.scale,
                },
                W::Utf8(v) => H::Utf8(v),
                W::Binary(v) => H::Binary(v),
                W::Date32(v) => H::Date32(v),
                W::TimestampMicros(v) => H::TimestampMicros(v),
            }
        }
    }

    impl From<host::CompareOp> for wit::CompareOp {
        fn from(op: host::CompareOp) -> Self {
            match op {
                host::CompareOp::Eq => wit::CompareOp::Eq,
                host::CompareOp::Ne => wit::CompareOp::Ne,
                host::CompareOp::Lt => wit::CompareOp::Lt,
                host::CompareOp::Le => wit::CompareOp::Le,
                host::CompareOp::Gt => wit::CompareOp::Gt,
                host::CompareOp::Ge => wit::CompareOp::Ge,
            }
        }
    }

    impl From<wit::CompareOp> for host::CompareOp {
        fn from(op: wit::CompareOp) -> Self {
            match op {
                wit::CompareOp::Eq => host::CompareOp::Eq,
                wit::CompareOp::Ne => host::CompareOp::Ne,
                wit::CompareOp::Lt => host::CompareOp::Lt,
                wit::CompareOp::Le => host::CompareOp::Le,
                wit::CompareOp::Gt => host::CompareOp::Gt,
                wit::CompareOp::Ge => host::CompareOp::Ge,
            }
        }
    }

    impl From<&host::Predicate> for wit::Predicate {
        fn from(p: &host::Predicate) -> Self {
            use host::PredicateNode as H;
            use wit::PredicateNode as W;
            let nodes = p
                .nodes
                .iter()
                .map(|n| match n {
                    H::Compare { column, op, value } => W::Compare(wit::Comparison {
                        column: *column,
                        op: (*op).into(),
                        value: value.into(),
                    }),
                    H::InList {
                        column,
                        values,
                        negated,
                    } => W::InList(wit::InList {
                        column: *column,
                        values: values.iter().map(Into::into).collect(),
                        negated: *negated,
                    }),
                    H::IsNull(c) => W::IsNull(*c),
                    H::IsNotNull(c) => W::IsNotNull(*c),
                    H::And(cs) => W::And(cs.clone()),
                    H::Or(cs) => W::Or(cs.clone()),
                    H::Not(c) => W::Not(*c),
                })
                .collect();
            wit::Predicate {
                nodes,
                root: p.root,
            }
        }
    }

    impl From<wit::Predicate> for host::Predicate {
        fn from(p: wit::Predicate) -> Self {
            use host::PredicateNode as H;
            use wit::PredicateNode as W;
            let nodes = p
                .nodes
                .into_iter()
                .map(|n| match n {
                    W::Compare(c) => H::Compare {
                        column: c.column,
                        op: c.op.into(),
                        value: c.value.into(),
                    },
                    W::InList(list) => H::InList {
                        column: list.column,
                        values: list.values.into_iter().map(Into::into).collect(),
                        negated: list.negated,
                    },
                    W::IsNull(c) => H::IsNull(c),
                    W::IsNotNull(c) => H::IsNotNull(c),
                    W::And(cs) => H::And(cs),
                    W::Or(cs) => H::Or(cs),
                    W::Not(c) => H::Not(c),
                })
                .collect();
            host::Predicate {
                nodes,
                root: p.root,
            }
        }
    }

    impl From<&host::ScanRequest> for wit::ScanRequest {
        fn from(r: &host::ScanRequest) -> Self {
            wit::ScanRequest {
                schema: r.schema.clone(),
                table: r.table.clone(),
                projection: r.projection.clone(),
                filters: r.filters.iter().map(Into::into).collect(),
                limit: r.limit,
            }
        }
    }

    impl From<wit::ScanRequest> for host::ScanRequest {
        fn from(r: wit::ScanRequest) -> Self {
            host::ScanRequest {
                schema: r.schema,
                table: r.table,
                projection: r.projection,
                filters: r.filters.into_iter().map(Into::into).collect(),
                limit: r.limit,
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use quarry_contract::samples;

        use super::*;

        /// Converts `value` to its generated type and back.
        fn round_trip<'a, T, W>(value: &'a T) -> T
        where
            W: From<&'a T>,
            T: From<W>,
        {
            T::from(W::from(value))
        }

        #[test]
        fn every_error_kind_round_trips() {
            use host::ConnectorErrorKind as K;
            for kind in [
                K::InvalidConfig,
                K::NotFound,
                K::Unsupported,
                K::Io,
                K::Internal,
            ] {
                let error = (kind, format!("{kind}"));
                let back: (K, String) = wit::ConnectorError::from(error.clone()).into();
                assert_eq!(back, error);
            }
        }

        #[test]
        fn specs_and_issues_round_trip() {
            let spec = samples::spec();
            assert_eq!(round_trip::<_, wit::ConnectorSpec>(&spec), spec);
            for issue in samples::issues() {
                assert_eq!(round_trip::<_, wit::ConfigIssue>(&issue), issue);
            }
        }

        #[test]
        fn every_data_type_round_trips_in_a_table_schema() {
            let table = samples::table_schema();
            assert_eq!(round_trip::<_, wit::TableSchema>(&table), table);
        }

        #[test]
        fn requests_with_every_node_op_and_scalar_round_trip() {
            let request = samples::scan_request();
            assert_eq!(round_trip::<_, wit::ScanRequest>(&request), request);
            let bare = host::ScanRequest::table("s", "t");
            assert_eq!(round_trip::<_, wit::ScanRequest>(&bare), bare);
        }

        #[test]
        fn plans_with_every_pushdown_round_trip() {
            let plan = samples::scan_plan();
            assert_eq!(round_trip::<_, wit::ScanPlan>(&plan), plan);
        }
    }
}
