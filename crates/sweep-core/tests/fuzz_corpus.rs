//! Replays the `spec_parser` fuzz corpus and every crash reproducer on the
//! stable toolchain, through the same harness the fuzzer runs: no input may
//! panic. `scripts/fuzz` grows and minimises the corpus.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../../fuzz/harness/spec_parser.rs"]
mod harness;

/// Files in `fuzz/<kind>/spec_parser` (relative to the repository root), sorted.
fn inputs(kind: &str) -> std::io::Result<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(kind)
        .join("spec_parser");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[test]
fn fuzz_corpus_and_crash_reproducers_do_not_panic() {
    let corpus = inputs("corpus").expect("fuzz/corpus/spec_parser is missing");
    // An empty or missing corpus must not look like a pass.
    assert!(!corpus.is_empty(), "fuzz/corpus/spec_parser is empty");
    // Reproducers exist only for bugs found so far; the folder may be absent.
    let regressions = inputs("regressions").unwrap_or_default();

    let mut failed = Vec::new();
    for file in corpus.iter().chain(&regressions) {
        let data = std::fs::read(file).unwrap();
        if catch_unwind(AssertUnwindSafe(|| harness::run(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} experiment-file inputs panicked:\n{}",
        failed.len(),
        corpus.len() + regressions.len(),
        failed.join("\n")
    );
}
