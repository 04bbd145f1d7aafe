//! The `quarry` binary: everything lives in the library ([`quarry::run`]).

use std::process::ExitCode;

fn main() -> ExitCode {
    quarry::run()
}
