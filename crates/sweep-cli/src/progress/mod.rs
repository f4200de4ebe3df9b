//! Reporters for `sweep run`: they only consume scheduler events, so the
//! scheduler never knows whether a human, a log file or another tool is
//! watching.
//!
//! * [`terminal`] — an overall bar plus one line per running slot (a TTY).
//! * [`lines`] — plain timestamped lines (CI, logs, pipes).
//! * [`json`] — one JSON object per event on stdout (`--json`).

pub mod json;
pub mod lines;
pub mod terminal;

use sweep_core::scheduler::Progress;

/// A one-line label of a finished/failed run outcome.
pub fn outcome_text(p: &Progress) -> Option<String> {
    match p {
        Progress::Finished {
            result: Ok(()),
            seconds,
            ..
        } => Some(format!("done in {seconds:.1}s")),
        Progress::Finished {
            result: Err((kind, message)),
            will_retry,
            ..
        } => Some(format!(
            "FAILED ({kind}): {message}{}",
            if *will_retry { " — retrying" } else { "" }
        )),
        _ => None,
    }
}
