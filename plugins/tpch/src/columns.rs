//! Building Arrow columns from generated rows, only for the projected columns.
//!
//! A reader pulls up to `max_rows` rows from a `tpchgen` iterator, then builds one array per
//! projected column from that slice of rows. Unprojected columns cost nothing beyond the
//! generator itself, which is why this is written here rather than taken from
//! `tpchgen-arrow` (which always builds all columns, as `Utf8View`).

use std::fmt::{Display, Write as _};
use std::sync::Arc;

use quarry_sdk::arrow_array::builder::StringBuilder;
use quarry_sdk::arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch,
    RecordBatchOptions, StringArray,
};
use quarry_sdk::arrow_schema::SchemaRef;
use quarry_sdk::{ConnectorError, Result, SplitReader};
use tpchgen::dates::TPCHDate;
use tpchgen::decimal::TPCHDecimal;
use tpchgen::generators::{
    Customer, CustomerGenerator, LineItem, LineItemGenerator, Nation, NationGenerator, Order,
    OrderGenerator, Part, PartGenerator, PartSupp, PartSuppGenerator, Region, RegionGenerator,
    Supplier, SupplierGenerator,
};

use crate::split::SplitPayload;
use crate::table::Table;

/// Produces the next batch of at most `n` rows, or `None` when the generator is exhausted.
type BatchSource = Box<dyn FnMut(usize) -> Result<Option<RecordBatch>>>;

/// Reads one split: one generator part of one table.
pub struct GeneratorReader {
    source: BatchSource,
    /// Rows still allowed by the scan's limit.
    remaining: u64,
}

impl GeneratorReader {
    pub fn new(
        table: Table,
        scale_factor: f64,
        split: SplitPayload,
        schema: SchemaRef,
        projection: Vec<usize>,
        limit: Option<u64>,
    ) -> Self {
        let (part, parts) = (split.part as i32, split.parts as i32);
        let source: BatchSource = match table {
            Table::Region => source(
                RegionGenerator::new(scale_factor, part, parts).iter(),
                region_column,
                schema,
                projection,
            ),
            Table::Nation => source(
                NationGenerator::new(scale_factor, part, parts).iter(),
                nation_column,
                schema,
                projection,
            ),
            Table::Part => source(
                PartGenerator::new(scale_factor, part, parts).iter(),
                part_column,
                schema,
                projection,
            ),
            Table::Supplier => source(
                SupplierGenerator::new(scale_factor, part, parts).iter(),
                supplier_column,
                schema,
                projection,
            ),
            Table::PartSupp => source(
                PartSuppGenerator::new(scale_factor, part, parts).iter(),
                partsupp_column,
                schema,
                projection,
            ),
            Table::Customer => source(
                CustomerGenerator::new(scale_factor, part, parts).iter(),
                customer_column,
                schema,
                projection,
            ),
            Table::Orders => source(
                OrderGenerator::new(scale_factor, part, parts).iter(),
                orders_column,
                schema,
                projection,
            ),
            Table::LineItem => source(
                LineItemGenerator::new(scale_factor, part, parts).iter(),
                lineitem_column,
                schema,
                projection,
            ),
        };
        Self {
            source,
            remaining: limit.unwrap_or(u64::MAX),
        }
    }
}

impl SplitReader for GeneratorReader {
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RecordBatch>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let rows = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(max_rows.max(1));
        let batch = (self.source)(rows)?;
        if let Some(batch) = &batch {
            self.remaining = self.remaining.saturating_sub(batch.num_rows() as u64);
        }
        Ok(batch)
    }
}

fn source<I>(
    mut rows: I,
    column: fn(&[I::Item], usize) -> ArrayRef,
    schema: SchemaRef,
    projection: Vec<usize>,
) -> BatchSource
where
    I: Iterator + 'static,
{
    let mut buffer = Vec::new();
    Box::new(move |max_rows| {
        buffer.clear();
        buffer.extend(rows.by_ref().take(max_rows));
        if buffer.is_empty() {
            return Ok(None);
        }
        let columns = projection.iter().map(|&i| column(&buffer, i)).collect();
        // An empty projection (`SELECT count(*)`) still needs the row count.
        let options = RecordBatchOptions::new().with_row_count(Some(buffer.len()));
        let batch = RecordBatch::try_new_with_options(schema.clone(), columns, &options)
            .map_err(|e| ConnectorError::internal(format!("tpch batch: {e}")))?;
        Ok(Some(batch))
    })
}

fn int64<R>(rows: &[R], value: impl Fn(&R) -> i64) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(rows.iter().map(value)))
}

fn int32<R>(rows: &[R], value: impl Fn(&R) -> i32) -> ArrayRef {
    Arc::new(Int32Array::from_iter_values(rows.iter().map(value)))
}

/// Money as decimal(15,2): `tpchgen` keeps it as hundredths in an i64.
fn money<R>(rows: &[R], value: impl Fn(&R) -> i64) -> ArrayRef {
    let array = Decimal128Array::from_iter_values(rows.iter().map(|r| i128::from(value(r))));
    Arc::new(array.with_data_type(quarry_sdk::arrow_schema::DataType::Decimal128(15, 2)))
}

fn decimal<R>(rows: &[R], value: impl Fn(&R) -> TPCHDecimal) -> ArrayRef {
    money(rows, |r| value(r).into_inner())
}

fn date<R>(rows: &[R], value: impl Fn(&R) -> TPCHDate) -> ArrayRef {
    Arc::new(Date32Array::from_iter_values(
        rows.iter().map(|r| value(r).to_unix_epoch()),
    ))
}

fn text<'a, R: 'a>(rows: &'a [R], value: impl Fn(&'a R) -> &'a str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(value)))
}

/// Text of values that are formatted on the fly (names like `Supplier#000000001`, phones).
fn formatted<R, D: Display>(rows: &[R], value: impl Fn(&R) -> &D) -> ArrayRef {
    let mut builder = StringBuilder::with_capacity(rows.len(), rows.len() * 24);
    let mut scratch = String::new();
    for row in rows {
        scratch.clear();
        // Writing to a String cannot fail.
        let _ = write!(scratch, "{}", value(row));
        builder.append_value(&scratch);
    }
    Arc::new(builder.finish())
}

/// Column indices follow [`Table::columns`]; an index past the end is caught earlier, when the
/// projection is checked against the schema, so the last arm is unreachable in practice.
fn region_column(rows: &[Region<'static>], index: usize) -> ArrayRef {
    match index {
        0 => int64(rows, |r| r.r_regionkey),
        1 => text(rows, |r| r.r_name),
        _ => text(rows, |r| r.r_comment),
    }
}

fn nation_column(rows: &[Nation<'static>], index: usize) -> ArrayRef {
    match index {
        0 => int64(rows, |r| r.n_nationkey),
        1 => text(rows, |r| r.n_name),
        2 => int64(rows, |r| r.n_regionkey),
        _ => text(rows, |r| r.n_comment),
    }
}

fn part_column(rows: &[Part<'static>], index: usize) -> ArrayRef {
    match index {
        0 => int64(rows, |r| r.p_partkey),
        1 => formatted(rows, |r| &r.p_name),
        2 => formatted(rows, |r| &r.p_mfgr),
        3 => formatted(rows, |r| &r.p_brand),
        4 => text(rows, |r| r.p_type),
        5 => int32(rows, |r| r.p_size),
        6 => text(rows, |r| r.p_container),
        7 => decimal(rows, |r| r.p_retailprice),
        _ => text(rows, |r| r.p_comment),
    }
}

fn supplier_column(rows: &[Supplier], index: usize) -> ArrayRef {
    match index {
        0 => int64(rows, |r| r.s_suppkey),
        1 => formatted(rows, |r| &r.s_name),
        2 => formatted(rows, |r| &r.s_address),
        3 => int64(rows, |r| r.s_nationkey),
        4 => formatted(rows, |r| &r.s_phone),
        5 => decimal(rows, |r| r.s_acctbal),
        _ => text(rows, |r| r.s_comment.as_str()),
    }
}

fn partsupp_column(rows: &[PartSupp<'static>], index: usize) -> ArrayRef {
    match index {
        0 => int64(rows, |r| r.ps_partkey),
        1 => int64(rows, |r| r.ps_suppkey),
        2 => int32(rows, |r| r.ps_availqty),
        3 => decimal(rows, |r| r.ps_supplycost),
        _ => text(rows, |r| r.ps_comment),
    }
}

fn customer_column(rows: &[Customer<'static>], index: usize) -> ArrayRef {
    match index {
        0 => int64(rows, |r| r.c_custkey),
        1 => formatted(rows, |r| &r.c_name),
        2 => formatted(rows, |r| &r.c_address),
        3 => int64(rows, |r| r.c_nationkey),
        4 => formatted(rows, |r| &r.c_phone),
        5 => decimal(rows, |r| r.c_acctbal),
        6 => text(rows, |r| r.c_mktsegment),
        _ => text(rows, |r| r.c_comment),
    }
}

fn orders_column(rows: &[Order<'static>], index: usize) -> ArrayRef {
    match index {
        0 => int64(rows, |r| r.o_orderkey),
        1 => int64(rows, |r| r.o_custkey),
        2 => text(rows, |r| r.o_orderstatus.as_str()),
        3 => decimal(rows, |r| r.o_totalprice),
        4 => date(rows, |r| r.o_orderdate),
        5 => text(rows, |r| r.o_orderpriority),
        6 => formatted(rows, |r| &r.o_clerk),
        7 => int32(rows, |r| r.o_shippriority),
        _ => text(rows, |r| r.o_comment),
    }
}

fn lineitem_column(rows: &[LineItem<'static>], index: usize) -> ArrayRef {
    match index {
        0 => int64(rows, |r| r.l_orderkey),
        1 => int64(rows, |r| r.l_partkey),
        2 => int64(rows, |r| r.l_suppkey),
        3 => int32(rows, |r| r.l_linenumber),
        // tpchgen keeps the quantity as a whole number.
        4 => money(rows, |r| r.l_quantity * 100),
        5 => decimal(rows, |r| r.l_extendedprice),
        6 => decimal(rows, |r| r.l_discount),
        7 => decimal(rows, |r| r.l_tax),
        8 => text(rows, |r| r.l_returnflag),
        9 => text(rows, |r| r.l_linestatus),
        10 => date(rows, |r| r.l_shipdate),
        11 => date(rows, |r| r.l_commitdate),
        12 => date(rows, |r| r.l_receiptdate),
        13 => text(rows, |r| r.l_shipinstruct),
        14 => text(rows, |r| r.l_shipmode),
        _ => text(rows, |r| r.l_comment),
    }
}
