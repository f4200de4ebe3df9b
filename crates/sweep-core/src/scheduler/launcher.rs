//! Starting and signalling worker processes, behind a trait.
//!
//! Starting a process is the one thing the scheduling loop does that needs
//! the operating system; every other step (which slot, when to retry, when
//! to stop) is a decision. Keeping process control behind [`Launcher`] lets
//! those decisions be tested with scripted workers, and keeps the process
//! details in one place: [`ProcessLauncher`], which `sweep run` uses, starts
//! `sweep-worker <run folder>` in its own process group (so a Ctrl-C at the
//! terminal reaches only the loop), with the slot's environment, its stderr
//! appended to the run's log and its stdout read as protocol events.

use std::fs::OpenOptions;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use tokio::io::AsyncRead;
use tokio::process::{Child, ChildStdout, Command};

use super::job::Job;
use super::slots::Slot;
use crate::store::LOG_FILE;

/// Starts one worker per attempt.
pub(crate) trait Launcher {
    type Worker: RunningWorker;

    /// Starts the worker that trains `job` in `slot`, on its prepared run
    /// folder `run_dir`.
    fn start(&self, job: &Job, slot: &Slot, run_dir: &Path) -> io::Result<Self::Worker>;
}

/// A started worker, as far as the loop controls it.
pub(crate) trait RunningWorker: Send + 'static {
    /// Its standard output: one protocol event per line.
    type Output: AsyncRead + Unpin + Send + 'static;

    /// The output, the first time it is asked for.
    fn take_output(&mut self) -> Option<Self::Output>;

    /// Waits for the worker to end. May be called again after the future
    /// was dropped (the worker is then still running).
    fn wait(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send;

    /// Asks it to stop after its current epoch, which it saves (SIGTERM).
    fn ask_to_stop(&mut self);

    /// Ends it now.
    fn kill(&mut self);
}

/// Starts `program args… <run folder>` as a child process.
#[derive(Debug, Clone)]
pub(super) struct ProcessLauncher {
    program: PathBuf,
    args: Vec<String>,
}

impl ProcessLauncher {
    pub(super) fn new(program: PathBuf, args: Vec<String>) -> Self {
        ProcessLauncher { program, args }
    }
}

impl Launcher for ProcessLauncher {
    type Worker = WorkerProcess;

    fn start(&self, _job: &Job, slot: &Slot, run_dir: &Path) -> io::Result<WorkerProcess> {
        // Append: a worker of another sweep may still be writing this log.
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(run_dir.join(LOG_FILE))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .arg(run_dir)
            .envs(slot.env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .process_group(0)
            .spawn()?;
        // Kept apart: the child forgets its id once it has been waited for.
        let pid = child.id();
        Ok(WorkerProcess { child, pid })
    }
}

/// A worker child process.
#[derive(Debug)]
pub(super) struct WorkerProcess {
    child: Child,
    pid: Option<u32>,
}

impl RunningWorker for WorkerProcess {
    type Output = ChildStdout;

    fn take_output(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    fn wait(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send {
        self.child.wait()
    }

    fn ask_to_stop(&mut self) {
        if let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a valid signal has no memory effects.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }

    fn kill(&mut self) {
        let _ = self.child.start_kill();
    }
}
