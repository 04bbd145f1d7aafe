//! End to end: the clients people already use, against a real coordinator's PostgreSQL port.
//! Python's SQLAlchemy (psycopg 3) and pandas connect to database `quarry`, read a TPC-H query
//! into a frame and list a schema's tables through `pg_catalog`
//! (`tests/python/sqlalchemy_pandas.py`); psycopg's `copy()` reads `COPY … TO STDOUT` in text,
//! CSV and binary (`tests/python/psycopg_copy.py`); psql's `\dt` and `\dn` read the same
//! catalog.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use quarry_testing::TestDb;
use serde_json::{Value, json};

use crate::common::cluster::{ADMIN_TOKEN, Cluster};
use crate::common::psql::psql;

/// Runs `tests/python/<script>` with `args`; its JSON output. Fails, saying how to install
/// them, when the Python packages are missing.
fn python(script: &str, args: &[&str]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let output = Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
        .expect("python3 must be installed for the client tests");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "the client tests need Python packages: python3 -m pip install -r \
         tests/python/requirements.txt\n{stderr}"
    );
    assert!(output.status.success(), "{script} failed:\n{stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlalchemy_pandas_psycopg_copy_and_psql_through_the_postgres_port() {
    let db = TestDb::sqlite();
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
    let port = cluster.pg_port().unwrap().to_string();

    let got = python("sqlalchemy_pandas.py", &[&port, "admin", ADMIN_TOKEN]);

    // pandas.read_sql over an SQLAlchemy engine: the query's frame, typed.
    assert_eq!(got["columns"], json!(["region", "nations"]), "{got}");
    assert_eq!(
        got["rows"],
        json!([
            ["AFRICA", 5],
            ["AMERICA", 5],
            ["ASIA", 5],
            ["EUROPE", 5],
            ["MIDDLE EAST", 5]
        ]),
        "{got}"
    );
    assert_eq!(got["dtypes"], json!(["object", "int64"]), "{got}");
    // SQLAlchemy's inspector, through pg_catalog: the schema's tables.
    let tables: Vec<&str> = got["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for table in [
        "customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier",
    ] {
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
