//! Replays a fuzz target's corpus and crash reproducers in a regular test
//! (stable toolchain). Included with `#[path]` by the corpus tests of the
//! crates the targets exercise, next to the target's own harness.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// Files in `<repo>/fuzz/<kind>/<target>`, sorted.
fn inputs(repo: &Path, kind: &str, target: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(repo.join("fuzz").join(kind).join(target))? {
        let path = entry?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Runs `run` on every corpus file and reproducer of `target`; fails with
/// the names of the inputs that panicked. A missing or empty corpus fails,
/// so it can never look like a pass.
pub(super) fn replay(repo: &Path, target: &str, run: impl Fn(&[u8])) {
    let corpus = inputs(repo, "corpus", target)
        .unwrap_or_else(|e| panic!("fuzz/corpus/{target} is missing: {e}"));
    assert!(!corpus.is_empty(), "fuzz/corpus/{target} is empty");
    // Reproducers exist only for bugs found so far; the folder may be absent.
    let regressions = inputs(repo, "regressions", target).unwrap_or_default();
    let mut failed = Vec::new();
    for file in corpus.iter().chain(&regressions) {
        let data = std::fs::read(file).unwrap();
        if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} `{target}` inputs panicked:\n{}",
        failed.len(),
        corpus.len() + regressions.len(),
        failed.join("\n")
    );
}
