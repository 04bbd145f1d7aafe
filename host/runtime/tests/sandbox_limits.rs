//! Every way a plugin can run away ends in its own clear error within the catalog's deadline,
//! fails only its own call, and leaves the runtime serving everyone else.

use crate::common;

use futures::TryStreamExt;
use quarry_runtime::{Connector, Error, ScanRequest};

fn numbers() -> ScanRequest {
    ScanRequest::table("main", "numbers")
}

/// Reads the first split of main.numbers and returns the first error.
async fn first_scan_error(connector: &Connector) -> Error {
    let plan = connector.plan_scan(&numbers()).await.expect("plan");
    let split = plan.splits.into_iter().next().expect("a split");
    let stream = connector.scan(numbers(), split).await.expect("open split");
    stream
        .try_collect::<Vec<_>>()
        .await
        .expect_err("the scan must fail")
}

#[tokio::test]
async fn each_misbehaviour_gets_its_own_error_and_the_runtime_carries_on() {
    common::init_tracing();
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let plugin = testkit.info().id();
    assert_eq!(plugin, "testkit@0.1.0");

    // An infinite loop in a metadata call.
    let c = common::testkit(&rt, &testkit, "loop-in-metadata");
    let err = c.list_schemas().await.unwrap_err();
    assert!(matches!(err, Error::DeadlineExceeded { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "catalog \"loop-in-metadata\": plugin \"testkit@0.1.0\": deadline of 2s exceeded in \
         `catalog.list-schemas`"
    );
    assert_eq!(
        c.warm_instances(),
        0,
        "a timed-out instance is never reused"
    );

    // An infinite loop while reading.
    let c = common::testkit(&rt, &testkit, "loop-in-next");
    let err = first_scan_error(&c).await;
    assert!(
        matches!(
            err,
            Error::DeadlineExceeded {
                call: "split-reader.next",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(c.warm_instances(), 0);

    // A memory bomb.
    let c = common::testkit(&rt, &testkit, "memory-bomb");
    let err = first_scan_error(&c).await;
    assert!(matches!(err, Error::MemoryLimit { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "catalog \"memory-bomb\": plugin \"testkit@0.1.0\": memory limit 512 MiB exceeded in \
         `split-reader.next`"
    );
    assert_eq!(c.warm_instances(), 0);

    // Runaway recursion.
    let c = common::testkit(&rt, &testkit, "deep-recursion");
    let err = first_scan_error(&c).await;
    assert!(matches!(err, Error::StackOverflow { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("wasm stack limit 512 KiB exceeded"),
        "{err}"
    );

    // A panic: a trap, reported with the panic message the guest printed.
    let c = common::testkit(&rt, &testkit, "panic");
    let err = first_scan_error(&c).await;
    assert!(matches!(err, Error::Trap { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("trapped in `split-reader.next` (a bug in the plugin)"),
        "{msg}"
    );
    assert!(msg.contains("testkit: deliberate panic in next"), "{msg}");

    // `unreachable`.
    let c = common::testkit(&rt, &testkit, "unreachable");
    let err = first_scan_error(&c).await;
    assert!(matches!(err, Error::Trap { .. }), "{err:?}");
    assert!(err.to_string().contains("unreachable"), "{err}");
    assert_eq!(c.warm_instances(), 0);

    // The same runtime still serves a well-behaved catalog of the same plugin...
    let c = common::testkit(&rt, &testkit, "normal");
    let batches = common::scan_all(&c, &numbers()).await.unwrap();
    assert_eq!(common::rows(&batches), 10_000);

    // ...and a tpch scan.
    let tpch_plugin = common::load(&rt, "tpch").await;
    let tpch = rt
        .open_catalog(quarry_runtime::CatalogConfig::new("tpch", &tpch_plugin))
        .unwrap();
    let batches = common::scan_all(&tpch, &ScanRequest::table("tiny", "nation"))
        .await
        .unwrap();
    assert_eq!(common::rows(&batches), 25);
}

#[tokio::test]
async fn a_plugin_stuck_in_a_loop_does_not_stall_other_scans() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;

    // Start a scan that will spin until its deadline...
    let stuck = common::testkit(&rt, &testkit, "loop-in-next");
    let stuck_scan = tokio::spawn(async move { first_scan_error(&stuck).await });

    // ...and, meanwhile, complete whole scans on other catalogs, on the same runtime.
    let normal = common::testkit(&rt, &testkit, "normal");
    for _ in 0..3 {
        let batches = common::scan_all(&normal, &numbers()).await.unwrap();
        assert_eq!(common::rows(&batches), 10_000);
    }
    // The stuck scan still ends, in its own error.
    let err = stuck_scan.await.unwrap();
    assert!(matches!(err, Error::DeadlineExceeded { .. }), "{err:?}");
}

#[tokio::test]
async fn a_connector_error_keeps_the_instance() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let c = common::testkit(&rt, &testkit, "normal");
    let err = c.describe_table("main", "nope").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connector {
                kind: quarry_runtime::ConnectorErrorKind::NotFound,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "catalog \"normal\": plugin \"testkit@0.1.0\": not found: table \"nope\" not found in \
         schema \"main\""
    );
    assert_eq!(
        c.warm_instances(),
        1,
        "an error value is not a reason to drop the instance"
    );

    // The connector's own check...
    let issues = c
        .validate(vec![("behaviour".into(), "dance".into())])
        .await
        .unwrap();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].field.as_deref(), Some("behaviour"));
    assert_eq!(issues[0].message, "unknown behaviour \"dance\"");
    // ...and the host's, against the spec, before the connector is asked.
    let issues = c
        .validate(vec![("colour".into(), "red".into())])
        .await
        .unwrap();
    let messages: Vec<&str> = issues.iter().map(|i| i.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0], "property \"behaviour\" is required");
    assert!(
        messages[1].starts_with("unknown property \"colour\" (known: behaviour, rows"),
        "{messages:?}"
    );
}

#[tokio::test]
async fn a_catalog_cannot_ask_for_more_than_the_operator_allows() {
    let rt = common::runtime();
    let testkit = common::load(&rt, "testkit").await;
    let mut config = quarry_runtime::CatalogConfig::new("greedy", &testkit);
    config.limits = Some(quarry_runtime::SandboxLimits {
        memory_bytes: 64 << 30,
        ..quarry_runtime::SandboxLimits::default()
    });
    let err = rt.open_catalog(config).unwrap_err();
    assert_eq!(
        err.to_string(),
        "catalog \"greedy\": memory limit 64 GiB exceeds the operator maximum 4 GiB"
    );
}

/// A component holding several core modules, each with its own linear memory, is held to one
/// memory budget for the whole instance: two 4 MiB memories fit in 10 MiB, not in 6 MiB.
#[test]
fn one_memory_budget_covers_every_memory_of_a_component() {
    use quarry_runtime::engine::{Allocation, EngineSettings, build_engine};
    use quarry_runtime::sandbox::Limiter;

    const MIB: u64 = 1 << 20;
    let built = build_engine(&EngineSettings {
        allocation: Allocation::Auto,
        max_wasm_stack: 512 << 10,
        max_memory_bytes: 64 * MIB,
        max_live_instances: 4,
    })
    .unwrap();
    // 64 pages of 64 KiB: 4 MiB each.
    let component = wat::parse_str(
        r#"
        (component
            (core module $first (memory 64))
            (core module $second (memory 64))
            (core instance (instantiate $first))
            (core instance (instantiate $second))
        )
        "#,
    )
    .unwrap();
    let component = wasmtime::component::Component::new(&built.engine, component).unwrap();
    let linker = wasmtime::component::Linker::<Limiter>::new(&built.engine);

    let mut roomy = wasmtime::Store::new(&built.engine, Limiter::new(10 * MIB));
    roomy.limiter(|l| l);
    linker.instantiate(&mut roomy, &component).unwrap();
    assert_eq!(roomy.data().used_bytes(), 8 * MIB);
    assert!(!roomy.data().memory_refused);

    let mut tight = wasmtime::Store::new(&built.engine, Limiter::new(6 * MIB));
    tight.limiter(|l| l);
    let err = linker.instantiate(&mut tight, &component).unwrap_err();
    assert!(tight.data().memory_refused, "{err:#}");
    assert_eq!(tight.data().used_bytes(), 4 * MIB, "the first memory only");
}
