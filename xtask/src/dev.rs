//! `cargo xtask dev [ARGS…]`: the one command that brings up a local cluster on a fresh
//! checkout: builds the plugins, builds `quarry` (release), and runs `quarry dev ARGS…` from the
//! repository root, so it finds `target/plugins/`.

use std::process::Command;

use anyhow::{Context, Result, bail};

pub fn run(args: &[String]) -> Result<()> {
    crate::build_plugins::run(&[])?;
    let root = crate::repo_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("building quarry (release) and starting `quarry dev`…");
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args(["run", "--release", "--bin", "quarry", "--", "dev"])
        .args(args)
        .status()
        .context("running `cargo run --release --bin quarry -- dev`")?;
    if !status.success() {
        bail!("quarry dev exited with {status}");
    }
    Ok(())
}
