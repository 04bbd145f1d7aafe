//! `cargo xtask test`: the one command that runs every test.

use std::process::Command;

use anyhow::{Context, Result, bail};

pub fn run(args: &[String]) -> Result<()> {
    if !args.is_empty() {
        bail!("usage: cargo xtask test");
    }
    crate::build_plugins::run(&[])?;
    let root = crate::repo_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    println!("testing the plugins workspace (native)…");
    let status = Command::new(&cargo)
        .current_dir(root.join("plugins"))
        .args(["test", "--workspace"])
        .status()
        .context("running cargo test in plugins/")?;
    if !status.success() {
        bail!("plugin tests failed");
    }

    println!("testing the host workspace…");
    let nextest = Command::new(&cargo)
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut host = Command::new(&cargo);
    host.current_dir(&root);
    if nextest {
        host.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        host.args(["test", "--workspace", "--no-fail-fast"]);
    }
    let status = host.status().context("running the host tests")?;
    if !status.success() {
        bail!("host tests failed");
    }
    println!("all tests passed");
    Ok(())
}
