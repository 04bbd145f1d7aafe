//! The server's catalog read through a connection: schemas, tables and views, a table's mapped
//! columns, its row estimate and its size in pages.

use quarry_sdk::{ConnectorError, Result, log};

use crate::connection::Connection;
use crate::types::{ColumnDef, map_type};

/// Schemas that are PostgreSQL's own, hidden unless `schemas` names them.
pub fn is_system_schema(name: &str) -> bool {
    matches!(name, "pg_catalog" | "information_schema" | "pg_toast")
        || name.starts_with("pg_temp_")
        || name.starts_with("pg_toast_temp_")
}

/// Every schema the user may use, sorted.
pub fn schemas(conn: &mut Connection) -> Result<Vec<String>> {
    let rows = conn.query(
        "SELECT nspname::text FROM pg_catalog.pg_namespace \
         WHERE has_schema_privilege(oid, 'USAGE') ORDER BY 1",
        &[],
    )?;
    Ok(rows.into_iter().filter_map(first).collect())
}

/// Tables, views, materialized views, foreign and partitioned tables of `schema`, sorted.
pub fn tables(conn: &mut Connection, schema: &str) -> Result<Vec<String>> {
    let rows = conn.query(
        "SELECT c.relname::text FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1::text AND c.relkind IN ('r', 'v', 'm', 'f', 'p') ORDER BY 1",
        &[schema],
    )?;
    Ok(rows.into_iter().filter_map(first).collect())
}

/// What plan and describe need to know about one relation.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// `r` table, `v` view, `m` materialized view, `f` foreign, `p` partitioned.
    pub kind: char,
    /// `pg_class.reltuples`; `None` when never analysed (-1) or not a table.
    pub row_estimate: Option<u64>,
    /// Heap pages on disk now (`pg_relation_size / block_size`).
    pub pages: u64,
    /// The mapped columns, in table order.
    pub columns: Vec<ColumnDef>,
}

/// The relation `schema.table`, or `not-found` naming it.
pub fn table_info(conn: &mut Connection, schema: &str, table: &str) -> Result<TableInfo> {
    let rows = conn.query(
        "SELECT c.relkind::text, c.reltuples::float8::text, \
         (pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int8)::text \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1::text AND c.relname = $2::text \
         AND c.relkind IN ('r', 'v', 'm', 'f', 'p')",
        &[schema, table],
    )?;
    let Some(row) = rows.into_iter().next() else {
        return Err(ConnectorError::not_found(format!(
            "table \"{schema}\".\"{table}\" not found"
        )));
    };
    let cell = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let kind = cell(0).chars().next().unwrap_or('r');
    let row_estimate = cell(1)
        .parse::<f64>()
        .ok()
        .filter(|n| *n >= 0.0 && matches!(kind, 'r' | 'm'))
        .map(|n| n as u64);
    let pages = cell(2).parse::<u64>().unwrap_or(0);
    let columns = columns(conn, schema, table)?;
    Ok(TableInfo {
        kind,
        row_estimate,
        pages,
        columns,
    })
}

/// The columns of `schema.table` that map onto the contract; the others are logged and left
/// out. A domain is read as its base type.
fn columns(conn: &mut Connection, schema: &str, table: &str) -> Result<Vec<ColumnDef>> {
    let rows = conn.query(
        "SELECT a.attname::text, \
         (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END)::int8::text, \
         (CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END)::text, \
         (a.attnotnull OR (t.typtype = 'd' AND t.typnotnull))::text, \
         (coalesce(b.typtype, t.typtype) = 'e')::text, \
         pg_catalog.format_type(a.atttypid, a.atttypmod) \
         FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_catalog.pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype \
         WHERE n.nspname = $1::text AND c.relname = $2::text \
         AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        &[schema, table],
    )?;
    let mut columns = Vec::new();
    for row in rows {
        let cell = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let name = cell(0);
        let type_oid = cell(1).parse::<u32>().unwrap_or(0);
        let typmod = cell(2).parse::<i32>().unwrap_or(-1);
        let not_null = cell(3) == "true";
        let is_enum = cell(4) == "true";
        match map_type(type_oid, typmod, is_enum) {
            Some((kind, as_text)) => columns.push(ColumnDef {
                name,
                kind,
                as_text,
                nullable: !not_null,
            }),
            None => log::info(&format!(
                "postgres: table {schema}.{table}: column \"{name}\" of type {} is left out \
                 (no mapping onto the connector's types)",
                cell(5)
            )),
        }
    }
    Ok(columns)
}

fn first(row: Vec<Option<String>>) -> Option<String> {
    row.into_iter().next().flatten()
}
