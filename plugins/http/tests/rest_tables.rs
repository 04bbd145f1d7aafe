//! The http connector natively, through the SDK traits, against scripted APIs: each test scripts
//! the answers of a REST API on a `ScriptedTransport` and reads tables through it — every kind
//! of pagination, inferred and declared columns, filters sent as parameters and placeholders,
//! limits, max_pages, bad rows, refusals, and credentials kept out of errors and other origins.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::rc::Rc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use http::{HttpCatalog, HttpConnector};
use quarry_sdk::http::{RawResponse, ScriptedTransport, TransportError};
use quarry_sdk::predicate::Expr;
use quarry_sdk::{
    Catalog, CompareOp, Connector, DataType, ErrorKind, Predicate, Properties, Pushdown, Scalar,
    ScanRequest, SplitReader,
};
use serde_json::{Value, json};

const TOKEN: &str = "tok-5ecret";

fn json_answer(body: Value) -> RawResponse {
    RawResponse::new(200, body.to_string()).with_header("Content-Type", "application/json")
}

fn open(tables: Value, props: &[(&str, &str)]) -> (HttpCatalog, Rc<ScriptedTransport>) {
    let transport = Rc::new(ScriptedTransport::new());
    let mut p = Properties::new()
        .with("tables", &tables.to_string())
        .with("schema", "rest")
        .with("auth_header", &format!("Bearer {TOKEN}"));
    for (k, v) in props {
        p = p.with(k, v);
    }
    let catalog = HttpCatalog::open_with(&p, transport.clone()).unwrap();
    (catalog, transport)
}

fn request(table: &str) -> ScanRequest {
    ScanRequest::table("rest", table)
}

/// Every batch of every split, read `max_rows` rows at a time.
fn scan_by(
    catalog: &HttpCatalog,
    request: &ScanRequest,
    max_rows: usize,
) -> quarry_sdk::Result<Vec<RecordBatch>> {
    let plan = catalog.plan_scan(request)?;
    let mut out = Vec::new();
    for split in &plan.splits {
        let mut reader = catalog.open_split(request, split)?;
        while let Some(batch) = reader.next_batch(max_rows)? {
            assert!(batch.num_rows() <= max_rows);
            out.push(batch);
        }
    }
    Ok(out)
}

fn scan(catalog: &HttpCatalog, request: &ScanRequest) -> quarry_sdk::Result<Vec<RecordBatch>> {
    scan_by(catalog, request, 1000)
}

fn ints(batches: &[RecordBatch], column: usize) -> Vec<Option<i64>> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(column)
                .as_primitive::<Int64Type>()
                .iter()
                .collect::<Vec<_>>()
        })
        .collect()
}

fn texts(batches: &[RecordBatch], column: usize) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(column)
                .as_string::<i32>()
                .iter()
                .map(|s| s.map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn eq(column: u32, value: Scalar) -> Predicate {
    Expr::compare(column, CompareOp::Eq, value).into()
}

/// `/items?page=N&per_page=10`: items 1..=25 under `data`.
fn script_items(transport: &ScriptedTransport) {
    for page in 1..=3i64 {
        let first = (page - 1) * 10 + 1;
        let items: Vec<Value> = (first..first + 10)
            .filter(|id| *id <= 25)
            .map(|id| json!({"id": id, "name": format!("item-{id}"), "price": id as f64 * 1.5}))
            .collect();
        transport.on(
            &format!("http://127.0.0.1:8080/items?page={page}&per_page=10"),
            json_answer(json!({ "data": items })),
        );
    }
}

fn items_table() -> Value {
    json!({"items": {
        "url": "http://127.0.0.1:8080/items",
        "rows": "/data",
        "columns": {"id": "int64 not null", "name": "utf8", "price": "decimal(10,2)"},
        "pagination": {"page_param": "page", "first_page": 1, "size_param": "per_page", "page_size": 10}
    }})
}

#[test]
fn numbered_pages_are_read_lazily_in_batches_of_at_most_max_rows() {
    let (catalog, transport) = open(items_table(), &[]);
    script_items(&transport);
    assert_eq!(catalog.list_schemas().unwrap(), vec!["rest"]);
    assert_eq!(catalog.list_tables("rest").unwrap(), vec!["items"]);
    let schema = catalog.describe_table("rest", "items").unwrap();
    assert_eq!(schema.row_count, None);
    assert_eq!(
        schema.columns[2].data_type,
        DataType::Decimal128 {
            precision: 10,
            scale: 2
        }
    );
    assert!(
        transport.requests().is_empty(),
        "declared columns need no request"
    );

    let plan = catalog.plan_scan(&request("items")).unwrap();
    assert_eq!(plan.splits.len(), 1);
    let mut reader = catalog
        .open_split(&request("items"), &plan.splits[0])
        .unwrap();
    assert!(transport.requests().is_empty(), "pages are fetched lazily");
    let first = reader.next_batch(4).unwrap().unwrap();
    assert_eq!(first.num_rows(), 4);
    assert_eq!(transport.requests().len(), 1);
    let mut sizes = vec![first.num_rows()];
    while let Some(batch) = reader.next_batch(4).unwrap() {
        sizes.push(batch.num_rows());
    }
    // A batch never spans two pages: 10 = 4 + 4 + 2, and 5 on the last page.
    assert_eq!(sizes, vec![4, 4, 2, 4, 4, 2, 4, 1]);
    assert_eq!(
        transport.urls(),
        vec![
            "http://127.0.0.1:8080/items?page=1&per_page=10",
            "http://127.0.0.1:8080/items?page=2&per_page=10",
            "http://127.0.0.1:8080/items?page=3&per_page=10",
        ]
    );

    let batches = scan(&catalog, &request("items")).unwrap();
    assert_eq!(ints(&batches, 0), (1..=25).map(Some).collect::<Vec<_>>());
    let prices = batches[2].column(2).as_primitive::<Decimal128Type>();
    assert_eq!(prices.value(4), 3750); // item 25: 37.50
    for sent in transport.requests() {
        assert_eq!(
            sent.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(sent.header("accept"), Some("application/json"));
    }
}

fn orders_table() -> Value {
    json!({"orders": {
        "url": "http://127.0.0.1:8080/orders",
        "rows": "/orders",
        "pagination": {"next_link": "/next"},
        "filters": {"status": "status"}
    }})
}

/// Orders 1..=12, five per page, odd ones open; relative next links.
fn script_orders(transport: &ScriptedTransport, status: Option<&str>) {
    let all: Vec<Value> = (1..=12)
        .map(|id| {
            let s = if id % 2 == 1 { "open" } else { "closed" };
            json!({"order_id": id, "status": s, "customer": {"id": id * 10}})
        })
        .filter(|o| status.is_none_or(|s| o["status"] == s))
        .collect();
    let filter = status.map(|s| format!("status={s}")).unwrap_or_default();
    for cursor in (0..all.len()).step_by(5) {
        let page: Vec<Value> = all.iter().skip(cursor).take(5).cloned().collect();
        let next = (cursor + 5 < all.len()).then(|| {
            let mut link = format!("/orders?cursor={}", cursor + 5);
            if !filter.is_empty() {
                link.push('&');
                link.push_str(&filter);
            }
            link
        });
        let url = match (cursor, filter.is_empty()) {
            (0, true) => "http://127.0.0.1:8080/orders".to_owned(),
            (0, false) => format!("http://127.0.0.1:8080/orders?{filter}"),
            (c, true) => format!("http://127.0.0.1:8080/orders?cursor={c}"),
            (c, false) => format!("http://127.0.0.1:8080/orders?cursor={c}&{filter}"),
        };
        transport.on(&url, json_answer(json!({"orders": page, "next": next})));
    }
}

#[test]
fn inferred_columns_next_links_and_a_filter_sent_as_a_parameter() {
    let (catalog, transport) = open(orders_table(), &[]);
    script_orders(&transport, None);
    script_orders(&transport, Some("open"));

    let schema = catalog.describe_table("rest", "orders").unwrap();
    let columns: Vec<(&str, &DataType)> = schema
        .columns
        .iter()
        .map(|c| (c.name.as_str(), &c.data_type))
        .collect();
    assert_eq!(
        columns,
        vec![
            ("order_id", &DataType::Int64),
            ("status", &DataType::Utf8),
            ("customer", &DataType::Utf8),
        ]
    );
    catalog.describe_table("rest", "orders").unwrap();
    assert_eq!(transport.requests().len(), 1, "inferred columns are kept");

    let all = scan(&catalog, &request("orders")).unwrap();
    assert_eq!(rows(&all), 12);
    assert_eq!(texts(&all, 2)[0].as_deref(), Some("{\"id\":10}"));

    let before = transport.requests().len();
    let mut open_orders = request("orders");
    open_orders.filters = vec![eq(1, Scalar::Utf8("open".into()))];
    open_orders.projection = Some(vec![0]);
    let plan = catalog.plan_scan(&open_orders).unwrap();
    assert_eq!(plan.filters, vec![Pushdown::Exact]);
    let batches = scan(&catalog, &open_orders).unwrap();
    assert_eq!(batches[0].num_columns(), 1);
    assert_eq!(
        ints(&batches, 0),
        [1, 3, 5, 7, 9, 11]
            .into_iter()
            .map(Some)
            .collect::<Vec<_>>()
    );
    let sent = transport.urls()[before..].to_vec();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|u| u.contains("status=open")), "{sent:?}");

    // Other predicates are left to the engine.
    let mut other = request("orders");
    other.filters = vec![Expr::compare(0, CompareOp::Gt, Scalar::Int64(3)).into()];
    assert_eq!(
        catalog.plan_scan(&other).unwrap().filters,
        vec![Pushdown::Unsupported]
    );
}

#[test]
fn link_headers_and_offsets_page_too_and_a_limit_stops_paging() {
    let tables = json!({
        "linked": {"url": "http://api.test/things", "pagination": {"link_header": true},
                   "columns": {"n": "int64"}},
        "offsets": {"url": "http://api.test/rows", "rows": "/rows",
                    "pagination": {"offset_param": "offset", "size_param": "limit", "page_size": 2},
                    "columns": {"n": "int64"}}
    });
    let (catalog, transport) = open(tables, &[]);
    transport.on(
        "http://api.test/things",
        json_answer(json!([{"n": 1}, {"n": 2}]))
            .with_header("Link", "<http://api.test/things?after=2>; rel=\"next\""),
    );
    transport.on(
        "http://api.test/things?after=2",
        json_answer(json!([{"n": 3}])).with_header("Link", "</things>; rel=\"first\""),
    );
    let batches = scan(&catalog, &request("linked")).unwrap();
    assert_eq!(ints(&batches, 0), vec![Some(1), Some(2), Some(3)]);

    for offset in [0, 2, 4] {
        let rows: Vec<Value> = (offset..(offset + 2).min(5))
            .map(|n| json!({"n": n}))
            .collect();
        transport.on(
            &format!("http://api.test/rows?offset={offset}&limit=2"),
            json_answer(json!({ "rows": rows })),
        );
    }
    let before = transport.requests().len();
    let batches = scan(&catalog, &request("offsets")).unwrap();
    assert_eq!(ints(&batches, 0), (0..5).map(Some).collect::<Vec<_>>());
    assert_eq!(transport.requests().len() - before, 3);

    let before = transport.requests().len();
    let mut limited = request("offsets");
    limited.limit = Some(3);
    let batches = scan(&catalog, &limited).unwrap();
    assert_eq!(rows(&batches), 3);
    assert_eq!(
        transport.urls()[before..].to_vec(),
        vec![
            "http://api.test/rows?offset=0&limit=2",
            "http://api.test/rows?offset=2&limit=2",
        ],
        "the limit stops paging"
    );
}

#[test]
fn more_pages_than_max_pages_fail_the_scan() {
    let (catalog, transport) = open(items_table(), &[("max_pages", "2")]);
    script_items(&transport);
    let err = scan(&catalog, &request("items")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Io);
    assert!(
        err.message
            .starts_with("table \"items\": more than 2 pages (the max_pages property)"),
        "{err}"
    );
    assert_eq!(transport.requests().len(), 2);
}

#[test]
fn a_bad_row_names_the_table_page_row_and_column() {
    let first_page = "http://127.0.0.1:8080/items?page=1&per_page=10";
    let fail_with = |answer: RawResponse| {
        let (catalog, transport) = open(items_table(), &[]);
        transport.on(first_page, answer);
        let err = scan(&catalog, &request("items")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Io);
        err.message
    };
    let place = format!("table \"items\": page 1 (GET {first_page})");

    let err = fail_with(json_answer(json!({"data": [
        {"id": 1, "name": "a", "price": 1},
        {"id": 2, "name": "b", "price": "lots"}
    ]})));
    assert!(
        err.starts_with(&format!(
            "{place}: row 2: column \"price\": cannot read \"lots\" as decimal(10,2)"
        )),
        "{err}"
    );
    let err = fail_with(json_answer(json!({"data": [{"name": "no id"}]})));
    assert_eq!(
        err,
        format!("{place}: row 1: column \"id\" is declared not null but the value is missing")
    );
    let err = fail_with(json_answer(json!({"data": [7]})));
    assert_eq!(err, format!("{place}: row 1: is a number, not an object"));
    let err = fail_with(json_answer(json!({"items": []})));
    assert_eq!(
        err,
        format!("{place}: rows pointer \"/data\" finds nothing in the response")
    );
    let err = fail_with(RawResponse::new(200, "<html>secret page</html>"));
    assert!(
        err.starts_with(&format!(
            "table \"items\": GET {first_page}: the response is not json ("
        )),
        "{err}"
    );
    assert!(!err.contains("secret page"), "{err}");
}

#[test]
fn placeholders_need_an_equality_and_in_lists_make_one_split_per_value() {
    let tables = json!({"stock": {
        "url": "http://api.test/shops/{shop}/stock?region={region}",
        "columns": {"shop": "int64 not null", "region": "utf8", "sku": "utf8", "qty": "int64"}
    }});
    let (catalog, transport) = open(tables, &[]);
    let mut req = request("stock");
    req.filters = vec![eq(1, Scalar::Utf8("eu west".into()))];
    let err = catalog.plan_scan(&req).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unsupported);
    assert_eq!(
        err.message,
        "table \"stock\": its url needs a value for column \"shop\": add `WHERE shop = value` \
         (or `shop IN (…)`) to the query"
    );

    req.filters.push(
        Expr::InList {
            column: 0,
            values: vec![Scalar::Int64(1), Scalar::Int64(2)],
            negated: false,
        }
        .into(),
    );
    let plan = catalog.plan_scan(&req).unwrap();
    assert_eq!(plan.filters, vec![Pushdown::Exact, Pushdown::Exact]);
    assert_eq!(plan.splits.len(), 2);
    // Shop 1 repeats the requested values; shop 2 leaves them out (they are filled in) and
    // answers one row from another region, which the exact filter must drop.
    transport.on(
        "http://api.test/shops/1/stock?region=eu%20west",
        json_answer(json!([{"shop": 1, "region": "eu west", "sku": "a", "qty": 3}])),
    );
    transport.on(
        "http://api.test/shops/2/stock?region=eu%20west",
        json_answer(json!([{"sku": "b", "qty": 4}, {"region": "us", "sku": "c", "qty": 5}])),
    );
    let batches = scan(&catalog, &req).unwrap();
    assert_eq!(ints(&batches, 0), vec![Some(1), Some(2)]);
    assert_eq!(
        texts(&batches, 1),
        vec![Some("eu west".to_owned()), Some("eu west".to_owned())]
    );
    assert_eq!(
        texts(&batches, 2),
        vec![Some("a".to_owned()), Some("b".to_owned())]
    );

    // Columns of a table with placeholders cannot be inferred, so they must be declared.
    let transport = Rc::new(ScriptedTransport::new());
    let bad = Properties::new().with(
        "tables",
        &json!({"t": {"url": "http://api.test/{x}"}}).to_string(),
    );
    let err = HttpCatalog::open_with(&bad, transport).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidConfig);
    assert!(err.message.contains("declare \"columns\""), "{err}");
}

#[test]
fn validate_fetches_first_pages_and_reports_a_missing_grant() {
    // Natively the system transport has no network: validate reports that, per table, without
    // fetching tables whose url needs a filter value.
    let props = Properties::new()
        .with(
            "tables",
            &json!({
                "a": {"url": "http://127.0.0.1:9/a?api_key=k3y"},
                "b": {"url": "http://127.0.0.1:9/b/{id}", "columns": {"id": "int64"}}
            })
            .to_string(),
        )
        .with("auth_header", TOKEN);
    let issues = HttpConnector::validate(&props);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].field.as_deref(), Some("tables"));
    assert!(
        issues[0]
            .message
            .starts_with("table \"a\": GET http://127.0.0.1:9/a?api_key=***: "),
        "{issues:?}"
    );
    assert!(!issues[0].message.contains("k3y") && !issues[0].message.contains(TOKEN));

    let issues = HttpConnector::validate(&Properties::new().with("tables", "[]"));
    assert_eq!(issues[0].field.as_deref(), Some("tables"));
    assert!(
        issues[0].message.contains("must be a json object"),
        "{issues:?}"
    );

    // Through a transport where the host refuses the origin.
    let (catalog, transport) = open(items_table(), &[]);
    transport.fail(
        "http://127.0.0.1:8080/items?page=1&per_page=10",
        TransportError::Denied,
    );
    let issues = catalog.check_reachable();
    assert_eq!(
        issues[0].message,
        "table \"items\": GET http://127.0.0.1:8080/items?page=1&per_page=10: the host denied \
         the request: origin http://127.0.0.1:8080 is not in this catalog's allowed_hosts"
    );
    let err = scan(&catalog, &request("items")).unwrap_err();
    assert_eq!(err.message, issues[0].message);
}

#[test]
fn credentials_go_only_to_the_tables_origin_and_never_into_errors() {
    let tables = json!({"feed": {
        "url": "http://api.test/feed", "rows": "/rows", "pagination": {"next_link": "/next"}
    }});
    let (catalog, transport) = open(tables, &[("auth_header_name", "X-Api-Key")]);
    transport.on(
        "http://api.test/feed",
        json_answer(json!({"rows": [{"n": 1}], "next": "http://cdn.test/feed?page=2"})),
    );
    transport.on(
        "http://cdn.test/feed?page=2",
        json_answer(json!({"rows": [{"n": 2}], "next": "/jump"})),
    );
    transport.on(
        "http://cdn.test/jump",
        RawResponse::new(307, "").with_header("Location", "http://elsewhere.test:8081/x"),
    );
    transport.fail("http://elsewhere.test:8081/x", TransportError::Denied);
    let err = scan(&catalog, &request("feed")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Io);
    assert!(
        err.message
            .contains("origin http://elsewhere.test:8081 is not in this catalog's allowed_hosts"),
        "{err}"
    );
    assert!(!err.message.contains(TOKEN));
    // The first page twice: once to infer the columns, once read by the split.
    let sent = transport.requests();
    assert_eq!(sent.len(), 5, "{:?}", transport.urls());
    for own in &sent[..2] {
        assert_eq!(
            own.header("x-api-key"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    assert!(
        sent[2..].iter().all(|s| s.header("x-api-key").is_none()),
        "{sent:?}"
    );
}

#[test]
fn server_errors_are_retried_up_to_max_retries() {
    let (catalog, transport) = open(items_table(), &[("max_retries", "1")]);
    let url = "http://127.0.0.1:8080/items?page=1&per_page=10";
    transport.on(url, RawResponse::new(503, "down"));
    let err = scan(&catalog, &request("items")).unwrap_err();
    assert_eq!(
        err.message,
        format!("table \"items\": GET {url}: status 503: service unavailable (after 1 retry)")
    );
    assert_eq!(transport.requests().len(), 2);

    let (catalog, transport) = open(items_table(), &[]);
    transport.on(
        url,
        RawResponse::new(429, "").with_header("Retry-After", "1"),
    );
    transport.on(url, json_answer(json!({"data": [{"id": 1, "price": 2.5}]})));
    let batches = scan(&catalog, &request("items")).unwrap();
    assert_eq!(rows(&batches), 1);
    assert_eq!(transport.sleeps(), vec![std::time::Duration::from_secs(1)]);
    assert!(
        batches[0].column(1).is_null(0),
        "a missing key reads as null"
    );
}

#[test]
fn unknown_schemas_and_tables_are_not_found() {
    let (catalog, _) = open(items_table(), &[]);
    let err = catalog.list_tables("default").unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let err = catalog.describe_table("rest", "nope").unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(err.message.contains("\"items\""), "{err}");
    let spec = HttpConnector::spec();
    assert_eq!(spec.name, "http");
    let secret: Vec<&str> = spec
        .config
        .iter()
        .filter(|f| f.secret)
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(secret, vec!["auth_header"]);
}
