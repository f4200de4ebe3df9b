//! One attempt of one run: a started worker followed to its end, then
//! judged.
//!
//! While the worker runs, its event lines are passed to the loop and a
//! failure it reports is remembered; the `--timeout` deadline is kept; and
//! the loop's stop requests after Ctrl-C are passed on: the first asks the
//! worker to stop after its current epoch, the second kills it. When it has
//! ended, [`AttemptExit::verdict`] says what the attempt amounted to.

use std::io;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, watch};

use super::job::QueuedJob;
use super::launcher::RunningWorker;
use super::slots::Slot;
use crate::hash::RunKey;
use crate::protocol::events::WorkerEvent;
use crate::protocol::exit::{BUSY_EXIT_CODE, INTERRUPTED_EXIT_CODE, describe_exit};
use crate::store::{FailureKind, RunStatus, Store};

/// What running workers are told after Ctrl-C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StopRequest {
    KeepRunning,
    /// Stop after the current epoch (the first Ctrl-C).
    AfterEpoch,
    /// Stop now (the second).
    Kill,
}

/// An event line of the worker in `slot`.
#[derive(Debug)]
pub(super) struct WorkerLine {
    pub slot: usize,
    pub key: RunKey,
    pub event: WorkerEvent,
}

/// Who ended the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EndedBy {
    /// It exited (or could not start).
    Itself,
    /// It ran past `--timeout` and was killed.
    Timeout,
    /// It was killed after a second Ctrl-C.
    Kill,
}

/// A failure the worker reported on its way out.
#[derive(Debug, Clone)]
pub(super) struct ReportedFailure {
    pub kind: FailureKind,
    pub message: String,
}

/// An attempt under way.
#[derive(Debug)]
pub(super) struct Attempt {
    pub slot: Slot,
    pub queued: QueuedJob,
    pub started: Instant,
}

/// An attempt that has ended.
#[derive(Debug)]
pub(super) struct AttemptExit {
    pub slot: Slot,
    pub queued: QueuedJob,
    /// The worker's exit status, or why it could not be started.
    pub status: io::Result<ExitStatus>,
    pub ended_by: EndedBy,
    pub reported: Option<ReportedFailure>,
    pub seconds: f64,
}

/// What an ended attempt amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Another process held the run's lease: wait for it.
    LeaseBusy,
    /// Stopped on request (Ctrl-C): neither done nor failed.
    Stopped,
    /// Trained, and the run folder verifies as complete.
    Done,
    Failed {
        kind: FailureKind,
        message: String,
    },
}

impl Attempt {
    /// Follows `worker` (or the error that kept it from starting) to its end.
    pub(super) async fn follow<W: RunningWorker>(
        self,
        worker: io::Result<W>,
        timeout: Option<Duration>,
        lines: mpsc::UnboundedSender<WorkerLine>,
        stop: watch::Receiver<StopRequest>,
    ) -> AttemptExit {
        let mut worker = match worker {
            Ok(worker) => worker,
            Err(e) => return self.ended(Err(e), EndedBy::Itself, None),
        };
        let output = worker.take_output();
        let reader = forward_lines(output, self.slot.id, self.queued.job.key().clone(), lines);
        let (reported, end) = tokio::join!(reader, wait_for_end(&mut worker, timeout, stop));
        self.ended(end.status, end.ended_by, reported)
    }

    fn ended(
        self,
        status: io::Result<ExitStatus>,
        ended_by: EndedBy,
        reported: Option<ReportedFailure>,
    ) -> AttemptExit {
        AttemptExit {
            seconds: self.started.elapsed().as_secs_f64(),
            slot: self.slot,
            queued: self.queued,
            status,
            ended_by,
            reported,
        }
    }
}

/// Passes the worker's event lines to the loop until its output closes;
/// returns the failure it reported, if any.
async fn forward_lines(
    output: Option<impl AsyncRead + Unpin>,
    slot: usize,
    key: RunKey,
    lines: mpsc::UnboundedSender<WorkerLine>,
) -> Option<ReportedFailure> {
    let mut reported = None;
    let Some(output) = output else {
        return reported;
    };
    let mut reader = BufReader::new(output).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        if let Some(event) = WorkerEvent::from_line(&line) {
            if let WorkerEvent::Failed { kind, message } = &event {
                reported = Some(ReportedFailure {
                    kind: *kind,
                    message: message.clone(),
                });
            }
            let _ = lines.send(WorkerLine {
                slot,
                key: key.clone(),
                event,
            });
        }
    }
    reported
}

/// How a worker's wait ended.
struct WorkerEnd {
    status: io::Result<ExitStatus>,
    ended_by: EndedBy,
}

/// Waits for the worker while keeping the deadline and passing on stop
/// requests.
async fn wait_for_end(
    worker: &mut impl RunningWorker,
    timeout: Option<Duration>,
    mut stop: watch::Receiver<StopRequest>,
) -> WorkerEnd {
    let end = |status, ended_by| WorkerEnd { status, ended_by };
    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(deadline);
    let mut asked = false;
    loop {
        tokio::select! {
            status = worker.wait() => return end(status, EndedBy::Itself),
            () = &mut deadline => {
                worker.kill();
                return end(worker.wait().await, EndedBy::Timeout);
            }
            changed = stop.changed() => {
                if changed.is_err() {
                    return end(worker.wait().await, EndedBy::Itself);
                }
                let request = *stop.borrow();
                match request {
                    StopRequest::Kill => {
                        worker.kill();
                        return end(worker.wait().await, EndedBy::Kill);
                    }
                    StopRequest::AfterEpoch if !asked => {
                        asked = true;
                        worker.ask_to_stop();
                    }
                    _ => {}
                }
            }
        }
    }
}

impl AttemptExit {
    fn code(&self) -> Option<i32> {
        self.status.as_ref().ok().and_then(ExitStatus::code)
    }

    /// What the attempt amounts to, checking the run folder in `store`
    /// before calling it done.
    pub(super) fn verdict(&self, store: &Store) -> Verdict {
        match self.code() {
            Some(BUSY_EXIT_CODE) => return Verdict::LeaseBusy,
            Some(INTERRUPTED_EXIT_CODE) => return Verdict::Stopped,
            _ => {}
        }
        let key = self.queued.job.key();
        if self.status.as_ref().is_ok_and(ExitStatus::success)
            && store.status(key) == RunStatus::Done
        {
            return Verdict::Done;
        }
        if self.ended_by == EndedBy::Kill {
            return Verdict::Stopped;
        }
        if self.ended_by == EndedBy::Timeout {
            return Verdict::Failed {
                kind: FailureKind::Timeout,
                message: format!("killed after {:.0}s (--timeout)", self.seconds),
            };
        }
        if let Some(reported) = &self.reported {
            return Verdict::Failed {
                kind: reported.kind,
                message: reported.message.clone(),
            };
        }
        let message = match &self.status {
            Ok(status) if status.success() => {
                "worker exited 0 but the run did not verify as complete".to_string()
            }
            Ok(status) => describe_exit(status, &store.run_dir(key)),
            Err(e) => format!("could not start worker: {e}"),
        };
        Verdict::Failed {
            kind: FailureKind::Crashed,
            message,
        }
    }
}
