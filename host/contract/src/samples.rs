//! Values that use every case of every contract type, for tests on both sides: the round trips
//! through each side's generated bindings (the runtime's `bindings.rs`, the SDK's `guest.rs`)
//! and each side's Arrow mapping. Feature `samples`, which only dev-dependencies turn on.

use crate::{
    Column, CompareOp, ConfigField, ConfigIssue, ConnectorSpec, DataType, Predicate, PredicateNode,
    Pushdown, Scalar, ScanPlan, ScanRequest, Split, TableSchema,
};

/// Every column type, the time stamp with and without a zone.
pub fn every_data_type() -> Vec<DataType> {
    vec![
        DataType::Boolean,
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::UInt8,
        DataType::UInt16,
        DataType::UInt32,
        DataType::UInt64,
        DataType::Float32,
        DataType::Float64,
        DataType::Decimal128 {
            precision: 15,
            scale: 2,
        },
        DataType::Utf8,
        DataType::Binary,
        DataType::Date32,
        DataType::TimestampMicros { timezone: None },
        DataType::TimestampMicros {
            timezone: Some("UTC".to_owned()),
        },
    ]
}

/// Every kind of literal; the decimal is negative and needs both 64-bit halves.
pub fn every_scalar() -> Vec<Scalar> {
    vec![
        Scalar::Null,
        Scalar::Boolean(true),
        Scalar::Int64(-7),
        Scalar::UInt64(u64::MAX),
        Scalar::Float64(1.5),
        Scalar::Decimal128 {
            value: -12_345_678_901_234_567_890_123_456_789,
            precision: 38,
            scale: 4,
        },
        Scalar::Utf8("x".to_owned()),
        Scalar::Binary(vec![0, 255]),
        Scalar::Date32(-1),
        Scalar::TimestampMicros(1_700_000_000_000_000),
    ]
}

/// A spec with a required field and a secret one with a default.
pub fn spec() -> ConnectorSpec {
    ConnectorSpec {
        name: "pg".to_owned(),
        version: "1.0.0".to_owned(),
        description: "postgres".to_owned(),
        config: vec![
            ConfigField::required("host", "the host"),
            ConfigField::optional("password", "the password")
                .secret()
                .with_default("none"),
        ],
    }
}

/// An issue about a field and one that is not.
pub fn issues() -> Vec<ConfigIssue> {
    vec![
        ConfigIssue::field("host", "bad"),
        ConfigIssue::general("no"),
    ]
}

/// A column of every type, nullable or not, with a doc or not, and a row count.
pub fn table_schema() -> TableSchema {
    TableSchema {
        columns: every_data_type()
            .into_iter()
            .enumerate()
            .map(|(i, data_type)| Column {
                name: format!("c{i}"),
                data_type,
                nullable: i % 3 == 0,
                doc: (i % 2 == 0).then(|| format!("column {i}")),
            })
            .collect(),
        row_count: Some(42),
    }
}

/// A request with a projection, a limit, and a predicate with every node, operator and literal.
pub fn scan_request() -> ScanRequest {
    let ops = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Gt,
        CompareOp::Ge,
    ];
    // Nodes 0..10: a comparison with each literal, cycling through the operators.
    let mut nodes: Vec<PredicateNode> = every_scalar()
        .into_iter()
        .zip(ops.iter().cycle())
        .map(|(value, op)| PredicateNode::Compare {
            column: 1,
            op: *op,
            value,
        })
        .collect();
    // Nodes 10..16, the last the root.
    nodes.extend([
        PredicateNode::InList {
            column: 2,
            values: every_scalar(),
            negated: true,
        },
        PredicateNode::IsNull(3),
        PredicateNode::IsNotNull(4),
        PredicateNode::Not(0),
        PredicateNode::Or(vec![1, 2]),
        PredicateNode::And(vec![10, 11, 12, 13, 14]),
    ]);
    ScanRequest {
        projection: Some(vec![2, 0]),
        filters: vec![Predicate { nodes, root: 15 }],
        limit: Some(10),
        ..ScanRequest::table("s", "t")
    }
}

/// A plan with a split of each kind and every pushdown answer.
pub fn scan_plan() -> ScanPlan {
    ScanPlan {
        splits: vec![
            Split {
                payload: vec![1, 2, 3],
                estimated_rows: Some(7),
            },
            Split {
                payload: Vec::new(),
                estimated_rows: None,
            },
        ],
        filters: vec![Pushdown::Exact, Pushdown::Inexact, Pushdown::Unsupported],
    }
}
