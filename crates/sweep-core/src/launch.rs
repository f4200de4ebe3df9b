//! Runs one worker process for one run and turns its exit into a store record.
//!
//! Each run is its own process (`sweep worker <run dir>`): a segfault, an
//! out-of-memory kill or a NaN in one run is contained there. The worker's
//! stdout carries [`WorkerEvent`]s; its stderr goes to `worker.log` in the
//! run folder. Arguments are passed as a vector, never through a shell.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::events::WorkerEvent;
use crate::store::{FailureKind, LOG_FILE, RunStatus, Store};

/// How to start a worker.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    /// The executable (normally the running `sweep` binary).
    pub program: PathBuf,
    /// Arguments before the run folder (normally `["worker"]`).
    pub args: Vec<String>,
    /// Extra environment (thread budget, `CUDA_VISIBLE_DEVICES`, device).
    pub env: Vec<(String, String)>,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    Failed { kind: FailureKind, message: String },
}

/// Runs the worker on `run_dir` to completion, calling `on_event` for each
/// event line, and records a failure in the store if it did not complete.
pub fn run_worker(
    cmd: &WorkerCommand,
    store: &Store,
    run_dir: &Path,
    mut on_event: impl FnMut(&WorkerEvent),
) -> io::Result<Outcome> {
    let log = File::create(run_dir.join(LOG_FILE))?;
    let mut child = Command::new(&cmd.program)
        .args(&cmd.args)
        .arg(run_dir)
        .envs(cmd.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()?;
    let mut reported: Option<(FailureKind, String)> = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            if let Some(event) = WorkerEvent::from_line(&line) {
                if let WorkerEvent::Failed { kind, message } = &event {
                    reported = Some((*kind, message.clone()));
                }
                on_event(&event);
            }
        }
    }
    let status = child.wait()?;
    let key = run_dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(crate::hash::RunKey::parse);
    let verified = key.as_ref().map(|k| store.status(k));
    if status.success() && verified == Some(RunStatus::Done) {
        return Ok(Outcome::Done);
    }
    let (kind, message) = match reported {
        Some(r) => r,
        None if status.success() => (
            FailureKind::Crashed,
            "worker exited 0 but the run did not verify as complete".to_string(),
        ),
        None => (FailureKind::Crashed, describe_exit(&status, run_dir)),
    };
    Store::fail(run_dir, kind, &message)?;
    Ok(Outcome::Failed { kind, message })
}

fn describe_exit(status: &std::process::ExitStatus, run_dir: &Path) -> String {
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
