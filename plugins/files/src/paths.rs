//! Names and paths: nothing the user or the engine gives us reaches outside the root.
//!
//! Three checks, each with its own error: schema and table names are plain names (no `/`, no
//! `..`, not hidden); paths in properties are relative and free of `..`; and every path is
//! resolved component by component, following symlinks by hand, so a symlink whose target
//! leaves the root is refused by name rather than followed. (In the sandbox the host's
//! preopened directory refuses such a symlink too; this check makes the error clear and
//! holds natively as well.)

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use quarry_sdk::{ConnectorError, Result};

/// Symlinks followed while resolving one path before giving up.
const MAX_SYMLINK_HOPS: usize = 32;

/// A schema or table name must be a plain directory entry name.
pub fn check_name(kind: &str, name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(ConnectorError::not_found(format!(
            "invalid {kind} name {name:?}: {reason}"
        )))
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name == "." || name == ".." || name.contains("..") {
        return bad("\"..\" is not allowed in names");
    }
    if name.contains(['/', '\\', '\0']) {
        return bad("path separators are not allowed in names");
    }
    if name.starts_with('.') {
        return bad("hidden names are not served");
    }
    Ok(())
}

/// A path from a property: relative to the root, without `..`.
pub fn check_relative(path: &str) -> Result<PathBuf, String> {
    let p = Path::new(path);
    if path.is_empty() {
        return Err("empty path".to_owned());
    }
    if p.is_absolute() || path.starts_with('/') || path.starts_with('\\') {
        return Err(format!(
            "path {path:?} is absolute; paths in properties are relative to root"
        ));
    }
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!("path {path:?} contains \"..\""));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "path {path:?} is absolute; paths in properties are relative to root"
                ));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(format!("path {path:?} names the root itself"));
    }
    Ok(out)
}

/// Resolves `relative` under `root`, following symlinks one component at a time, and fails
/// if any step leaves the root. Returns the real path (inside `root`). `relative` comes from
/// our own listings or checked properties, so `..` appears only in symlink targets.
pub fn resolve_within(root: &Path, relative: &Path) -> Result<PathBuf> {
    let shown = relative.display().to_string();
    let escape = |link: &Path, target: &Path| {
        ConnectorError::io(format!(
            "\"{shown}\": symlink \"{}\" points to \"{}\", outside the root \"{}\"",
            link.strip_prefix(root).unwrap_or(link).display(),
            target.display(),
            root.display()
        ))
    };
    let mut pending: VecDeque<OsString> = VecDeque::new();
    for c in relative.components() {
        match c {
            Component::Normal(part) => pending.push_back(part.to_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(ConnectorError::io(format!(
                    "path \"{shown}\" contains \"..\""
                )));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(ConnectorError::io(format!(
                    "path \"{shown}\" is absolute; expected a path relative to the root"
                )));
            }
        }
    }
    let mut current = root.to_path_buf();
    let mut depth = 0usize;
    let mut hops = 0usize;
    // The symlink whose target is being walked, for the error message.
    let mut via: Option<(PathBuf, PathBuf)> = None;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            if depth == 0 {
                let (link, target) = via.clone().unwrap_or_default();
                return Err(escape(&link, &target));
            }
            current.pop();
            depth -= 1;
            continue;
        }
        if part == "." {
            continue;
        }
        let candidate = current.join(&part);
        let meta = std::fs::symlink_metadata(&candidate).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                quarry_sdk::ErrorKind::NotFound
            } else {
                quarry_sdk::ErrorKind::Io
            };
            ConnectorError::new(
                kind,
                format!(
                    "\"{}\": {e}",
                    candidate.strip_prefix(root).unwrap_or(&candidate).display()
                ),
            )
        })?;
        if !meta.file_type().is_symlink() {
            current = candidate;
            depth += 1;
            continue;
        }
        hops += 1;
        if hops > MAX_SYMLINK_HOPS {
            return Err(ConnectorError::io(format!(
                "\"{shown}\": more than {MAX_SYMLINK_HOPS} symlinks"
            )));
        }
        let target = std::fs::read_link(&candidate)
            .map_err(|e| ConnectorError::io(format!("\"{shown}\": cannot read symlink: {e}")))?;
        via = Some((candidate.clone(), target.clone()));
        let mut next: VecDeque<OsString> = VecDeque::new();
        let walk = if target.is_absolute() {
            // Only targets under the root, component for component, can stay inside.
            let inside = target
                .strip_prefix(root)
                .map_err(|_| escape(&candidate, &target))?;
            current = root.to_path_buf();
            depth = 0;
            inside.to_path_buf()
        } else {
            target.clone()
        };
        for c in walk.components() {
            match c {
                Component::Normal(p) => next.push_back(p.to_owned()),
                Component::ParentDir => next.push_back(OsString::from("..")),
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => {
                    return Err(escape(&candidate, &target));
                }
            }
        }
        next.extend(pending.drain(..));
        pending = next;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_leave_a_directory_are_refused() {
        for bad in ["", "..", "../x", "a/b", "a\\b", ".hidden", "x\0"] {
            assert!(check_name("table", bad).is_err(), "{bad:?}");
        }
        let err = check_name("table", "../etc").unwrap_err();
        assert!(err.message.contains("\"..\""), "{err}");
        check_name("table", "orders").unwrap();
    }

    #[test]
    fn relative_paths_only() {
        assert!(
            check_relative("/etc/passwd")
                .unwrap_err()
                .contains("absolute")
        );
        assert!(check_relative("a/../../b").unwrap_err().contains(".."));
        assert_eq!(check_relative("./a/b").unwrap(), PathBuf::from("a/b"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_resolve_and_outside_fail() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("s/real")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("s/real/a.csv"), "x\n1\n").unwrap();
        std::fs::write(outside.join("secret.csv"), "x\n1\n").unwrap();
        std::os::unix::fs::symlink("real", root.join("s/alias")).unwrap();
        std::os::unix::fs::symlink(root.join("s/real"), root.join("s/absolute_alias")).unwrap();
        std::os::unix::fs::symlink("../../outside/secret.csv", root.join("s/leak.csv")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("s/leakdir")).unwrap();

        assert_eq!(
            resolve_within(&root, Path::new("s/alias/a.csv")).unwrap(),
            root.join("s/real/a.csv")
        );
        assert_eq!(
            resolve_within(&root, Path::new("s/absolute_alias/a.csv")).unwrap(),
            root.join("s/real/a.csv")
        );
        let err = resolve_within(&root, Path::new("s/leak.csv")).unwrap_err();
        assert!(err.message.contains("outside the root"), "{err}");
        assert!(err.message.contains("leak.csv"), "{err}");
        let err = resolve_within(&root, Path::new("s/leakdir/secret.csv")).unwrap_err();
        assert!(err.message.contains("outside the root"), "{err}");
    }
}
