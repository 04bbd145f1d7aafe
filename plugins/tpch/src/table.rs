//! The eight TPC-H tables: names, columns and row counts.

use quarry_sdk::arrow_schema::SchemaRef;
use quarry_sdk::{Column, DataType, TableSchema, TableSchemaArrow};
use tpchgen::generators::{
    CustomerGenerator, OrderGenerator, PartGenerator, PartSuppGenerator, SupplierGenerator,
};

/// A TPC-H table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Region,
    Nation,
    Part,
    Supplier,
    PartSupp,
    Customer,
    Orders,
    LineItem,
}

const MONEY: DataType = DataType::Decimal128 {
    precision: 15,
    scale: 2,
};

impl Table {
    pub const ALL: [Table; 8] = [
        Table::Region,
        Table::Nation,
        Table::Part,
        Table::Supplier,
        Table::PartSupp,
        Table::Customer,
        Table::Orders,
        Table::LineItem,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Region => "region",
            Table::Nation => "nation",
            Table::Part => "part",
            Table::Supplier => "supplier",
            Table::PartSupp => "partsupp",
            Table::Customer => "customer",
            Table::Orders => "orders",
            Table::LineItem => "lineitem",
        }
    }

    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The columns, with the TPC-H names and types (keys int64, money decimal(15,2), dates
    /// date32, text utf8), none nullable.
    pub fn columns(self) -> Vec<Column> {
        use DataType::{Date32, Int32, Int64, Utf8};
        let spec: &[(&str, DataType)] = match self {
            Table::Region => &[
                ("r_regionkey", Int64),
                ("r_name", Utf8),
                ("r_comment", Utf8),
            ],
            Table::Nation => &[
                ("n_nationkey", Int64),
                ("n_name", Utf8),
                ("n_regionkey", Int64),
                ("n_comment", Utf8),
            ],
            Table::Part => &[
                ("p_partkey", Int64),
                ("p_name", Utf8),
                ("p_mfgr", Utf8),
                ("p_brand", Utf8),
                ("p_type", Utf8),
                ("p_size", Int32),
                ("p_container", Utf8),
                ("p_retailprice", MONEY),
                ("p_comment", Utf8),
            ],
            Table::Supplier => &[
                ("s_suppkey", Int64),
                ("s_name", Utf8),
                ("s_address", Utf8),
                ("s_nationkey", Int64),
                ("s_phone", Utf8),
                ("s_acctbal", MONEY),
                ("s_comment", Utf8),
            ],
            Table::PartSupp => &[
                ("ps_partkey", Int64),
                ("ps_suppkey", Int64),
                ("ps_availqty", Int32),
                ("ps_supplycost", MONEY),
                ("ps_comment", Utf8),
            ],
            Table::Customer => &[
                ("c_custkey", Int64),
                ("c_name", Utf8),
                ("c_address", Utf8),
                ("c_nationkey", Int64),
                ("c_phone", Utf8),
                ("c_acctbal", MONEY),
                ("c_mktsegment", Utf8),
                ("c_comment", Utf8),
            ],
            Table::Orders => &[
                ("o_orderkey", Int64),
                ("o_custkey", Int64),
                ("o_orderstatus", Utf8),
                ("o_totalprice", MONEY),
                ("o_orderdate", Date32),
                ("o_orderpriority", Utf8),
                ("o_clerk", Utf8),
                ("o_shippriority", Int32),
                ("o_comment", Utf8),
            ],
            Table::LineItem => &[
                ("l_orderkey", Int64),
                ("l_partkey", Int64),
                ("l_suppkey", Int64),
                ("l_linenumber", Int32),
                ("l_quantity", MONEY),
                ("l_extendedprice", MONEY),
                ("l_discount", MONEY),
                ("l_tax", MONEY),
                ("l_returnflag", Utf8),
                ("l_linestatus", Utf8),
                ("l_shipdate", Date32),
                ("l_commitdate", Date32),
                ("l_receiptdate", Date32),
                ("l_shipinstruct", Utf8),
                ("l_shipmode", Utf8),
                ("l_comment", Utf8),
            ],
        };
        spec.iter()
            .map(|(name, t)| Column::not_null(name, t.clone()))
            .collect()
    }

    pub fn schema(self) -> TableSchema {
        TableSchema::new(self.columns())
    }

    pub fn arrow_schema(self) -> SchemaRef {
        self.schema().to_arrow()
    }

    /// Whether the table grows with the scale factor (nation and region do not, and are
    /// generated whole by every part, so they always get one split).
    pub fn scales(self) -> bool {
        !matches!(self, Table::Region | Table::Nation)
    }

    /// Exact rows at a scale factor, where known without generating (every table but lineitem,
    /// whose orders have one to seven lines each).
    pub fn exact_rows(self, scale_factor: f64) -> Option<u64> {
        match self {
            Table::LineItem => None,
            _ => Some(self.part_rows(scale_factor, 1, 1)),
        }
    }

    /// Estimated rows at a scale factor (exact but for lineitem).
    pub fn estimated_rows(self, scale_factor: f64) -> u64 {
        self.part_rows(scale_factor, 1, 1)
    }

    /// Rows of one part: exact for every table but lineitem, estimated (four lines per order on
    /// average) for lineitem.
    pub fn part_rows(self, scale_factor: f64, part: u32, parts: u32) -> u64 {
        let (part, parts) = (part as i32, parts as i32);
        let rows = match self {
            Table::Region => 5,
            Table::Nation => 25,
            Table::Part => PartGenerator::calculate_row_count(scale_factor, part, parts),
            Table::Supplier => SupplierGenerator::calculate_row_count(scale_factor, part, parts),
            Table::PartSupp => PartSuppGenerator::calculate_row_count(scale_factor, part, parts),
            Table::Customer => CustomerGenerator::calculate_row_count(scale_factor, part, parts),
            Table::Orders => OrderGenerator::calculate_row_count(scale_factor, part, parts),
            Table::LineItem => {
                OrderGenerator::calculate_row_count(scale_factor, part, parts).saturating_mul(4)
            }
        };
        u64::try_from(rows).unwrap_or(0)
    }

    /// The fewest rows one part can have: lineitem has at least one line per order.
    pub fn min_part_rows(self, scale_factor: f64, part: u32, parts: u32) -> u64 {
        match self {
            Table::LineItem => Table::Orders.part_rows(scale_factor, part, parts),
            _ => self.part_rows(scale_factor, part, parts),
        }
    }
}
