//! The 22 TPC-H queries on `tpch.tiny` through the tpch component give the same answers as
//! DataFusion over the same data generated natively by `tpchgen-arrow`.

use crate::common;

use quarry_testing::tpch_reference::{
    TPCH_QUERIES, assert_same_answer, native_answer, native_tpch_context, tpch_query,
};

/// `tiny` is scale factor 0.01.
const SCALE: f64 = 0.01;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpch_queries_match_datafusion_over_native_tpchgen() {
    let (engine, _rt, _plugin) = common::engine_with_tpch().await;
    let native = native_tpch_context(SCALE, "tiny");
    for name in TPCH_QUERIES {
        let sql = tpch_query(name);
        let (schema, batches) = engine
            .sql(&sql)
            .await
            .unwrap_or_else(|e| panic!("{name} through quarry: {e}"));
        let (want_schema, want) = native_answer(&native, &sql).await;
        assert_same_answer(name, (&schema, &batches), (&want_schema, &want));
        eprintln!("{name}: answers agree");
    }
}
