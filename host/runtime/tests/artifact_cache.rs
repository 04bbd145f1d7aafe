//! Compiled code is cached: a second load compiles nothing (in memory, and from disk in a new
//! runtime), and a corrupted or foreign artifact on disk is detected and recompiled. Asserted
//! through the cache's counters, never through timing.

use crate::common;

use quarry_runtime::{CacheStats, Runtime, RuntimeConfig};

fn runtime_with_cache(dir: &std::path::Path, trusted: Vec<[u8; 32]>) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.to_path_buf()),
        trusted_artifact_keys: trusted,
        ..RuntimeConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn a_second_load_does_not_compile() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = common::plugin_bytes("testkit");

    let rt = runtime_with_cache(dir.path(), Vec::new());
    let first = rt.load_plugin(bytes.clone()).await.unwrap();
    assert_eq!(
        rt.cache_stats(),
        CacheStats {
            compiles: 1,
            disk_writes: 1,
            ..CacheStats::default()
        }
    );
    let artifact = rt.artifact_path(&first.info().sha256).unwrap();
    assert!(artifact.exists(), "{} was not written", artifact.display());

    // Same runtime: answered from memory.
    let again = rt.load_plugin(bytes.clone()).await.unwrap();
    assert_eq!(again.info(), first.info());
    assert_eq!(rt.cache_stats().compiles, 1);
    assert_eq!(rt.cache_stats().memory_hits, 1);

    // A new runtime (a restarted worker): answered from disk.
    let rt2 = runtime_with_cache(dir.path(), Vec::new());
    let loaded = rt2.load_plugin(bytes.clone()).await.unwrap();
    assert_eq!(loaded.info(), first.info());
    assert_eq!(
        rt2.cache_stats(),
        CacheStats {
            disk_hits: 1,
            ..CacheStats::default()
        }
    );

    // And the deserialized code runs.
    let c = common::testkit(&rt2, &loaded, "normal");
    assert_eq!(c.list_schemas().await.unwrap(), ["main", "escape"]);
}

#[tokio::test]
async fn a_corrupted_artifact_is_detected_and_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = common::plugin_bytes("testkit");
    let rt = runtime_with_cache(dir.path(), Vec::new());
    let plugin = rt.load_plugin(bytes.clone()).await.unwrap();
    let artifact = rt.artifact_path(&plugin.info().sha256).unwrap();

    // Flip one byte in the middle of the machine code.
    let mut file = std::fs::read(&artifact).unwrap();
    let middle = file.len() / 2;
    file[middle] ^= 0x5a;
    std::fs::write(&artifact, &file).unwrap();

    let rt2 = runtime_with_cache(dir.path(), Vec::new());
    let reloaded = rt2.load_plugin(bytes.clone()).await.unwrap();
    assert_eq!(reloaded.info(), plugin.info());
    let stats = rt2.cache_stats();
    assert_eq!(
        (stats.disk_rejects, stats.compiles, stats.disk_hits),
        (1, 1, 0),
        "{stats:?}"
    );
    assert_eq!(stats.disk_writes, 1, "the artifact is rewritten");

    // Truncated to half: rejected too, and rewritten again.
    let file = std::fs::read(&artifact).unwrap();
    std::fs::write(&artifact, &file[..file.len() / 2]).unwrap();
    let rt3 = runtime_with_cache(dir.path(), Vec::new());
    rt3.load_plugin(bytes.clone()).await.unwrap();
    assert_eq!(rt3.cache_stats().disk_rejects, 1);

    // The rewritten artifact is good again.
    let rt4 = runtime_with_cache(dir.path(), Vec::new());
    rt4.load_plugin(bytes).await.unwrap();
    assert_eq!(
        rt4.cache_stats(),
        CacheStats {
            disk_hits: 1,
            ..CacheStats::default()
        }
    );
}

#[tokio::test]
async fn an_artifact_signed_with_another_key_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = common::plugin_bytes("testkit");
    let rt = runtime_with_cache(dir.path(), Vec::new());
    rt.load_plugin(bytes.clone()).await.unwrap();
    drop(rt);

    // The host's key changes (another host's cache directory copied over this one's).
    std::fs::write(dir.path().join("artifact.key"), [8u8; 32]).unwrap();
    let rt2 = runtime_with_cache(dir.path(), Vec::new());
    rt2.load_plugin(bytes).await.unwrap();
    let stats = rt2.cache_stats();
    assert_eq!(
        (stats.disk_rejects, stats.compiles, stats.disk_hits),
        (1, 1, 0),
        "{stats:?}"
    );
}

/// A worker installs the compiled code its coordinator signed, and nothing signed by anyone
/// else: another worker, which shares the cluster secret but not the coordinator's key,
/// cannot mint machine code for it.
#[tokio::test]
async fn a_worker_installs_the_artifact_its_coordinator_compiled() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let bytes = common::plugin_bytes("testkit");
    let coordinator = runtime_with_cache(dirs[0].path(), Vec::new());
    let plugin = coordinator.load_plugin(bytes.clone()).await.unwrap();
    let sha = plugin.info().sha256.clone();
    let signed = coordinator.signed_artifact(&sha).unwrap();

    // A host that does not trust the coordinator's key refuses it.
    let stranger = runtime_with_cache(dirs[1].path(), Vec::new());
    assert!(stranger.install_signed_artifact(&sha, &signed).is_err());

    // Another worker compiles the same component and signs a bundle with its own key.
    let peer = runtime_with_cache(dirs[2].path(), vec![coordinator.artifact_public_key()]);
    peer.load_plugin(bytes.clone()).await.unwrap();
    let minted = peer.signed_artifact(&sha).unwrap();

    let worker = runtime_with_cache(dirs[3].path(), Vec::new());
    worker.trust_artifact_key(coordinator.artifact_public_key());
    let refused = worker.install_signed_artifact(&sha, &minted).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("not signed by a key this host trusts"),
        "{refused}"
    );
    // A bundle changed in transit is refused too.
    let mut tampered = signed.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(worker.install_signed_artifact(&sha, &tampered).is_err());
    // The coordinator's own bundle for another component's hash is refused.
    assert!(
        worker
            .install_signed_artifact(&"0".repeat(64), &signed)
            .is_err()
    );

    worker.install_signed_artifact(&sha, &signed).unwrap();
    worker.load_plugin(bytes).await.unwrap();
    let stats = worker.cache_stats();
    assert_eq!((stats.compiles, stats.disk_hits), (0, 1), "{stats:?}");
}
