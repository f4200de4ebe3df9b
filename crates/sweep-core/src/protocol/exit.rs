//! The worker process contract shared by the scheduler and the worker:
//! exit codes and how an abnormal exit is described.

use std::path::Path;
use std::process::ExitStatus;

use crate::store::LOG_FILE;

/// Exit code of a worker that found its run's lease held by another process
/// (BSD `EX_TEMPFAIL`): not a failure, the scheduler waits and re-checks.
pub const BUSY_EXIT_CODE: i32 = 75;

/// Exit code of a worker that stopped early because it was asked to
/// (SIGTERM, sent by the scheduler on the first Ctrl-C): its last completed
/// epoch is saved and the run continues from there next time.
pub const INTERRUPTED_EXIT_CODE: i32 = 76;

/// One line saying how a worker ended: its signal, or its exit code and the
/// last line of its log.
pub fn describe_exit(status: &ExitStatus, run_dir: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!(
                "killed by signal {sig}; see {}",
                run_dir.join(LOG_FILE).display()
            );
        }
    }
    let last = std::fs::read_to_string(run_dir.join(LOG_FILE))
        .ok()
        .and_then(|s| {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        })
        .unwrap_or_default();
    format!("exit status {}: {}", status.code().unwrap_or(-1), last)
}
