//! A failed array task leaves the same `failure.json` in its run folder as a
//! failed local worker, so `sweep status` lists it as failed and
//! `sweep run` skips it unless `--retry-failed`, whichever backend trained it.
//!
//! Nobody on the cluster writes it: the worker only prints its `failed`
//! event into the task's output file. The commands that look at Slurm
//! (`sweep run --backend slurm`, its `--wait`, `sweep status`) record it as
//! soon as they see the task ended, from that event, or from the Slurm
//! state when the worker could not say (time limit, out of memory, a
//! signal). A task that was cancelled, preempted or requeued, or whose
//! worker stopped on request, is not a failure: its run stays pending, as
//! an interrupted local run does. Each task's failure is recorded once.

use std::fs;
use std::path::Path;

use super::client::TaskRow;
use super::script::RUN_MARKER;
use crate::hash::RunKey;
use crate::protocol::events::WorkerEvent;
use crate::protocol::lease;
use crate::store::{Failure, FailureKind, RunStatus, Store};

/// The last `failed` event the worker of `run_dir` printed into a task's
/// output file.
pub fn last_failure(output: &Path, run_dir: &Path) -> Option<(FailureKind, String)> {
    let text = fs::read_to_string(output).ok()?;
    let marker = format!("{RUN_MARKER}{}", run_dir.display());
    let mut inside = false;
    let mut found = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(RUN_MARKER) {
            inside = format!("{RUN_MARKER}{rest}") == marker;
            continue;
        }
        if inside && let Some(WorkerEvent::Failed { kind, message }) = WorkerEvent::from_line(line)
        {
            found = Some((kind, message));
        }
    }
    found
}

/// Why the run in `run_dir` of an ended task failed, if it did: the
/// worker's own word, else what Slurm's state says. `None` for an active
/// task and for endings that are not the run's fault.
pub fn ended_failure(
    row: &TaskRow,
    output: &Path,
    run_dir: &Path,
) -> Option<(FailureKind, String)> {
    if row.is_active() {
        return None;
    }
    if let Some((kind, message)) = last_failure(output, run_dir) {
        return (kind != FailureKind::Interrupted).then_some((kind, message));
    }
    match row.state.as_str() {
        "TIMEOUT" => Some((
            FailureKind::Timeout,
            "killed at the array task's time limit (--time)".into(),
        )),
        "OUT_OF_MEMORY" => Some((
            FailureKind::Oom,
            "the array task ran out of memory (--mem)".into(),
        )),
        "FAILED" if row.reason.starts_with("RaisedSignal") => Some((
            FailureKind::Crashed,
            format!("the worker was killed ({})", row.reason),
        )),
        _ => None,
    }
}

/// Records in `failure.json` of `key`'s run folder that array task
/// `row` ended without training it. Returns the failure when it was newly
/// recorded; `None` when the run is done, trained again by someone, ended
/// without a failure, or this task's failure is on record already.
pub fn record(store: &Store, key: &RunKey, row: &TaskRow, output: &Path) -> Option<Failure> {
    let dir = store.run_dir(key);
    let (kind, message) = ended_failure(row, output, &dir)?;
    let task = format!("(Slurm task {})", row.id());
    match store.status(key) {
        RunStatus::Done => return None,
        RunStatus::Failed(f) if f.message.ends_with(&task) => return None,
        _ => {}
    }
    if lease::holder(&dir).is_some() {
        return None;
    }
    // Best effort, as for local runs: the caller reports the failure either way.
    Store::fail(&dir, kind, &format!("{message} {task}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, reason: &str) -> TaskRow {
        TaskRow {
            job: "5".into(),
            task: Some(0),
            state: state.into(),
            reason: reason.into(),
            node: "n1".into(),
        }
    }

    fn failed(kind: FailureKind, m: &str) -> String {
        WorkerEvent::Failed {
            kind,
            message: m.into(),
        }
        .to_line()
    }

    #[test]
    fn the_failure_of_the_right_run_is_found_in_a_shared_output() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("task.out");
        fs::write(
            &out,
            format!(
                "sweep-slurm: task 5_0 on n1 CUDA_VISIBLE_DEVICES= runs=2\n\
                 {RUN_MARKER}/r/aa\n{}\nsweep-slurm: worker exit 1\n\
                 {RUN_MARKER}/r/aab\n{}\n",
                failed(FailureKind::Diverged, "loss is NaN at epoch 2"),
                failed(FailureKind::Diverged, "other run")
            ),
        )
        .unwrap();
        assert_eq!(
            last_failure(&out, Path::new("/r/aa")),
            Some((FailureKind::Diverged, "loss is NaN at epoch 2".into()))
        );
        assert_eq!(
            last_failure(&out, Path::new("/r/aab")).unwrap().1,
            "other run"
        );
        assert_eq!(last_failure(&out, Path::new("/r/x")), None);
    }

    #[test]
    fn only_endings_that_are_the_runs_fault_are_failures() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("task.out");
        let dir = Path::new("/r/aa");
        let none = tmp.path().join("missing.out");
        assert_eq!(ended_failure(&row("RUNNING", "None"), &none, dir), None);
        assert_eq!(ended_failure(&row("CANCELLED", ""), &none, dir), None);
        assert_eq!(ended_failure(&row("PREEMPTED", ""), &none, dir), None);
        assert_eq!(
            ended_failure(&row("TIMEOUT", ""), &none, dir).unwrap().0,
            FailureKind::Timeout
        );
        assert_eq!(
            ended_failure(&row("FAILED", "RaisedSignal:6(Aborted)"), &none, dir)
                .unwrap()
                .0,
            FailureKind::Crashed
        );
        // A worker that stopped on request (requeue, preemption) resumes later.
        fs::write(
            &out,
            format!(
                "{RUN_MARKER}/r/aa\n{}\n",
                failed(FailureKind::Interrupted, "stopped")
            ),
        )
        .unwrap();
        assert_eq!(
            ended_failure(&row("FAILED", "NonZeroExitCode"), &out, dir),
            None
        );
    }

    #[test]
    fn a_tasks_failure_is_recorded_once() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("results"));
        let key = RunKey::parse(&"a".repeat(64)).unwrap();
        let dir = store.run_dir(&key);
        fs::create_dir_all(&dir).unwrap();
        let out = tmp.path().join("task.out");
        fs::write(
            &out,
            format!(
                "{RUN_MARKER}{}\n{}\n",
                dir.display(),
                failed(FailureKind::Diverged, "loss is NaN at epoch 2")
            ),
        )
        .unwrap();
        let ended = row("FAILED", "NonZeroExitCode");
        let first = record(&store, &key, &ended, &out).expect("recorded");
        assert_eq!(first.kind, FailureKind::Diverged);
        assert_eq!(first.message, "loss is NaN at epoch 2 (Slurm task 5_0)");
        assert_eq!(record(&store, &key, &ended, &out), None, "not twice");
        match store.status(&key) {
            RunStatus::Failed(f) => assert_eq!(f.attempts, 1),
            other => panic!("{other:?}"),
        }
        // Another task of a later submission is a new attempt.
        let later = TaskRow {
            job: "6".into(),
            ..ended
        };
        assert_eq!(record(&store, &key, &later, &out).unwrap().attempts, 2);
    }
}
