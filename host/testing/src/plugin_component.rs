//! Finding the plugin components the tests and benchmarks load: `target/plugins/<name>.wasm`
//! as `cargo xtask build-plugins` writes it. A missing component fails the test that needs it,
//! saying how to build it; it never skips the test.

use std::path::{Path, PathBuf};

/// How to get the components, for every message about a missing one.
const HOW_TO_BUILD: &str = "run `cargo xtask build-plugins` first (or `cd plugins && cargo build \
                            --release --target wasm32-wasip2 -p NAME`)";

/// The repository's root directory (this crate is `host/testing` in it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/plugins`, where `cargo xtask build-plugins` puts the components; fails, saying how
/// to build them, when `name`'s component is not there (`quarry dev` reads the directory).
pub fn plugins_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("target/plugins");
    let component = dir.join(format!("{name}.wasm"));
    assert!(
        component.is_file(),
        "{} is missing: this test needs the bundled plugins. Build them first with \
         `cargo xtask build-plugins`",
        component.display()
    );
    dir
}

/// The built component of plugin `name`: `target/plugins/<name>.wasm` as `cargo xtask
/// build-plugins` writes it, or the plugins workspace's own release output (the same bytes,
/// before the copy), whichever is newer. Fails, saying how to build it, when there is neither.
pub fn plugin_path(name: &str) -> PathBuf {
    let root = workspace_root();
    let candidates = [
        root.join("target/plugins").join(format!("{name}.wasm")),
        root.join("plugins/target/wasm32-wasip2/release")
            .join(format!("{name}.wasm")),
    ];
    candidates
        .iter()
        .filter_map(|path| Some((std::fs::metadata(path).ok()?.modified().ok()?, path.clone())))
        .max()
        .map(|(_, path)| path)
        .unwrap_or_else(|| {
            panic!(
                "plugin component {name}.wasm not found at {}: {}",
                candidates[0].display(),
                HOW_TO_BUILD.replace("NAME", name)
            )
        })
}

/// The bytes of plugin `name`'s component ([`plugin_path`]); fails, saying how to build it,
/// when it is missing or unreadable.
pub fn plugin_bytes(name: &str) -> Vec<u8> {
    let path = plugin_path(name);
    std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read the {name} component at {}: {error}\n{}",
            path.display(),
            HOW_TO_BUILD.replace("NAME", name)
        )
    })
}

/// Where a benchmark finds plugin `name` without being told: `plugins/<name>.wasm` next to the
/// `release` (or `debug`) directory the running executable is in, as in a target directory
/// that is not this checkout's; else this checkout's `target/plugins/<name>.wasm`. The file may
/// be missing: reading it is the caller's.
pub fn plugin_path_near_executable(name: &str) -> PathBuf {
    let next_to_exe = std::env::current_exe().ok().and_then(|exe| {
        let path = exe.parent()?.parent()?.join(format!("plugins/{name}.wasm"));
        path.is_file().then_some(path)
    });
    next_to_exe.unwrap_or_else(|| {
        workspace_root()
            .join("target/plugins")
            .join(format!("{name}.wasm"))
    })
}
