//! `to_regtype(text)`: a type name's oid from `pg_catalog.pg_type`, or NULL when there is no
//! such type, as in PostgreSQL. psycopg asks it on connect (`TypeInfo.fetch`, for `hstore`
//! under SQLAlchemy), and `datafusion-pg-catalog` does not provide it.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow_array::{Array, ArrayRef, Int32Array, StringArray};
use arrow_schema::DataType;
use datafusion::common::cast::as_string_array;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion_pg_catalog::pg_catalog::PgCatalogStaticTables;

/// The function, over the type names and oids of `pg_type`.
pub(crate) fn to_regtype_udf() -> ScalarUDF {
    let function = |args: &[ColumnarValue]| {
        let oids = type_oids()?;
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let names = as_string_array(&arrays[0])?;
        let found: Int32Array = names
            .iter()
            .map(|name| name.and_then(|n| oids.get(&normalise(n)).copied()))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(found) as ArrayRef))
    };
    create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(function),
    )
}

/// `typname` → `oid` of `pg_type`, the same for every engine: read from the library's static
/// tables on the first call, not when an engine starts.
fn type_oids() -> Result<&'static HashMap<String, i32>> {
    static OIDS: OnceLock<HashMap<String, i32>> = OnceLock::new();
    if let Some(oids) = OIDS.get() {
        return Ok(oids);
    }
    let oids = read_type_oids(&PgCatalogStaticTables::try_new()?)?;
    Ok(OIDS.get_or_init(|| oids))
}

/// `typname` → `oid` of every row of `pg_type`.
fn read_type_oids(tables: &PgCatalogStaticTables) -> Result<HashMap<String, i32>> {
    let mut oids = HashMap::new();
    for batch in tables.pg_type.data() {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| DataFusionError::Internal(format!("pg_type has no column {name}")))
        };
        let names = column("typname")?;
        let names = names
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| DataFusionError::Internal("pg_type.typname is not utf8".into()))?;
        let ids = datafusion::arrow::compute::cast(column("oid")?, &DataType::Int32)?;
        let ids = ids
            .as_any()
            .downcast_ref::<Int32Array>()
            .ok_or_else(|| DataFusionError::Internal("pg_type.oid is not an integer".into()))?;
        for row in 0..batch.num_rows() {
            if names.is_valid(row) && ids.is_valid(row) {
                oids.insert(names.value(row).to_owned(), ids.value(row));
            }
        }
    }
    Ok(oids)
}

/// `pg_catalog.int4`, `INT4`, `"int4"` → `int4`.
fn normalise(name: &str) -> String {
    let name = name.trim().trim_matches('"');
    let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
    name.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_have_their_oid_and_others_none() {
        let oids = type_oids().unwrap();
        assert_eq!(oids.get("int4"), Some(&23));
        assert_eq!(oids.get("text"), Some(&25));
        assert_eq!(oids.get(&normalise("pg_catalog.INT4")), Some(&23));
        assert_eq!(oids.get("hstore"), None);
    }
}
