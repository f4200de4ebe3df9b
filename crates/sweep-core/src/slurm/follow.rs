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
use crate::hash::RunKey;
use crate::protocol::events::SlurmEvent;
use crate::protocol::lease;
use crate::scheduler::Progress;
use crate::store::{FailureKind, LOG_FILE, RunStatus, Store};

/// How many failed polls in a row end `--wait`.
const MAX_QUERY_ERRORS: u32 = 40;

/// How many polls in a row must find no job active and no lease held before
/// `--wait` concludes that nothing can change any more. A requeued task
/// (`scontrol requeue`, preemption) is briefly neither: its worker has
/// stopped and let go of its lease while Slurm still shows the ended
/// attempt, before the task is pending again. One poll could end the wait
/// in that gap with the run unfinished.
const QUIET_POLLS_TO_END: u32 = 3;

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
    let mut tracker = Tracker::new(f.watched.len());
    let mut quiet_polls = 0u32;
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
            tracker.update(f, i, now, row, reporter);
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
        quiet_polls = if !any_active && !leased {
            quiet_polls + 1
        } else {
            0
        };
        if (all_done && !report_active) || quiet_polls >= QUIET_POLLS_TO_END {
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

/// What `--wait` remembers between polls: where each run was last seen,
/// how often it started, and the slot number each task is shown under.
#[derive(Debug)]
struct Tracker {
    seen: Vec<Seen>,
    starts: Vec<u32>,
    slots: HashMap<(String, u32), usize>,
}

impl Tracker {
    fn new(runs: usize) -> Self {
        Tracker {
            seen: vec![Seen::Waiting; runs],
            starts: vec![0; runs],
            slots: HashMap::new(),
        }
    }

    /// The slot of a run's task (one per task, numbered as first seen).
    fn slot(&mut self, w: &Watched) -> usize {
        let id = w
            .assignment
            .as_ref()
            .map_or((w.key.as_str().to_string(), 0), |a| (a.job.clone(), a.task));
        let next = self.slots.len();
        *self.slots.entry(id).or_insert(next)
    }

    /// Reports the change of run `i` to `now` as a run event, once.
    fn update(
        &mut self,
        f: &Follow,
        i: usize,
        now: Seen,
        row: Option<&TaskRow>,
        reporter: &mut dyn SlurmReporter,
    ) {
        let w = &f.watched[i];
        let before = self.seen[i];
        let (key, label) = (w.key.clone(), w.label.clone());
        self.seen[i] = match (before, now) {
            (Seen::Done, _) => before,
            (Seen::Running { .. }, Seen::Running { .. }) | (Seen::Ended, Seen::Ended) => before,
            (_, Seen::Running { .. }) => {
                // A requeued task starts again: a new attempt.
                self.starts[i] += 1;
                let slot = self.slot(w);
                reporter.report(&Progress::Started {
                    slot,
                    device: device(w, row),
                    key,
                    label,
                    attempt: self.starts[i],
                });
                Seen::Running {
                    slot,
                    since: Instant::now(),
                }
            }
            (_, Seen::Done) if w.assignment.is_none() => {
                reporter.report(&Progress::CachedByOther { key, label });
                Seen::Done
            }
            (_, Seen::Done | Seen::Ended) => {
                let (slot, seconds) = match before {
                    Seen::Running { slot, since } => (slot, since.elapsed().as_secs_f64()),
                    _ => (self.slot(w), 0.0),
                };
                let result = match now {
                    Seen::Done => Ok(()),
                    _ => Err(ended_reason(f.store, w, row)),
                };
                reporter.report(&Progress::Finished {
                    slot,
                    key,
                    label,
                    result,
                    seconds,
                    will_retry: false,
                });
                now
            }
            (_, Seen::Waiting) => Seen::Waiting,
        };
    }
}

/// Where a run trains, as the run events name it.
fn device(w: &Watched, row: Option<&TaskRow>) -> String {
    match (&w.assignment, row) {
        (Some(a), Some(r)) if !r.node.is_empty() => {
            format!("slurm {}_{} on {}", a.job, a.task, r.node)
        }
        (Some(a), _) => format!("slurm {}_{}", a.job, a.task),
        (None, _) => "another process".into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::SlurmEvent;
    use crate::scheduler::Reporter;

    /// Keeps each run event as `kind slot attempt-or-result`.
    #[derive(Default)]
    struct Recorded(Vec<String>);

    impl Reporter for Recorded {
        fn report(&mut self, p: &Progress) {
            self.0.push(match p {
                Progress::Started { slot, attempt, .. } => format!("started {slot} {attempt}"),
                Progress::Finished { slot, result, .. } => match result {
                    Ok(()) => format!("done {slot}"),
                    Err((kind, message)) => format!("failed {slot} {kind}: {message}"),
                },
                Progress::CachedByOther { .. } => "cached".into(),
                other => format!("{other:?}"),
            });
        }
    }

    impl SlurmReporter for Recorded {
        fn slurm(&mut self, _: &SlurmEvent) {}
    }

    fn running() -> Seen {
        Seen::Running {
            slot: 0,
            since: Instant::now(),
        }
    }

    fn row(state: &str) -> TaskRow {
        TaskRow {
            job: "7".into(),
            task: Some(1),
            state: state.into(),
            reason: String::new(),
            node: "n1".into(),
        }
    }

    fn watched(store: &Store, assigned: bool) -> Vec<Watched> {
        vec![Watched {
            key: RunKey::parse(&"c".repeat(64)).unwrap(),
            label: "r".into(),
            assignment: assigned.then(|| Assignment {
                job: "7".into(),
                task: 1,
                output: store.root().join("task-7_1.out"),
            }),
        }]
    }

    fn replay(
        store: &Store,
        watched: &[Watched],
        steps: &[(Seen, Option<TaskRow>)],
    ) -> Vec<String> {
        let f = Follow {
            store,
            experiment: "e",
            watched,
            jobs: &[],
            report_job: None,
        };
        let mut tracker = Tracker::new(watched.len());
        let mut seen = Recorded::default();
        for (now, row) in steps {
            tracker.update(&f, 0, *now, row.as_ref(), &mut seen);
        }
        seen.0
    }

    #[test]
    fn a_requeued_task_starts_a_second_attempt_and_finishes_once() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let w = watched(&store, true);
        let events = replay(
            &store,
            &w,
            &[
                (Seen::Waiting, Some(row("PENDING"))),
                (running(), Some(row("RUNNING"))),
                (running(), Some(row("RUNNING"))),
                (Seen::Waiting, Some(row("PENDING"))),
                (running(), Some(row("RUNNING"))),
                (Seen::Done, Some(row("COMPLETED"))),
                (Seen::Done, Some(row("COMPLETED"))),
            ],
        );
        assert_eq!(events, ["started 0 1", "started 0 2", "done 0"]);
    }

    #[test]
    fn a_cancelled_task_is_reported_once_and_not_recorded_as_a_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let w = watched(&store, true);
        let events = replay(
            &store,
            &w,
            &[
                (running(), Some(row("RUNNING"))),
                (Seen::Ended, Some(row("CANCELLED"))),
                (Seen::Ended, Some(row("CANCELLED"))),
            ],
        );
        assert_eq!(
            events,
            [
                "started 0 1",
                "failed 0 interrupted: Slurm task 7_1 ended CANCELLED without a result; pending again"
            ]
        );
        assert_eq!(store.status(&w[0].key), RunStatus::Pending);
        // A run another process finished counts as cached.
        let other = watched(&store, false);
        assert_eq!(replay(&store, &other, &[(Seen::Done, None)]), ["cached"]);
    }
}
