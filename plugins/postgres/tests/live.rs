//! The postgres connector natively against the real PostgreSQL on 127.0.0.1:5432 (user
//! postgres, trust, database `test`): each test creates its own database, reads it through the
//! connector's traits and drops it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postgres::connection::Connection;
use postgres::split::SplitPayload;
use postgres::{PostgresCatalog, PostgresConnector};
use quarry_sdk::arrow_array::cast::AsArray;
use quarry_sdk::arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType,
};
use quarry_sdk::arrow_array::{Array, RecordBatch};
use quarry_sdk::predicate::Expr;
use quarry_sdk::{
    Catalog, CompareOp, Connector, DataType, ErrorKind, Predicate, Properties, Pushdown, Scalar,
    ScanRequest, SplitReader, split_json,
};

/// A database of its own for one test, dropped at the end.
struct TempDb {
    name: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn admin_props(database: &str) -> Properties {
    Properties::new()
        .with("host", "127.0.0.1")
        .with("port", "5432")
        .with("database", database)
        .with("user", "postgres")
}

fn connect(database: &str) -> Connection {
    let catalog = PostgresConnector::open(admin_props(database)).unwrap();
    catalog.connect().unwrap_or_else(|err| {
        panic!("PostgreSQL must run on 127.0.0.1:5432 with user postgres (trust): {err}")
    })
}

impl TempDb {
    fn create(setup: &str) -> TempDb {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "quarry_pg_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        connect("test")
            .execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let db = TempDb { name };
        db.conn().execute(setup).unwrap();
        db
    }

    fn conn(&self) -> Connection {
        connect(&self.name)
    }

    fn props(&self) -> Properties {
        admin_props(&self.name)
    }

    fn catalog(&self) -> PostgresCatalog {
        PostgresConnector::open(self.props()).unwrap()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = connect("test").execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// Plans `request` and reads every split, `batch_rows` rows per batch.
fn scan(catalog: &PostgresCatalog, request: &ScanRequest, batch_rows: usize) -> Vec<RecordBatch> {
    let plan = catalog.plan_scan(request).unwrap();
    let mut batches = Vec::new();
    for split in &plan.splits {
        let mut reader = catalog.open_split(request, split).unwrap();
        while let Some(batch) = reader.next_batch(batch_rows).unwrap() {
            assert!(batch.num_rows() <= batch_rows);
            batches.push(batch);
        }
    }
    batches
}

fn payload(split: &quarry_sdk::Split) -> SplitPayload {
    split_json::decode("postgres", &split.payload).unwrap()
}

fn int64s(batches: &[RecordBatch], column: usize) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(column)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

const ALL_TYPES: &str = "
    CREATE TYPE mood AS ENUM ('sad', 'happy');
    CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
    CREATE TABLE public.all_types (
        id int8 NOT NULL, i2 int2, i4 int4, f4 float4, f8 float8, n numeric(12, 2),
        nu numeric, t text, v varchar(10), c char(3), nm name, b bool, d date, ts timestamp,
        tz timestamptz, by bytea, u uuid, j json, jb jsonb, e mood, dom posint,
        tv tsvector, arr int4[]
    );
    INSERT INTO public.all_types VALUES
      (1, -32768, 2147483647, 1.5, -2.25e300, -1234567890.12, 3.14159265358979323846264338327950288419716939937510,
       'it''s ☃', 'varchar', 'ab', 'a_name', true, DATE '2024-02-29',
       TIMESTAMP '1999-12-31 23:59:59.123456', TIMESTAMPTZ '2000-01-01 01:00:00+01',
       '\\xdead00'::bytea, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}',
       '{\"b\": null}', 'happy', 7, 'fat cat', '{1,2}'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
";

#[test]
fn every_mapped_type_reads_back_and_nulls_stay_null() {
    let db = TempDb::create(ALL_TYPES);
    let catalog = db.catalog();
    let table = catalog.describe_table("public", "all_types").unwrap();
    let names: Vec<_> = table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "id", "i2", "i4", "f4", "f8", "n", "nu", "t", "v", "c", "nm", "b", "d", "ts", "tz",
            "by", "u", "j", "jb", "e", "dom"
        ],
        "tsvector and int4[] are left out"
    );
    assert!(!table.columns[0].nullable && table.columns[1].nullable);
    assert_eq!(
        table.columns[5].data_type,
        DataType::Decimal128 {
            precision: 12,
            scale: 2
        }
    );
    assert_eq!(table.columns[6].data_type, DataType::Utf8);
    assert_eq!(table.columns[20].data_type, DataType::Int32);

    let request = ScanRequest::table("public", "all_types");
    let batches = scan(&catalog, &request, 10);
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.num_rows(), 2);
    assert_eq!(int64s(&batches, 0), [1, 2]);
    assert_eq!(b.column(1).as_primitive::<Int16Type>().value(0), -32768);
    assert_eq!(b.column(2).as_primitive::<Int32Type>().value(0), i32::MAX);
    assert_eq!(b.column(3).as_primitive::<Float32Type>().value(0), 1.5);
    assert_eq!(
        b.column(4).as_primitive::<Float64Type>().value(0),
        -2.25e300
    );
    assert_eq!(
        b.column(5).as_primitive::<Decimal128Type>().value(0),
        -123_456_789_012
    );
    let text = |i: usize| b.column(i).as_string::<i32>().value(0).to_owned();
    assert_eq!(
        text(6),
        "3.14159265358979323846264338327950288419716939937510"
    );
    assert_eq!(text(7), "it's ☃");
    assert_eq!(text(8), "varchar");
    assert_eq!(text(9), "ab ", "char(3) keeps its padding");
    assert_eq!(text(10), "a_name");
    assert!(b.column(11).as_boolean().value(0));
    // 2024-02-29 is day 19782 since 1970-01-01.
    assert_eq!(b.column(12).as_primitive::<Date32Type>().value(0), 19_782);
    assert_eq!(
        b.column(13)
            .as_primitive::<TimestampMicrosecondType>()
            .value(0),
        946_684_799_123_456
    );
    assert_eq!(
        b.column(14)
            .as_primitive::<TimestampMicrosecondType>()
            .value(0),
        946_684_800_000_000,
        "timestamptz is UTC"
    );
    assert_eq!(b.column(15).as_binary::<i32>().value(0), [0xde, 0xad, 0x00]);
    assert_eq!(text(16), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_eq!(text(17), "{\"a\": [1, 2]}");
    assert_eq!(text(18), "{\"b\": null}");
    assert_eq!(text(19), "happy");
    assert_eq!(b.column(20).as_primitive::<Int32Type>().value(0), 7);
    for column in 1..b.num_columns() {
        assert!(b.column(column).is_null(1), "column {column} of row 2");
    }
}

#[test]
fn schemas_tables_views_and_row_estimates_come_from_the_server() {
    let db = TempDb::create(
        "CREATE SCHEMA \"Odd Schema\";
         CREATE TABLE \"Odd Schema\".\"My \"\"Table\"\"\" (x int4);
         CREATE TABLE public.big AS SELECT g AS id FROM generate_series(1, 5000) g;
         ANALYZE public.big;
         CREATE VIEW public.v AS SELECT id * 2 AS twice FROM public.big;
         CREATE MATERIALIZED VIEW public.mv AS SELECT id FROM public.big WHERE id <= 10;",
    );
    let catalog = db.catalog();
    let schemas = catalog.list_schemas().unwrap();
    assert!(schemas.contains(&"public".to_owned()), "{schemas:?}");
    assert!(schemas.contains(&"Odd Schema".to_owned()), "{schemas:?}");
    assert!(!schemas.iter().any(|s| s.starts_with("pg_")), "{schemas:?}");
    assert!(!schemas.contains(&"information_schema".to_owned()));
    assert_eq!(
        catalog.list_tables("public").unwrap(),
        ["big", "mv", "v"],
        "tables, views and materialized views"
    );
    assert_eq!(catalog.list_tables("Odd Schema").unwrap(), ["My \"Table\""]);
    // Quoted names reach the server intact.
    let request = ScanRequest::table("Odd Schema", "My \"Table\"");
    assert!(scan(&catalog, &request, 10).is_empty());

    assert_eq!(
        catalog.describe_table("public", "big").unwrap().row_count,
        Some(5000)
    );
    let view = catalog.describe_table("public", "v").unwrap();
    assert_eq!(view.row_count, None);
    assert_eq!(view.columns[0].name, "twice");
    let twice = scan(&catalog, &ScanRequest::table("public", "v"), 1000);
    assert_eq!(twice.iter().map(RecordBatch::num_rows).sum::<usize>(), 5000);
    let mv = scan(&catalog, &ScanRequest::table("public", "mv"), 100);
    assert_eq!(mv.iter().map(RecordBatch::num_rows).sum::<usize>(), 10);

    let err = catalog.describe_table("public", "nope").unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(err.message.contains("\"public\".\"nope\""), "{err}");
    let err = catalog.list_tables("pg_catalog").unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);

    // `schemas` limits what is shown; validate names a schema the server does not have.
    let only = PostgresConnector::open(db.props().with("schemas", "Odd Schema")).unwrap();
    assert_eq!(only.list_schemas().unwrap(), ["Odd Schema"]);
    assert_eq!(
        only.list_tables("public").unwrap_err().kind,
        ErrorKind::NotFound
    );
    let issues = PostgresConnector::validate(&db.props().with("schemas", "public, ghost"));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].field.as_deref(), Some("schemas"));
    assert!(issues[0].message.contains("\"ghost\""), "{issues:?}");
    assert!(PostgresConnector::validate(&db.props()).is_empty());
}

fn filter(expr: Expr) -> Predicate {
    Predicate::from(expr)
}

#[test]
fn filters_and_limits_reach_postgres_as_sql() {
    let db = TempDb::create(
        "CREATE TABLE public.people (id int8 NOT NULL, name text, code char(2), day date);
         INSERT INTO public.people
           SELECT g, CASE WHEN g = 7 THEN 'o''neil\\x' ELSE 'p' || g END, 'c',
                  DATE '2024-01-01' + g FROM generate_series(1, 1000) g;",
    );
    let catalog = db.catalog();
    // Exact filters: the limit goes too.
    let request = ScanRequest {
        projection: Some(vec![0, 1]),
        filters: vec![
            filter(Expr::compare(0, CompareOp::Ge, Scalar::Int64(990))),
            filter(Expr::compare(
                3,
                CompareOp::Gt,
                Scalar::Date32(19_723 + 991),
            )),
        ],
        limit: Some(3),
        ..ScanRequest::table("public", "people")
    };
    let plan = catalog.plan_scan(&request).unwrap();
    assert_eq!(plan.filters, [Pushdown::Exact, Pushdown::Exact]);
    assert_eq!(plan.splits.len(), 1);
    let sql = payload(&plan.splits[0]).sql;
    assert_eq!(
        sql,
        "SELECT \"id\", \"name\" FROM \"public\".\"people\" WHERE (\"id\" >= 990) AND \
         (\"day\" > DATE '2026-09-18') LIMIT 3"
    );
    assert_eq!(
        postgres::scan_log_line(&payload(&plan.splits[0])),
        format!("postgres: scan public.people: {sql}")
    );
    let rows = int64s(&scan(&catalog, &request, 100), 0);
    assert_eq!(rows, [992, 993, 994]);

    // A string with a quote and a backslash matches itself: quoting is right.
    let request = ScanRequest {
        filters: vec![filter(Expr::compare(
            1,
            CompareOp::Eq,
            Scalar::Utf8("o'neil\\x".to_owned()),
        ))],
        ..ScanRequest::table("public", "people")
    };
    assert_eq!(int64s(&scan(&catalog, &request, 100), 0), [7]);

    // An inexact filter (a text range) keeps the limit with the engine.
    let request = ScanRequest {
        filters: vec![filter(Expr::compare(
            1,
            CompareOp::Lt,
            Scalar::Utf8("p2".to_owned()),
        ))],
        limit: Some(5),
        ..ScanRequest::table("public", "people")
    };
    let plan = catalog.plan_scan(&request).unwrap();
    assert_eq!(plan.filters, [Pushdown::Inexact]);
    let sql = payload(&plan.splits[0]).sql;
    assert!(
        sql.ends_with("WHERE (\"name\" COLLATE \"C\" < 'p2')"),
        "{sql}"
    );
    let ids = int64s(&scan(&catalog, &request, 1000), 0);
    // p1, p10..p19, p100..p199, p1000, and o'neil: every name below 'p2' in byte order.
    assert_eq!(ids.len(), 1 + 10 + 100 + 1 + 1, "{ids:?}");

    // char(n) equality is inexact (blank-padded comparison); count(*) has no columns.
    let request = ScanRequest {
        projection: Some(vec![]),
        filters: vec![filter(Expr::compare(
            2,
            CompareOp::Eq,
            Scalar::Utf8("c ".to_owned()),
        ))],
        ..ScanRequest::table("public", "people")
    };
    let plan = catalog.plan_scan(&request).unwrap();
    assert_eq!(plan.filters, [Pushdown::Inexact]);
    let batches = scan(&catalog, &request, 400);
    assert_eq!(
        batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
        1000
    );
    assert_eq!(batches[0].num_columns(), 0);
}

#[test]
fn large_tables_are_read_in_ctid_splits_that_add_up() {
    let db = TempDb::create(
        "CREATE TABLE public.wide AS
           SELECT g::int8 AS id, repeat('x', 500) AS pad FROM generate_series(1, 3000) g;
         ANALYZE public.wide;",
    );
    let catalog =
        PostgresConnector::open(db.props().with("split_pages", "20").with("max_splits", "6"))
            .unwrap();
    let request = ScanRequest {
        projection: Some(vec![0]),
        ..ScanRequest::table("public", "wide")
    };
    let plan = catalog.plan_scan(&request).unwrap();
    // 3000 rows of ~530 bytes are ~200 pages: ceil(200 / 20) = 10 splits, capped at 6.
    assert_eq!(plan.splits.len(), 6);
    let first = payload(&plan.splits[0]).sql;
    assert!(first.contains("WHERE ctid < '("), "{first}");
    let last = payload(&plan.splits[5]).sql;
    assert!(
        last.contains("WHERE ctid >= '(") && !last.contains("ctid <"),
        "{last}"
    );
    let mut ids = Vec::new();
    for split in &plan.splits {
        let mut reader = catalog.open_split(&request, split).unwrap();
        let mut rows = 0;
        while let Some(batch) = reader.next_batch(256).unwrap() {
            rows += batch.num_rows();
            ids.extend(int64s(&[batch], 0));
        }
        assert!(rows > 0, "every range holds rows");
    }
    ids.sort_unstable();
    assert_eq!(ids, (1..=3000).collect::<Vec<_>>());
    // A view has no pages: one split.
    let one = PostgresConnector::open(db.props().with("split_pages", "1")).unwrap();
    db.conn()
        .execute("CREATE VIEW public.wv AS SELECT id FROM public.wide")
        .unwrap();
    let plan = one.plan_scan(&ScanRequest::table("public", "wv")).unwrap();
    assert_eq!(plan.splits.len(), 1);
}

/// Waits (up to a second) until the database has `n` connector sessions besides the one
/// asking, and returns how many it has.
fn wait_for_sessions(db: &TempDb, n: usize) -> usize {
    let mut count = connector_sessions(db);
    for _ in 0..50 {
        if count == n {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        count = connector_sessions(db);
    }
    count
}

/// How many connector sessions the database has besides the one asking.
fn connector_sessions(db: &TempDb) -> usize {
    let rows = db
        .conn()
        .query(
            "SELECT count(*)::text FROM pg_stat_activity WHERE datname = $1::text \
             AND application_name = 'quarry' AND pid <> pg_backend_pid()",
            &[&db.name],
        )
        .unwrap();
    rows[0][0].as_deref().unwrap().parse().unwrap()
}

#[test]
fn errors_name_the_reason_and_a_reader_dropped_early_closes_its_connection() {
    let db = TempDb::create(
        "CREATE TABLE public.t AS SELECT g AS x FROM generate_series(1, 2000) g;
         CREATE VIEW public.fails AS SELECT 1 / (x - 1500) AS y FROM public.t;",
    );
    let catalog = db.catalog();

    // A server error halfway through the stream.
    let request = ScanRequest::table("public", "fails");
    let plan = catalog.plan_scan(&request).unwrap();
    let mut reader = catalog.open_split(&request, &plan.splits[0]).unwrap();
    assert_eq!(reader.next_batch(100).unwrap().unwrap().num_rows(), 100);
    let err = loop {
        match reader.next_batch(100) {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the scan ended without its error"),
            Err(err) => break err,
        }
    };
    assert!(
        err.message.contains("scan of public.fails")
            && err.message.contains("division by zero")
            && err.message.contains("22012"),
        "{err}"
    );

    // A table dropped between planning and reading.
    let request = ScanRequest::table("public", "t");
    let plan = catalog.plan_scan(&request).unwrap();
    let mut reader = catalog.open_split(&request, &plan.splits[0]).unwrap();
    assert_eq!(reader.next_batch(10).unwrap().unwrap().num_rows(), 10);
    assert_eq!(
        wait_for_sessions(&db, 1),
        1,
        "the reader's connection is open"
    );
    drop(reader);
    // The dropped reader said goodbye: its backend goes away.
    assert_eq!(
        wait_for_sessions(&db, 0),
        0,
        "the reader's connection is closed"
    );
    db.conn().execute("DROP TABLE public.t CASCADE").unwrap();
    let err = catalog.open_split(&request, &plan.splits[0]).err().unwrap();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(
        err.message.contains("\"public.t\" does not exist") && err.message.contains("42P01"),
        "{err}"
    );

    // A backend terminated mid-stream.
    db.conn()
        .execute("CREATE TABLE public.u AS SELECT g AS x FROM generate_series(1, 1000) g")
        .unwrap();
    let request = ScanRequest::table("public", "u");
    let plan = catalog.plan_scan(&request).unwrap();
    let mut reader = catalog.open_split(&request, &plan.splits[0]).unwrap();
    reader.next_batch(10).unwrap().unwrap();
    db.conn()
        .execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' \
             AND application_name = 'quarry' AND pid <> pg_backend_pid()",
            db.name
        ))
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let err = reader.next_batch(10).unwrap_err();
    assert!(err.message.contains("scan of public.u"), "{err}");
    assert!(
        err.message.contains("terminating connection") || err.message.contains("closed"),
        "{err}"
    );
}

#[test]
fn validate_connects_and_says_why_it_cannot() {
    let db = TempDb::create("SELECT 1");
    assert!(PostgresConnector::validate(&db.props()).is_empty());

    let issues = PostgresConnector::validate(&db.props().with("database", "no_such_db_here"));
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0]
            .message
            .contains("database \"no_such_db_here\" does not exist"),
        "{issues:?}"
    );

    let issues = PostgresConnector::validate(
        &db.props()
            .with("port", "1")
            .with("password", "s3cret-value"),
    );
    assert_eq!(issues.len(), 1);
    let message = &issues[0].message;
    assert!(
        message.starts_with("cannot connect to postgres at 127.0.0.1:1: "),
        "{message}"
    );
    assert!(!message.contains("s3cret-value"), "{message}");

    let issues = PostgresConnector::validate(&db.props().with("user", "no_such_role"));
    assert!(
        issues[0]
            .message
            .contains("role \"no_such_role\" does not exist"),
        "{issues:?}"
    );
}

#[test]
fn a_query_cancelled_halfway_fails_the_scan_with_the_reason() {
    let db = TempDb::create(
        "CREATE TABLE public.t AS SELECT g AS x FROM generate_series(1, 1000) g;
         CREATE VIEW public.slow AS
           SELECT x FROM public.t WHERE pg_sleep(CASE WHEN x > 20 THEN 0.01 ELSE 0 END) IS NOT NULL;",
    );
    let catalog = db.catalog();
    let request = ScanRequest::table("public", "slow");
    let plan = catalog.plan_scan(&request).unwrap();
    let mut reader = catalog.open_split(&request, &plan.splits[0]).unwrap();
    assert_eq!(reader.next_batch(20).unwrap().unwrap().num_rows(), 20);
    // While the next Execute runs (about 10 s of sleeps), another session cancels it.
    let name = db.name.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        connect(&name)
            .execute(&format!(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' \
                 AND application_name = 'quarry' AND pid <> pg_backend_pid() \
                 AND state = 'active'"
            ))
            .unwrap();
    });
    let started = std::time::Instant::now();
    let err = reader.next_batch(1000).unwrap_err();
    canceller.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cancelled, not finished"
    );
    assert_eq!(err.kind, ErrorKind::Io);
    assert!(
        err.message.contains("scan of public.slow")
            && err
                .message
                .contains("canceling statement due to user request")
            && err.message.contains("57014"),
        "{err}"
    );
    // The reader is finished: it does not hang or return rows after its error.
    assert_eq!(reader.next_batch(10).unwrap(), None);
}
