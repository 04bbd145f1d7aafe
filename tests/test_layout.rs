//! Every crate builds its integration tests as one binary rooted at `tests/main.rs` (ADR 0012),
//! so a test file that `main.rs` does not declare would never be compiled or run. This checks
//! that none is forgotten.

use std::path::Path;

#[test]
fn every_test_file_is_a_module_of_its_crates_test_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut test_dirs = vec![root.join("tests")];
    for entry in std::fs::read_dir(root.join("host")).unwrap() {
        let dir = entry.unwrap().path().join("tests");
        if dir.is_dir() {
            test_dirs.push(dir);
        }
    }
    assert!(test_dirs.len() >= 6, "{test_dirs:?}");
    let mut forgotten = Vec::new();
    for dir in test_dirs {
        let main = std::fs::read_to_string(dir.join("main.rs"))
            .unwrap_or_else(|e| panic!("{}: no main.rs ({e})", dir.display()));
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let is_rust_file = path.extension().is_some_and(|e| e == "rs");
            if is_rust_file && stem != "main" && !main.contains(&format!("mod {stem};")) {
                forgotten.push(path.display().to_string());
            }
        }
    }
    assert!(
        forgotten.is_empty(),
        "not declared in their tests/main.rs, so never run: {forgotten:?}"
    );
}
