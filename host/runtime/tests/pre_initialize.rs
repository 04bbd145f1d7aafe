//! Pre-initialisation failures: a component whose `pre-initialize` traps or runs past the call
//! deadline is refused with the call's error, and leaves no compiled code behind. (Success is
//! `tpch::comments_drawn_from_the_pre_initialised_text_pool_are_dbgens`.)

use std::time::{Duration, Instant};

use quarry_runtime::{Error, Runtime, RuntimeConfig, SandboxLimits};

/// A component that passes the contract check (it exports `quarry:connector/source@0.1.0`,
/// empty) and exports `pre-initialize` running `body`.
fn component(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"
        (component
            (core module $m
                (memory (export "memory") 1)
                (func (export "init") {body}))
            (core instance $i (instantiate $m))
            (func (export "pre-initialize") (canon lift (core func $i "init")))
            (instance (export "quarry:connector/source@0.1.0")))
        "#
    ))
    .unwrap()
}

fn runtime(cache: &std::path::Path, deadline: Duration) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.to_owned()),
        default_limits: SandboxLimits {
            call_deadline: deadline,
            ..SandboxLimits::default()
        },
        ..RuntimeConfig::default()
    })
    .unwrap()
}

/// The names of the `.cwasm` artifacts in a cache directory.
fn artifacts(cache: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(cache)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".cwasm"))
        .collect()
}

#[tokio::test]
async fn a_trap_in_pre_initialize_refuses_the_load_and_names_the_call() {
    let cache = tempfile::tempdir().unwrap();
    let rt = runtime(cache.path(), Duration::from_secs(5));
    let err = rt.load_plugin(component("unreachable")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Trap {
                call: "pre-initialize",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("trapped in `pre-initialize`"),
        "{err}"
    );
    assert_eq!(artifacts(cache.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_pre_initialize_past_the_call_deadline_is_stopped_there() {
    let cache = tempfile::tempdir().unwrap();
    let deadline = Duration::from_secs(1);
    let rt = runtime(cache.path(), deadline);
    let started = Instant::now();
    let err = rt
        .load_plugin(component("(loop (br 0))"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::DeadlineExceeded { call: "pre-initialize", limit, .. } if limit == deadline),
        "{err:?}"
    );
    // The deadline plus compiling two small components, with room for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(artifacts(cache.path()), Vec::<String>::new());
}

#[tokio::test]
async fn with_pre_initialisation_off_the_export_is_not_run() {
    let cache = tempfile::tempdir().unwrap();
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.path().to_owned()),
        pre_initialize: false,
        ..RuntimeConfig::default()
    })
    .unwrap();
    // The trap would refuse the load if it ran; instead the load fails later, at linking,
    // because this component is not a whole connector.
    let err = rt.load_plugin(component("unreachable")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err:?}");
    assert!(err.to_string().contains("connector world"), "{err}");
}
