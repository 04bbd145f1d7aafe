//! `cargo xtask test`: the one command that runs every test, and every lint with it.
//!
//! Each workspace is compiled once for its tests, with `clippy-driver` as the workspace's rustc
//! wrapper: the same compile that builds the test binaries runs clippy on every target of our
//! own crates, with warnings denied, so lints cost no second pass over the dependencies
//! (ADR 0014). The wasm32-wasip2 lint of the plugins is the one check pass left. Every step is
//! timed; the table is printed at the end, also when a step fails.

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
    timer.step(step_name("plugins: build native tests", lint), || {
        let mut build = cargo_in(&plugins, &["build", "--workspace", "--all-targets"]);
        LintWrapper::apply(wrapper.as_ref(), &mut build);
        build.run("building the plugins' native targets")
    })?;
    timer.step("plugins: run native tests", || {
        let mut test = cargo_in(&plugins, &["test", "--workspace"]);
        LintWrapper::apply(wrapper.as_ref(), &mut test);
        test.run("the plugins' native tests")
    })?;

    timer.step(step_name("host: build all targets", lint), || {
        let mut build = cargo_in(&root, &["build", "--workspace", "--all-targets"]);
        LintWrapper::apply(wrapper.as_ref(), &mut build);
        build.run("building the host workspace")
    })?;
    timer.step("host: run tests", || {
        let mut test = host_test_command(&root);
        LintWrapper::apply(wrapper.as_ref(), &mut test);
        test.run("the host tests")
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
fn host_test_command(root: &std::path::Path) -> Command {
    let nextest = cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if nextest {
        cargo_in(root, &["nextest", "run", "--workspace", "--no-fail-fast"])
    } else {
        cargo_in(root, &["test", "--workspace", "--no-fail-fast"])
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn cargo_in(dir: &std::path::Path, args: &[&str]) -> Command {
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
