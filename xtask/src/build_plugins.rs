//! `cargo xtask build-plugins`: every plugin, built for wasm32-wasip2, checked, and copied to
//! `target/plugins/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::component_check;

pub const TARGET: &str = "wasm32-wasip2";

/// The components every build must produce (the workspace may hold more).
pub const PLUGINS: [&str; 6] = ["tpch", "files", "testkit", "hello", "http", "postgres"];

/// Builds the plugins and returns the paths of the components written.
pub fn run(args: &[String]) -> Result<Vec<PathBuf>> {
    let release = match args {
        [] => true,
        [flag] if flag == "--debug" => false,
        _ => bail!("usage: cargo xtask build-plugins [--debug]"),
    };
    ensure_target()?;
    let root = crate::repo_root();
    let plugins = root.join("plugins");
    let profile = if release { "release" } else { "debug" };
    println!("building plugins ({profile}, {TARGET})…");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // An explicit target directory, so a CARGO_TARGET_DIR meant for the host workspace does
    // not move the plugins' output away from where it is collected below.
    let target_dir = plugins.join("target");
    cargo
        .current_dir(&plugins)
        .args(["build", "--workspace", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    if release {
        cargo.arg("--release");
    }
    let status = cargo.status().context("running cargo build in plugins/")?;
    if !status.success() {
        bail!("building the plugins failed (cargo build in plugins/ exited with {status})");
    }

    let built = target_dir.join(TARGET).join(profile);
    let out = root.join("target").join("plugins");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::new();
    for entry in
        std::fs::read_dir(&built).with_context(|| format!("reading {}", built.display()))?
    {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "wasm") {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let version = component_check::check(&bytes)
            .with_context(|| format!("{} is not a usable connector", path.display()))?;
        let name = path.file_name().map(PathBuf::from).unwrap_or_default();
        let dest = out.join(&name);
        std::fs::write(&dest, &bytes).with_context(|| format!("writing {}", dest.display()))?;
        println!(
            "  {:<14} {:>9} bytes  contract {version}  sha256 {}…",
            name.display(),
            bytes.len(),
            &hex::encode(Sha256::digest(&bytes))[..12]
        );
        written.push(dest);
    }
    if written.is_empty() {
        bail!("no plugin component found in {}", built.display());
    }
    for name in PLUGINS {
        if !written.iter().any(|p| p.ends_with(format!("{name}.wasm"))) {
            bail!(
                "plugin {name} was not built: no {name}.wasm in {}",
                built.display()
            );
        }
    }
    println!("plugins written to {}", out.display());
    Ok(written)
}

/// Makes sure the wasm32-wasip2 standard library is installed, installing it with rustup if
/// possible, and otherwise saying exactly what to run.
fn ensure_target() -> Result<()> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("running rustc --print sysroot")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if has_target(&sysroot) {
        return Ok(());
    }
    println!("the {TARGET} target is not installed; installing it with rustup…");
    let installed = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if installed && has_target(&sysroot) {
        return Ok(());
    }
    bail!(
        "the Rust target {TARGET} is missing and could not be installed automatically; \
         run `rustup target add {TARGET}` and try again"
    )
}

fn has_target(sysroot: &Path) -> bool {
    sysroot
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib")
        .is_dir()
}
