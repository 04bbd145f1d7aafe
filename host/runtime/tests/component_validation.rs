//! Loading refuses what is not a connector component, before compiling it, and says why.
//! Small host-only cases as inline WAT.

use crate::common;

use quarry_runtime::Error;

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("valid wat")
}

#[tokio::test]
async fn a_core_module_is_rejected() {
    let rt = common::runtime();
    let err = rt.load_plugin(wat("(module)")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("core WebAssembly module, not a component"),
        "{err}"
    );
    assert_eq!(rt.cache_stats().compiles, 0);
}

#[tokio::test]
async fn garbage_is_rejected() {
    let rt = common::runtime();
    let err = rt
        .load_plugin(b"PK\x03\x04 not wasm".to_vec())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a WebAssembly binary"),
        "{err}"
    );

    // The right header, then nonsense.
    let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
    bytes.extend_from_slice(&[0xff; 64]);
    let err = rt.load_plugin(bytes).await.unwrap_err();
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err:?}");
    assert!(err.to_string().contains("malformed component"), "{err}");
    assert_eq!(rt.cache_stats().compiles, 0);
}

#[tokio::test]
async fn a_component_exporting_another_contract_version_is_rejected() {
    let rt = common::runtime();
    let bytes = wat(r#"
        (component
            (instance $source)
            (export "quarry:connector/source@9.0.0" (instance $source))
        )
    "#);
    let err = rt.load_plugin(bytes).await.unwrap_err();
    assert!(matches!(err, Error::UnsupportedContract { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "unsupported contract version: the component exports \
         quarry:connector/source@9.0.0; this host accepts quarry:connector/source@0.1.0"
    );
    assert_eq!(rt.cache_stats().compiles, 0);
}

#[tokio::test]
async fn a_component_without_the_source_export_is_rejected() {
    let rt = common::runtime();
    let bytes = wat(r#"
        (component
            (instance $other)
            (export "example:other/thing@1.0.0" (instance $other))
        )
    "#);
    let err = rt.load_plugin(bytes).await.unwrap_err();
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("does not export quarry:connector/source"),
        "{msg}"
    );
    assert!(msg.contains("example:other/thing@1.0.0"), "{msg}");
    assert!(
        msg.contains("accepts quarry:connector/source@0.1.0"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_component_with_the_right_name_but_the_wrong_shape_is_rejected() {
    let rt = common::runtime();
    let bytes = wat(r#"
        (component
            (instance $source)
            (export "quarry:connector/source@0.1.0" (instance $source))
        )
    "#);
    let err = rt.load_plugin(bytes).await.unwrap_err();
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("does not match the connector world"),
        "{err}"
    );
}

#[tokio::test]
async fn a_component_with_a_shared_memory_is_rejected() {
    // Wasmtime is built without the threads proposal (ADR 0014): shared memory would let a guest
    // escape the memory accounting of one store.
    let rt = common::runtime();
    let bytes = wat(r#"
        (component
            (core module $threads (memory 1 1 shared))
            (core instance (instantiate $threads))
            (instance $source)
            (export "quarry:connector/source@0.1.0" (instance $source))
        )
    "#);
    let err = rt.load_plugin(bytes).await.unwrap_err();
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err:?}");
    assert!(err.to_string().contains("shared"), "{err}");
    assert_eq!(rt.cache_stats().compiles, 0);
}

/// A component refused after it compiled (it does not fit the connector world) leaves no
/// compiled artifact on disk, and loading it again is refused again.
#[tokio::test]
async fn a_component_refused_after_compiling_leaves_no_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let rt = quarry_runtime::Runtime::new(quarry_runtime::RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..quarry_runtime::RuntimeConfig::default()
    })
    .unwrap();
    let bytes = wat(r#"
        (component
            (instance $source)
            (export "quarry:connector/source@0.1.0" (instance $source))
        )
    "#);
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let err = rt.load_plugin(bytes.clone()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err:?}");
    assert_eq!(
        rt.cache_stats().compiles,
        1,
        "it compiled before it was refused"
    );
    let artifact = rt.artifact_path(&sha256).unwrap();
    assert!(!artifact.exists(), "{} was left behind", artifact.display());
    assert!(rt.load_plugin(bytes).await.is_err());
}

/// A load that takes longer than the compile timeout is refused at the timeout; the compile,
/// which cannot be stopped, keeps its turn until it ends, and leaves neither compiled code in
/// memory nor an artifact on disk.
#[tokio::test]
async fn a_compile_past_its_timeout_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = quarry_runtime::Runtime::new(quarry_runtime::RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        compile_timeout: std::time::Duration::from_millis(1),
        ..quarry_runtime::RuntimeConfig::default()
    })
    .unwrap();
    let bytes = common::plugin_bytes("testkit");
    let err = rt.load_plugin(bytes).await.unwrap_err();
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid component: compiling took longer than the compile timeout of 1ms; refused"
    );
    let started = std::time::Instant::now();
    while rt.loads_running() > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the abandoned compile never ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        rt.cache_stats().compiles,
        1,
        "it did compile, in the background"
    );
    let artifacts: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert!(artifacts.is_empty(), "{artifacts:?}");
}
