//! The Python interpreter whose torch the tests compare against (the
//! virtualenv `scripts/torch-env.sh` makes). sweep-cli's tests include this
//! file with `#[path]` too, so both crates look for torch the same way; each
//! records the skip with its own recorder when there is none.

use std::path::{Path, PathBuf};

/// The reason a test gives when [`find_torch_python`] finds nothing.
pub(crate) const NO_TORCH: &str =
    "no python with torch (the venv of scripts/torch-env.sh) to compare with";

/// The venv's python with torch, else any `python3` with torch, else `None`.
pub(crate) fn find_torch_python() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(venv) = std::env::var_os("SWEEP_TORCH_VENV") {
        candidates.push(Path::new(&venv).join("bin/python"));
    }
    candidates.push(home.join(".cache/sweep/torch-2.13.0-venv/bin/python"));
    candidates.push(PathBuf::from("python3"));
    for python in candidates {
        let ok = std::process::Command::new(&python)
            .args(["-c", "import torch"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(python);
        }
    }
    None
}
