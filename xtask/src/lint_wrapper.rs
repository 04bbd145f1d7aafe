//! Clippy as the workspace's rustc wrapper, so one compile both builds and lints our crates.
//!
//! `cargo clippy` is `cargo check` with `RUSTC_WORKSPACE_WRAPPER` pointing at `clippy-driver` and
//! the lint flags in `CLIPPY_ARGS`. Setting the same two variables on `cargo build` or
//! `cargo test` runs clippy's lints inside the real compile of each workspace crate;
//! dependencies are compiled by plain rustc, once, as the tests need them.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Clippy's separator between the arguments packed into `CLIPPY_ARGS`.
const CLIPPY_ARGS_SEPARATOR: &str = "__CLIPPY_HACKERY__";

/// The lint flags: deny every warning, as `cargo clippy -- -D warnings` does.
const LINT_FLAGS: [&str; 2] = ["-D", "warnings"];

#[derive(Debug)]
pub struct LintWrapper {
    driver: PathBuf,
}

impl LintWrapper {
    /// Finds `clippy-driver` in the active toolchain's sysroot.
    pub fn find() -> Result<Self> {
        let sysroot = Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .context("running rustc --print sysroot")?;
        let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
        let driver = sysroot.join("bin").join("clippy-driver");
        if !driver.is_file() {
            bail!(
                "clippy is not installed for this toolchain (no {}); run \
                 `rustup component add clippy`, or `cargo xtask test --no-lint` to test without \
                 linting",
                driver.display()
            );
        }
        Ok(Self { driver })
    }

    /// Makes `command` (a cargo build, test or nextest run) lint every workspace crate it
    /// compiles; with no wrapper, leaves it as it is.
    pub fn apply(wrapper: Option<&Self>, command: &mut Command) {
        if let Some(wrapper) = wrapper {
            let packed: String = LINT_FLAGS
                .iter()
                .map(|flag| format!("{flag}{CLIPPY_ARGS_SEPARATOR}"))
                .collect();
            command
                .env("RUSTC_WORKSPACE_WRAPPER", &wrapper.driver)
                .env("CLIPPY_ARGS", packed);
        }
    }
}
