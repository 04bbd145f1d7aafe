//! Keeps docs/plugin-authoring.md and this crate in step: every fenced block the tutorial marks
//! with `<!-- file: PATH -->` on the line before it must be exactly the file at PATH
//! (relative to the repository root), and the tutorial must show each file of the crate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// The files the tutorial shows in full.
const SHOWN: [&str; 3] = [
    "plugins/hello/Cargo.toml",
    "plugins/hello/src/lib.rs",
    "plugins/hello/tests/numbers.rs",
];

const DOC: &str = "docs/plugin-authoring.md";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `(path, block)` for each marked fenced block of `doc`.
fn marked_blocks(doc: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line
            .trim()
            .strip_prefix("<!-- file:")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "{DOC}: the marker for {} must be followed by a ``` fence, found {fence:?}",
            path.trim()
        );
        let mut block = String::new();
        for line in lines.by_ref().take_while(|l| *l != "```") {
            block.push_str(line);
            block.push('\n');
        }
        blocks.push((path.trim().to_owned(), block));
    }
    blocks
}

#[test]
fn the_tutorial_shows_exactly_the_files_of_the_crate() {
    let root = repo_root();
    let doc = std::fs::read_to_string(root.join(DOC)).unwrap();
    let blocks = marked_blocks(&doc);
    for shown in SHOWN {
        assert!(
            blocks.iter().any(|(path, _)| path == shown),
            "{DOC} does not show {shown}: add it as a fenced block with \
             `<!-- file: {shown} -->` on the line before the fence"
        );
    }
    for (path, block) in &blocks {
        let file = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("{DOC} shows {path}, which cannot be read: {e}"));
        if *block != file {
            let line = block
                .lines()
                .zip(file.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| block.lines().count().min(file.lines().count()));
            panic!(
                "{DOC} and {path} differ from line {} of the file on: copy the file into its \
                 block in the tutorial (or the block into the file, then `cargo fmt`) so both \
                 are identical, line for line",
                line + 1
            );
        }
    }
}
