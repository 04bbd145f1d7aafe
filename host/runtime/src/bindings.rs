//! The one place the contract's bindings are generated: a module per contract version this
//! host serves, each with the conversions between its generated types and the runtime's own
//! mirrors in [`crate::types`].
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

    impl From<wit::ConfigIssue> for host::ConfigIssue {
        fn from(i: wit::ConfigIssue) -> Self {
            host::ConfigIssue {
                field: i.field,
                message: i.message,
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
                W::TimestampMicros(tz) => H::TimestampMicros(tz),
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

    impl From<wit::Pushdown> for host::Pushdown {
        fn from(p: wit::Pushdown) -> Self {
            match p {
                wit::Pushdown::Exact => host::Pushdown::Exact,
                wit::Pushdown::Inexact => host::Pushdown::Inexact,
                wit::Pushdown::Unsupported => host::Pushdown::Unsupported,
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

    fn scalar(s: &host::Scalar) -> wit::Scalar {
        use host::Scalar as H;
        use wit::Scalar as W;
        match s {
            H::Null => W::Null,
            H::Boolean(b) => W::Boolean(*b),
            H::Int64(v) => W::Int64(*v),
            H::UInt64(v) => W::Uint64(*v),
            H::Float64(v) => W::Float64(*v),
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

    fn compare_op(op: host::CompareOp) -> wit::CompareOp {
        match op {
            host::CompareOp::Eq => wit::CompareOp::Eq,
            host::CompareOp::Ne => wit::CompareOp::Ne,
            host::CompareOp::Lt => wit::CompareOp::Lt,
            host::CompareOp::Le => wit::CompareOp::Le,
            host::CompareOp::Gt => wit::CompareOp::Gt,
            host::CompareOp::Ge => wit::CompareOp::Ge,
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
                        op: compare_op(*op),
                        value: scalar(value),
                    }),
                    H::InList {
                        column,
                        values,
                        negated,
                    } => W::InList(wit::InList {
                        column: *column,
                        values: values.iter().map(scalar).collect(),
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
}
