//! A grown thread budget, handed from the scheduler to a running worker.
//!
//! With `resources.grow_threads`, when a run ends and nothing waits, the
//! scheduler writes the new budget (a decimal number) to `threads.grant` in
//! each still-running run's folder; the worker reads it at its next epoch
//! boundary and raises its intra-op thread count. The file is not part of a
//! run's results: it is removed when the attempt ends or a new one starts.
//! Both sides use these functions, so the file's name and format live here.

use std::io;
use std::path::Path;

/// The grant's file name inside a run folder.
pub const GRANT_FILE: &str = "threads.grant";

/// Grants `threads` to the worker training in `run_dir` (written whole).
pub fn write_grant(run_dir: &Path, threads: u32) -> io::Result<()> {
    sweep_data::atomic::write_atomic(&run_dir.join(GRANT_FILE), threads.to_string().as_bytes())
}

/// The budget granted to the worker in `run_dir`, if any and readable.
pub fn read_grant(run_dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(run_dir.join(GRANT_FILE)).ok()?;
    text.trim().parse().ok()
}

/// Withdraws any grant (the attempt ended, or a new one starts).
pub fn clear_grant(run_dir: &Path) {
    // Absent is the usual case; nothing else can be done about a failure.
    let _ = std::fs::remove_file(run_dir.join(GRANT_FILE));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_read_back_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_grant(dir.path()), None);
        write_grant(dir.path(), 4).unwrap();
        assert_eq!(read_grant(dir.path()), Some(4));
        clear_grant(dir.path());
        assert_eq!(read_grant(dir.path()), None);
    }
}
