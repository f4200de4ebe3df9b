//! Runs the tests of `python/sweep_run.py` (the command side of the
//! training-command protocol) with a Python that has NumPy, so they are
//! part of the suite. Without one the test records itself as skipped.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

use std::path::{Path, PathBuf};

#[path = "../../sweep-data/src/test_support/skip.rs"]
mod skip;

/// The torch virtualenv's python (it has NumPy), else `python3` with NumPy.
fn python_with_numpy() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(venv) = std::env::var_os("SWEEP_TORCH_VENV") {
        candidates.push(Path::new(&venv).join("bin/python"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cache/sweep/torch-2.13.0-venv/bin/python"));
    }
    candidates.push(PathBuf::from("python3"));
    candidates.into_iter().find(|python| {
        std::process::Command::new(python)
            .args(["-c", "import numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn the_python_helper_passes_its_own_tests() {
    let Some(python) = python_with_numpy() else {
        skip::skip("no python with numpy to run python/tests with");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new(&python)
        .args(["-m", "unittest", "discover", "-s", "python/tests", "-v"])
        .current_dir(&root)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{}:\n{text}", python.display());
    assert!(text.contains("\nOK"), "{text}");
}
