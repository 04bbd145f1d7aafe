//! Running the Python client scripts of `tests/python/` (the libraries of
//! `tests/python/requirements.txt`), which print one JSON object each.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs `tests/python/<script>` with `args`; its JSON output. Fails, saying how to install
/// them, when the Python packages are missing.
pub fn python(script: &str, args: &[&str]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let output = Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
        .expect("python3 must be installed for the client tests");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "the client tests need Python packages: python3 -m pip install -r \
         tests/python/requirements.txt\n{stderr}"
    );
    assert!(output.status.success(), "{script} failed:\n{stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
