//! Skips that are counted, not hidden. A test that cannot run here (no real
//! data files, no browser, no Slurm) calls [`skip`] and returns: the reason
//! goes to stderr and, when `SWEEP_TEST_SKIPS` names a file, one line
//! `<test name>\t<reason>` is appended to it, so `scripts/test` can report the
//! test as skipped instead of passed.
//!
//! Only the standard library is used, so integration tests of other crates
//! include this file with `#[path]`.

use std::io::Write;
use std::path::Path;

/// The environment variable naming the file skips are appended to.
pub(super) const SKIPS_FILE_VAR: &str = "SWEEP_TEST_SKIPS";

/// Records that the running test skipped its check because of `reason`.
pub(crate) fn skip(reason: &str) {
    let test = current_test_name();
    eprintln!("skipped: {test} — {reason}");
    if let Some(file) = std::env::var_os(SKIPS_FILE_VAR) {
        append_skip(Path::new(&file), &test, reason);
    }
}

/// The running test's name: libtest names each test's thread after it.
pub(super) fn current_test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => "<unnamed test>".to_string(),
    }
}

/// Appends one `<test>\t<reason>` line to `file`; tabs and newlines in either
/// become spaces so the line stays one record.
pub(super) fn append_skip(file: &Path, test: &str, reason: &str) {
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    let line = format!("{}\t{}\n", clean(test), clean(reason));
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .unwrap_or_else(|e| panic!("cannot record a skip in {}: {e}", file.display()));
    // One write per line: concurrent tests append whole lines.
    out.write_all(line.as_bytes())
        .unwrap_or_else(|e| panic!("cannot record a skip in {}: {e}", file.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_are_appended_one_line_each_with_the_test_name_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("skips");
        append_skip(&file, "a::first", "no chromium");
        append_skip(&file, "b::second", "needs\tSlurm\nas root");
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            text,
            "a::first\tno chromium\nb::second\tneeds Slurm as root\n"
        );
    }

    #[test]
    fn the_test_name_comes_from_the_test_thread() {
        // The module path differs where other crates include this file.
        let name = current_test_name();
        assert!(
            name.ends_with("::tests::the_test_name_comes_from_the_test_thread"),
            "{name}"
        );
    }
}
