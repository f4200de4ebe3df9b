//! `--wait`: follows the runs of a submission (and those earlier arrays or
//! other processes hold) until each is done or nothing can change any
//! more, and reports them with the same run events a local sweep emits:
//! started when its task runs, done when its `complete.json` verifies,
//! failed when its task ended without a result.
//!
//! The store decides what is done; Slurm's states only tell queued from
//! running from ended. Polls are 2 s apart for the first five minutes, 10 s
//! after; a cluster that cannot be asked 40 times in a row ends the wait
//! (the jobs keep running).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::backend::SlurmReporter;
use super::client::{self, TaskRow};
use super::error::SlurmError;
use super::failures;
use super::view::{Rows, by_task};
use crate::events::SlurmEvent;
use crate::hash::RunKey;
use crate::scheduler::{Progress, lease};
use crate::store::{FailureKind, LOG_FILE, RunStatus, Store};

/// How many failed polls in a row end `--wait`.
const MAX_QUERY_ERRORS: u32 = 40;

/// A run this command looks after, and where Slurm trains it.
#[derive(Debug, Clone)]
pub struct Watched {
    pub key: RunKey,
    pub label: String,
    /// `None` for a run another process is training.
    pub assignment: Option<Assignment>,
}

/// The array task that trains a run.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub job: String,
    pub task: u32,
    /// The task's output file (the worker's events).
    pub output: PathBuf,
}

/// What one `--wait` follows.
#[derive(Debug)]
pub struct Follow<'a> {
    /// The store, at its absolute path (task outputs name run folders so).
    pub store: &'a Store,
    pub experiment: &'a str,
    pub watched: &'a [Watched],
    pub jobs: &'a [String],
    pub report_job: Option<&'a str>,
}

/// Runs by where they stand, as the tally shows them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    done: usize,
    running: usize,
    queued: usize,
    ended: usize,
}

/// Where one run was last seen, so each change is reported once.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Seen {
    Waiting,
    Running { slot: usize, since: Instant },
    Ended,
    Done,
}

/// Polls until every watched run is done, or nothing can change any more
/// (no job active, no lease held).
pub fn follow(f: &Follow, reporter: &mut dyn SlurmReporter) -> Result<(), SlurmError> {
    let started = Instant::now();
    let mut errors = 0u32;
    let mut last: Option<(Counts, Instant)> = None;
    let mut seen = vec![Seen::Waiting; f.watched.len()];
    let mut slots: HashMap<(String, u32), usize> = HashMap::new();
    loop {
        let states = match client::query(f.jobs, false) {
            Ok(rows) => {
                errors = 0;
                Some(by_task(rows))
            }
            Err(e) if errors + 1 >= MAX_QUERY_ERRORS => {
                return Err(SlurmError::StoppedWaiting {
                    source: Box::new(e),
                });
            }
            Err(_) => {
                errors += 1;
                None
            }
        };
        let mut counts = Counts::default();
        let mut leased = false;
        for (i, w) in f.watched.iter().enumerate() {
            let row = match (&states, &w.assignment) {
                (Some(s), Some(a)) => s.get(&(a.job.clone(), Some(a.task))),
                _ => None,
            };
            let (now, holder) = observe(f.store, w, row, states.is_some());
            leased |= holder;
            match now {
                Seen::Done => counts.done += 1,
                Seen::Running { .. } => counts.running += 1,
                Seen::Waiting => counts.queued += 1,
                Seen::Ended => counts.ended += 1,
            }
            seen[i] = report_change(f, w, seen[i], now, row, &mut slots, reporter);
        }
        let report_active = match (&states, f.report_job) {
            (Some(s), Some(id)) => s
                .get(&(id.to_string(), None))
                .is_some_and(TaskRow::is_active),
            (None, Some(_)) => true,
            _ => false,
        };
        let any_active = states
            .as_ref()
            .is_none_or(|s| s.values().any(TaskRow::is_active));
        let changed = last
            .as_ref()
            .is_none_or(|(c, at)| *c != counts || at.elapsed() >= Duration::from_secs(60));
        if changed {
            reporter.slurm(&SlurmEvent::SlurmTally {
                experiment: f.experiment.to_string(),
                done: counts.done,
                total: f.watched.len(),
                running: counts.running,
                queued: counts.queued,
                ended: counts.ended,
                seconds: started.elapsed().as_secs_f64(),
            });
            last = Some((counts, Instant::now()));
        }
        let all_done = last
            .as_ref()
            .is_some_and(|(c, _)| c.done == f.watched.len());
        if (all_done && !report_active) || (!any_active && !leased) {
            return Ok(());
        }
        let pause = if started.elapsed() < Duration::from_secs(300) {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(10)
        };
        std::thread::sleep(pause);
    }
}

/// Where a run stands now (`Running` carries no slot yet), and whether a
/// process holds its lease.
fn observe(store: &Store, w: &Watched, row: Option<&TaskRow>, known: bool) -> (Seen, bool) {
    if store.status(&w.key) == RunStatus::Done {
        return (Seen::Done, false);
    }
    let holder = lease::holder(&store.run_dir(&w.key)).is_some();
    let running = Seen::Running {
        slot: 0,
        since: Instant::now(),
    };
    let seen = match row {
        _ if holder => running,
        Some(r) if matches!(r.state.as_str(), "RUNNING" | "COMPLETING" | "CONFIGURING") => running,
        Some(r) if r.is_active() => Seen::Waiting,
        None if !known => Seen::Waiting,
        _ => Seen::Ended,
    };
    (seen, holder)
}

/// Reports the change from `before` to `now` as a run event and returns
/// what to remember.
fn report_change(
    f: &Follow,
    w: &Watched,
    before: Seen,
    now: Seen,
    row: Option<&TaskRow>,
    slots: &mut HashMap<(String, u32), usize>,
    reporter: &mut dyn SlurmReporter,
) -> Seen {
    let slot_of = |slots: &mut HashMap<(String, u32), usize>| {
        let id = w
            .assignment
            .as_ref()
            .map_or((w.key.as_str().to_string(), 0), |a| (a.job.clone(), a.task));
        let next = slots.len();
        *slots.entry(id).or_insert(next)
    };
    let (key, label) = (w.key.clone(), w.label.clone());
    match (before, now) {
        (Seen::Done, _) => before,
        (Seen::Running { .. }, Seen::Running { .. }) | (Seen::Ended, Seen::Ended) => before,
        (_, Seen::Running { .. }) => {
            let slot = slot_of(slots);
            let device = match (&w.assignment, row) {
                (Some(a), Some(r)) if !r.node.is_empty() => {
                    format!("slurm {}_{} on {}", a.job, a.task, r.node)
                }
                (Some(a), _) => format!("slurm {}_{}", a.job, a.task),
                (None, _) => "another process".into(),
            };
            reporter.report(&Progress::Started {
                slot,
                device,
                key,
                label,
                attempt: 1,
            });
            Seen::Running {
                slot,
                since: Instant::now(),
            }
        }
        (_, Seen::Done) => {
            match (before, &w.assignment) {
                (Seen::Running { slot, since }, Some(_)) => reporter.report(&Progress::Finished {
                    slot,
                    key,
                    label,
                    result: Ok(()),
                    seconds: since.elapsed().as_secs_f64(),
                    will_retry: false,
                }),
                (_, Some(_)) => reporter.report(&Progress::Finished {
                    slot: slot_of(slots),
                    key,
                    label,
                    result: Ok(()),
                    seconds: 0.0,
                    will_retry: false,
                }),
                (_, None) => reporter.report(&Progress::CachedByOther { key, label }),
            }
            Seen::Done
        }
        (_, Seen::Ended) => {
            let (slot, seconds) = match before {
                Seen::Running { slot, since } => (slot, since.elapsed().as_secs_f64()),
                _ => (slot_of(slots), 0.0),
            };
            let result = Err(ended_reason(f.store, w, row));
            reporter.report(&Progress::Finished {
                slot,
                key,
                label,
                result,
                seconds,
                will_retry: false,
            });
            Seen::Ended
        }
        (_, Seen::Waiting) => Seen::Waiting,
    }
}

/// Why a run's task ended without a result; a failure the worker or Slurm
/// named is recorded in the run's `failure.json`.
fn ended_reason(store: &Store, w: &Watched, row: Option<&TaskRow>) -> (FailureKind, String) {
    let Some(a) = &w.assignment else {
        return (
            FailureKind::Crashed,
            "the process training it ended without a result".into(),
        );
    };
    let Some(row) = row else {
        return (
            FailureKind::Crashed,
            format!(
                "Slurm task {}_{} is no longer known to Slurm",
                a.job, a.task
            ),
        );
    };
    if let Some(failure) = failures::record(store, &w.key, row, &a.output) {
        return (failure.kind, failure.message);
    }
    match failures::ended_failure(row, &a.output, &store.run_dir(&w.key)) {
        Some(named) => named,
        None => (
            FailureKind::Interrupted,
            format!(
                "Slurm task {} ended {} without a result; pending again",
                row.id(),
                row.state
            ),
        ),
    }
}

/// One line on a run that did not finish: its Slurm state and, when the
/// worker said why, its reason.
pub fn describe_failure(store: &Store, w: &Watched, rows: &Rows) -> String {
    let dir = store.run_dir(&w.key);
    let log = dir.join(LOG_FILE);
    let Some(a) = &w.assignment else {
        return format!(
            "was being trained by another process (log: {})",
            log.display()
        );
    };
    let state = rows.get(&(a.job.clone(), Some(a.task))).map_or(
        "no longer known to Slurm".to_string(),
        |r| {
            if r.reason.is_empty() || r.reason == "None" {
                r.state.clone()
            } else {
                format!("{} ({})", r.state, r.reason)
            }
        },
    );
    let why = failures::last_failure(&a.output, &dir)
        .map(|(kind, msg)| format!(": {kind}: {msg}"))
        .unwrap_or_default();
    format!(
        "Slurm task {}_{} {state}{why} (log: {}; task output: {})",
        a.job,
        a.task,
        log.display(),
        a.output.display()
    )
}
