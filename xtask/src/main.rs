//! Project automation, run as `cargo xtask <command>` (an alias in `.cargo/config.toml`).
//!
//! `build-plugins` builds every connector in `plugins/` for `wasm32-wasip2` into
//! `target/plugins/` and checks that each output is a component exporting the connector
//! contract; `dev` builds what a local cluster needs and runs `quarry dev`; `test` builds the
//! plugins and runs every test and every clippy lint of both workspaces, in one compile each.

mod build_plugins;
mod component_check;
mod dev;
mod lint_wrapper;
mod step_timer;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

const HELP: &str = "\
cargo xtask — Quarry project automation

USAGE:
    cargo xtask <COMMAND>

COMMANDS:
    build-plugins [--debug]   Build every plugin in plugins/ for wasm32-wasip2 (release by
                              default) into target/plugins/<name>.wasm, and check that each is a
                              component exporting quarry:connector/source. Installs the
                              wasm32-wasip2 target with rustup when it is missing.
    dev [ARGS…]               Build the plugins and quarry (release), then run `quarry dev ARGS…`:
                              a local cluster (coordinator, two workers, the tpch catalog).
    test [--no-lint]          Build the plugins, then run every test and every lint: the
                              plugins workspace natively (cargo test) and the host workspace
                              (cargo nextest if installed, else cargo test). Clippy runs inside
                              the compile that builds the tests, warnings denied; --no-lint
                              builds with plain rustc. Prints each step's wall time at the end.
    help                      Show this text.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build-plugins") => build_plugins::run(&args[1..]).map(|_| ()),
        Some("dev") => dev::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!(
            "unknown command {other:?}; run `cargo xtask help`"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (the parent of this crate's directory).
fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
