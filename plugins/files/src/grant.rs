//! The catalog's read-only grant: the host preopens each `allowed_paths` directory at its
//! absolute host path (see `host/runtime/src/sandbox.rs`), and `wasi:filesystem/preopens`
//! lists them. `root` must be one of them or lie under one, or nothing is readable.

use std::path::{Path, PathBuf};

/// The directories this instance may read: the preopened directories inside the sandbox;
/// `None` natively, where there is no sandbox (unit tests).
pub fn granted_dirs() -> Option<Vec<PathBuf>> {
    #[cfg(target_arch = "wasm32")]
    {
        let dirs = wasip2::filesystem::preopens::get_directories();
        Some(
            dirs.into_iter()
                .map(|(_, path)| PathBuf::from(path))
                .collect(),
        )
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// Checks that `root` lies inside one of `granted` (component-wise); `None` grants all.
/// The message names the property, the path and what to grant.
pub fn check_root(root: &Path, granted: Option<&[PathBuf]>) -> Result<(), String> {
    let Some(granted) = granted else {
        return Ok(());
    };
    if granted.iter().any(|g| root.starts_with(g)) {
        return Ok(());
    }
    let listed = if granted.is_empty() {
        "none".to_owned()
    } else {
        granted
            .iter()
            .map(|g| format!("\"{}\"", g.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "property \"root\": \"{}\" is not covered by a read-only allowed_paths grant of this \
         catalog (granted: {listed}); add \"{}\" or a parent directory to the catalog's \
         allowed_paths",
        root.display(),
        root.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_must_lie_inside_a_grant() {
        let root = Path::new("/data/sales");
        check_root(root, None).unwrap();
        check_root(root, Some(&[PathBuf::from("/data")])).unwrap();
        check_root(root, Some(&[PathBuf::from("/data/sales")])).unwrap();
        let err = check_root(root, Some(&[])).unwrap_err();
        assert!(err.contains("property \"root\""), "{err}");
        assert!(err.contains("allowed_paths"), "{err}");
        assert!(err.contains("granted: none"), "{err}");
        // A sibling with a common string prefix is not a parent.
        let err = check_root(root, Some(&[PathBuf::from("/data/sal")])).unwrap_err();
        assert!(err.contains("\"/data/sal\""), "{err}");
    }
}
