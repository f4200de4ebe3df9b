//! The worker's log lines. Its stderr is the run's `worker.log`, inside the
//! results folder, so on a full disk writing a line fails; `eprintln!` would
//! then panic and hide the real error (the failed write that filled the
//! disk). These lines are best effort: a log line that cannot be written is
//! dropped, and the failure is still reported through the exit code and
//! `failure.json`.

use std::io::Write;

/// Writes one line to stderr, ignoring write errors.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args);
    let _ = err.write_all(b"\n");
}

/// `worker_log!("...", args)`: [`line`] with `format!` syntax.
#[macro_export]
macro_rules! worker_log {
    ($($arg:tt)*) => {
        $crate::log::line(format_args!($($arg)*))
    };
}
