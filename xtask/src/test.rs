//! `cargo xtask test`: the one command that runs every test, and every lint with it.
//!
//! Each workspace is compiled once for its tests, with `clippy-driver` as the workspace's rustc
//! wrapper: the same compile that builds the test binaries runs clippy on every target of our
//! own crates, with warnings denied, so lints cost no second pass over the dependencies
//! (ADR 0014). The wasm32-wasip2 lint of the plugins is the one check pass left. Every step is
//! timed; the table is printed at the end, also when a step fails.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::build_plugins::TARGET;
use crate::lint_wrapper::LintWrapper;
use crate::step_timer::StepTimer;

const USAGE: &str = "usage: cargo xtask test [--no-lint]";

pub fn run(args: &[String]) -> Result<()> {
    let lint = match args {
        [] => true,
        [flag] if flag == "--no-lint" => false,
        _ => bail!(USAGE),
    };
    let mut timer = StepTimer::new();
    let result = run_steps(&mut timer, lint);
    timer.print_table();
    result?;
    println!("all tests passed");
    Ok(())
}

fn run_steps(timer: &mut StepTimer, lint: bool) -> Result<()> {
    let root = crate::repo_root();
    let plugins = root.join("plugins");
    let wrapper = if lint {
        Some(LintWrapper::find()?)
    } else {
        None
    };

    timer.step("plugins: build (release, wasm32-wasip2)", || {
        crate::build_plugins::run(&[]).map(|_| ())
    })?;
    if lint {
        timer.step("plugins: clippy (wasm32-wasip2)", || {
            cargo_in(&plugins, &["clippy", "--workspace", "--target", TARGET])
                .args(["--", "-D", "warnings"])
                .run("clippy for wasm32-wasip2 in plugins/")
        })?;
    }
    // A cargo command in `dir` that also lints our crates, when linting is on.
    let linted = |dir: &Path, args: &[&str]| {
        let mut command = cargo_in(dir, args);
        LintWrapper::apply(wrapper.as_ref(), &mut command);
        command
    };
    timer.step(step_name("plugins: build native tests", lint), || {
        linted(&plugins, &["build", "--workspace", "--all-targets"])
            .run("building the plugins' native targets")
    })?;
    timer.step("plugins: run native tests", || {
        linted(&plugins, &["test", "--workspace"]).run("the plugins' native tests")
    })?;
    timer.step(step_name("host: build all targets", lint), || {
        linted(&root, &["build", "--workspace", "--all-targets"]).run("building the host workspace")
    })?;
    timer.step("host: run tests", || {
        linted(&root, &host_test_args()).run("the host tests")
    })
}

fn step_name(base: &str, lint: bool) -> String {
    if lint {
        format!("{base} + clippy")
    } else {
        base.to_owned()
    }
}

/// `cargo nextest run` when nextest is installed, else `cargo test`, over the host workspace.
fn host_test_args() -> Vec<&'static str> {
    let nextest = cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if nextest {
        vec!["nextest", "run", "--workspace", "--no-fail-fast"]
    } else {
        vec!["test", "--workspace", "--no-fail-fast"]
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn cargo_in(dir: &Path, args: &[&str]) -> Command {
    let mut command = cargo();
    command.current_dir(dir).args(args);
    command
}

/// Runs a command to completion, failing with `what` when it does not succeed.
trait RunChecked {
    fn run(&mut self, what: &str) -> Result<()>;
}

impl RunChecked for Command {
    fn run(&mut self, what: &str) -> Result<()> {
        let status = self.status().with_context(|| format!("running {what}"))?;
        if !status.success() {
            bail!("{what} failed ({status})");
        }
        Ok(())
    }
}
