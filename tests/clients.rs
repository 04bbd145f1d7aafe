//! End to end: the clients people already use, against a real coordinator's PostgreSQL port.
//! Python's SQLAlchemy (psycopg 3) and pandas connect to database `quarry`, read a TPC-H query
//! into a frame and list a schema's tables through `pg_catalog`
//! (`tests/python/sqlalchemy_pandas.py`); psycopg's `copy()` reads `COPY … TO STDOUT` in text,
//! CSV and binary (`tests/python/psycopg_copy.py`); psql's `\dt` and `\dn` read the same
//! catalog. Java's PostgreSQL JDBC driver browses it through `DatabaseMetaData` and runs a
//! prepared TPC-H query (`tests/java/JdbcMetadata.java`). A psycopg named cursor pages through
//! lineitem (`tests/python/psycopg_named_cursor.py`), and ADBC's Flight SQL driver reads Arrow
//! tables and the catalog from the Flight SQL endpoint (`tests/python/adbc_flight_sql.py`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use quarry_testing::TestDb;
use serde_json::{Value, json};

use crate::common::cluster::{ADMIN_TOKEN, Cluster};
use crate::common::psql::psql;
use crate::common::python::python;

/// Where Debian's `libpostgresql-jdbc-java` puts PostgreSQL's JDBC driver.
const JDBC_JAR: &str = "/usr/share/java/postgresql.jar";

/// Runs `tests/java/<program>` in Java's source-file mode with the JDBC driver on the class path;
/// its JSON output. Fails, saying how to install them, when Java or the driver is missing.
fn java(program: &str, args: &[&str]) -> Value {
    const INSTALL: &str = "the JDBC client test needs a Java 17+ JDK and PostgreSQL's JDBC \
                           driver: apt-get install default-jdk-headless libpostgresql-jdbc-java";
    assert!(
        Path::new(JDBC_JAR).is_file(),
        "{JDBC_JAR} is missing; {INSTALL}"
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/java")
        .join(program);
    let output = Command::new("java")
        .args(["-cp", JDBC_JAR])
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run java ({e}); {INSTALL}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{program} failed:\n{stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{program} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A coordinator with the PostgreSQL port and a worker, once `tpch` answers queries.
async fn cluster_with_tpch(db: &TestDb) -> Cluster {
    let mut cluster = Cluster::start_with_pg(db.url());
    cluster.with_ready_tpch_on("w1").await;
    cluster
        .wait_for("tpch queryable", Duration::from_secs(30), || async {
            match cluster
                .statement("SELECT count(*) FROM tpch.tiny.region")
                .await
            {
                (200, body) if body["rows"] == json!([[5]]) => Ok(()),
                (status, body) => Err(format!("{status} {body}")),
            }
        })
        .await;
    cluster
}

/// The strings of a JSON array.
fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// The rows of the scripts' region query: each region and its count of nations.
fn region_nations() -> Value {
    json!([
        ["AFRICA", 5],
        ["AMERICA", 5],
        ["ASIA", 5],
        ["EUROPE", 5],
        ["MIDDLE EAST", 5]
    ])
}

const TPCH_TABLES: [&str; 8] = [
    "customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlalchemy_pandas_psycopg_copy_and_psql_through_the_postgres_port() {
    let db = TestDb::sqlite();
    let cluster = cluster_with_tpch(&db).await;
    let port = cluster.pg_port().unwrap().to_string();

    let got = python("sqlalchemy_pandas.py", &[&port, "admin", ADMIN_TOKEN]);

    // pandas.read_sql over an SQLAlchemy engine: the query's frame, typed.
    assert_eq!(got["columns"], json!(["region", "nations"]), "{got}");
    assert_eq!(got["rows"], region_nations(), "{got}");
    assert_eq!(got["dtypes"], json!(["object", "int64"]), "{got}");
    // SQLAlchemy's inspector, through pg_catalog: the schema's tables.
    let tables = strings(&got["tables"]);
    for table in TPCH_TABLES {
        assert!(tables.contains(&table), "{table} not listed: {got}");
    }
    assert_eq!(got["database"], "quarry", "{got}");
    assert_eq!(got["schema"], "public", "{got}");

    // COPY … TO STDOUT through psycopg's copy(), in all three formats, row for row the same.
    let copied = python("psycopg_copy.py", &[&port, "admin", ADMIN_TOKEN]);
    let text = copied["text"].as_array().unwrap();
    let binary = copied["binary"].as_array().unwrap();
    assert_eq!(text.len(), 25, "{copied}");
    assert_eq!(binary.len(), 25, "{copied}");
    assert_eq!(copied["csv_rows"], 25, "{copied}");
    assert_eq!(
        copied["csv_header"], "n_nationkey,n_name,n_comment",
        "{copied}"
    );
    assert!(
        copied["csv_first"]
            .as_str()
            .unwrap()
            .starts_with("0,ALGERIA, haggle."),
        "{copied}"
    );
    for (key, (t, b)) in text.iter().zip(binary).enumerate() {
        // Text COPY gives strings; binary gives the int8 key as a number.
        assert_eq!(t[0], json!(key.to_string()), "{t}");
        assert_eq!(b[0], json!(key), "{b}");
        assert_eq!((&t[1], &t[2]), (&b[1], &b[2]), "row {key}");
    }
    assert_eq!(binary[24][1], "UNITED STATES");
    assert_eq!(copied["binary_empty"], json!([]), "{copied}");

    // psql's own catalog commands read the same pg_catalog.
    let port: u16 = port.parse().unwrap();
    let listed = psql(port, "\\dt tiny.*").unwrap();
    assert!(
        listed.lines().any(|l| l == "tiny|lineitem|table|postgres"),
        "{listed}"
    );
    let schemas = psql(port, "\\dn").unwrap();
    assert!(schemas.lines().any(|l| l.starts_with("tiny|")), "{schemas}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jdbc_database_metadata_and_prepared_query_through_the_postgres_port() {
    let db = TestDb::sqlite();
    let cluster = cluster_with_tpch(&db).await;
    let port = cluster.pg_port().unwrap().to_string();

    let got = java("JdbcMetadata.java", &[&port, "admin", ADMIN_TOKEN]);

    assert_eq!(got["product"], "PostgreSQL", "{got}");
    // getSchemas: every catalog's schemas, with pg_catalog and the session's public.
    let schemas = strings(&got["schemas"]);
    for schema in ["tiny", "public", "pg_catalog"] {
        assert!(schemas.contains(&schema), "{schema} not listed: {got}");
    }
    // getTables of schema tiny: the TPC-H tables, as tables.
    let tables = strings(&got["tables"]);
    for table in TPCH_TABLES {
        assert!(tables.contains(&table), "{table} not listed: {got}");
    }
    assert!(
        strings(&got["table_types"]).iter().all(|t| *t == "TABLE"),
        "{got}"
    );
    // getColumns of tiny.region: names, PostgreSQL type names, java.sql.Types, positions.
    assert_eq!(
        got["region_columns"],
        json!([
            ["r_regionkey", "int8", -5, 1],
            ["r_name", "text", 12, 2],
            ["r_comment", "text", 12, 3]
        ]),
        "{got}"
    );
    // The prepared query, with a text and a bigint parameter, typed, and the same on every run
    // (the later runs on a named server-side statement).
    assert_eq!(got["rows"], json!([["AFRICA", 5], ["AMERICA", 5]]), "{got}");
    assert_eq!(got["column_types"], json!(["text", "int8"]), "{got}");
    assert_eq!(got["runs_agree"], true, "{got}");
    // getVersionColumns looks up the type `tid` in pg_type (a `'…'::regproc` comparison).
    assert_eq!(
        got["region_version_columns"],
        json!([["ctid", "tid", 1111]]),
        "{got}"
    );
    // setDate sends `1995-01-01 +00`: the same count as a date literal.
    let (status, body) = cluster
        .statement("SELECT count(*) FROM tpch.tiny.orders WHERE o_orderdate < DATE '1995-01-01'")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json!([[got["orders_before_1995"]]]), body["rows"], "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg_named_cursor_pages_and_adbc_reads_arrow_through_flight_sql() {
    let db = TestDb::sqlite();
    let cluster = cluster_with_tpch(&db).await;
    let port = cluster.pg_port().unwrap().to_string();

    // A psycopg named cursor: DECLARE, FETCH FORWARD 10000 until empty, CLOSE; text and binary.
    let paged = python("psycopg_named_cursor.py", &[&port, "admin", ADMIN_TOKEN]);
    assert_eq!(paged["expected_rows"], 60_175, "{paged}");
    for format in ["text", "binary"] {
        let got = &paged[format];
        assert_eq!(got["rows"], 60_175, "{format}: {paged}");
        assert_eq!(
            got["pages"],
            json!([10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 175]),
            "{format}: {paged}"
        );
        assert_eq!(got["checksum"], paged["expected_checksum"], "{format}");
        assert_eq!(got["ordered"], true, "{format}: {paged}");
    }

    // ADBC's Flight SQL driver: Arrow results, a bound parameter, the catalog, a bad password.
    let flight_port = cluster.flight_sql_port().unwrap().to_string();
    let got = python("adbc_flight_sql.py", &[&flight_port, "admin", ADMIN_TOKEN]);
    assert_eq!(
        got["schema"],
        json!(["region:string", "nations:int64"]),
        "{got}"
    );
    assert_eq!(got["rows"], region_nations(), "{got}");
    assert_eq!(got["parameter_rows"], json!([["GERMANY"]]), "{got}");
    assert_eq!(got["lineitem_rows"], 60_175, "{got}");
    assert_eq!(got["lineitem_columns"], 16, "{got}");
    let objects = got["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1, "{got}");
    assert_eq!(objects[0]["catalog"], "tpch", "{got}");
    let tiny = &objects[0]["schemas"][0];
    assert_eq!(tiny["schema"], "tiny", "{got}");
    assert_eq!(tiny["tables"], json!(TPCH_TABLES), "{got}");
    assert_eq!(
        got["region_schema"],
        json!(["r_regionkey:int64", "r_name:string", "r_comment:string"]),
        "{got}"
    );
    assert_eq!(got["bearer_rows"], json!([[5]]), "{got}");
    let refused = got["wrong_password"].as_str().unwrap();
    assert!(
        refused.contains("wrong user name or password"),
        "a wrong password must be refused by name: {got}"
    );
}
