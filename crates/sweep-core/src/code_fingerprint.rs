//! What identifies a training command's code in its runs' keys: every file
//! under the `code` paths of a `worker:` (folders walked recursively), each
//! by its path relative to the experiment file's folder and the sha256 of
//! its bytes.
//!
//! Keeping the list (not one digest of it) in the key's document means
//! `spec.json` says which file changed between two runs, and `sweep plan`
//! can name it (see [`crate::superseded`]). Files an interpreter or an
//! editor leaves beside the code are skipped, or a first run would change
//! every key: hidden files and folders (`.git`, `.DS_Store`), Python's
//! `__pycache__` folders and `*.pyc` files.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// One file of a training command's code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeFile {
    /// Relative to the experiment file's folder, with `/` separators.
    pub path: String,
    pub sha256: String,
}

/// Folders are not followed deeper than this (a symbolic link loop ends here).
const MAX_DEPTH: usize = 32;

/// The files of `code` (paths relative to `folder`), sorted by path, each
/// listed once. A path that is missing or unreadable is an error naming it.
pub fn code_fingerprint(folder: &Path, code: &[String]) -> Result<Vec<CodeFile>, String> {
    let mut files = Vec::new();
    for entry in code {
        let path = folder.join(entry);
        let meta = std::fs::metadata(&path).map_err(|e| format!("code {}: {e}", path.display()))?;
        if meta.is_dir() {
            walk(&path, entry, 0, &mut files)?;
        } else {
            files.push(hash_file(&path, entry.clone())?);
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}

/// Whether a file or folder name is left out of the code's fingerprint.
pub fn skipped(name: &str) -> bool {
    name.starts_with('.') || name == "__pycache__" || name.ends_with(".pyc")
}

fn walk(dir: &Path, relative: &str, depth: usize, out: &mut Vec<CodeFile>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "code {}: folders nested deeper than {MAX_DEPTH} (a symbolic link loop?)",
            dir.display()
        ));
    }
    let read = |e: std::io::Error| format!("code {}: {e}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(read)?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(read)?;
    names.sort();
    for name in names.into_iter().filter(|n| !skipped(n)) {
        let path = dir.join(&name);
        let child = format!("{relative}/{name}");
        let meta = std::fs::metadata(&path).map_err(|e| format!("code {}: {e}", path.display()))?;
        if meta.is_dir() {
            walk(&path, &child, depth + 1, out)?;
        } else {
            out.push(hash_file(&path, child)?);
        }
    }
    Ok(())
}

fn hash_file(path: &Path, relative: String) -> Result<CodeFile, String> {
    let sha256 =
        crate::store::sha256_file(path).map_err(|e| format!("code {}: {e}", path.display()))?;
    Ok(CodeFile {
        path: relative,
        sha256,
    })
}

/// What changed between the code a run was finished with and today's:
/// "train.py edited, mylib/loss.py added" (at most a few files named).
pub fn describe_change(old: &[CodeFile], now: &[CodeFile]) -> String {
    let mut changes = Vec::new();
    for file in now {
        match old.iter().find(|o| o.path == file.path) {
            Some(o) if o.sha256 == file.sha256 => {}
            Some(_) => changes.push(format!("{} edited", file.path)),
            None => changes.push(format!("{} added", file.path)),
        }
    }
    for file in old {
        if !now.iter().any(|n| n.path == file.path) {
            changes.push(format!("{} removed", file.path));
        }
    }
    const SHOWN: usize = 3;
    let more = changes.len().saturating_sub(SHOWN);
    changes.truncate(SHOWN);
    let mut text = changes.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_walked_in_order_and_interpreter_litter_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::write(root.join("train.py"), "print(1)\n").unwrap();
        std::fs::create_dir_all(root.join("mylib/__pycache__")).unwrap();
        std::fs::write(root.join("mylib/b.py"), "b").unwrap();
        std::fs::write(root.join("mylib/a.py"), "a").unwrap();
        std::fs::write(root.join("mylib/__pycache__/a.cpython-313.pyc"), "x").unwrap();
        std::fs::write(root.join("mylib/.DS_Store"), "x").unwrap();
        let code = ["train.py".to_string(), "mylib".to_string()];
        let files = code_fingerprint(root, &code).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["mylib/a.py", "mylib/b.py", "train.py"]);
        assert_eq!(
            files[2].sha256,
            crate::store::sha256_file(&root.join("train.py")).unwrap()
        );

        std::fs::write(root.join("train.py"), "print(2)\n").unwrap();
        std::fs::write(root.join("mylib/c.py"), "c").unwrap();
        let now = code_fingerprint(root, &code).unwrap();
        assert_eq!(
            describe_change(&files, &now),
            "mylib/c.py added, train.py edited"
        );
        let err = code_fingerprint(root, &["gone.py".to_string()]).unwrap_err();
        assert!(
            err.starts_with(&format!("code {}: ", root.join("gone.py").display())),
            "{err}"
        );
    }
}
