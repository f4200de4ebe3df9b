//! What a worker tells the orchestrator, one JSON object per stdout line.
//!
//! The worker (trainer) and the orchestrator live in different processes so a
//! crash in one run cannot take the sweep down; this enum is their whole
//! protocol. Human progress bars, plain log lines and `--json` output are
//! all rendered from these events.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::store::FailureKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// Data loaded and model built; training is about to start.
    Started {
        key: String,
        device: String,
        params: u64,
        train_samples: usize,
        val_samples: usize,
        epochs: u32,
    },
    /// One epoch finished.
    Epoch {
        epoch: u32,
        epochs: u32,
        lr: f64,
        train_loss: f64,
        val_loss: f64,
        /// The checkpoint metric's value this epoch (e.g. val_auc).
        monitor: f64,
        monitor_name: String,
        seconds: f64,
    },
    /// Training ended (all epochs, or early stopping) and results were written.
    Finished {
        best_epoch: u32,
        stopped_early: bool,
        test_auc: Option<f64>,
        test_accuracy: f64,
        seconds: f64,
    },
    /// The run failed; the worker exits non-zero right after.
    Failed { kind: FailureKind, message: String },
}

impl WorkerEvent {
    /// One line of JSON (no trailing newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("events always serialise")
    }

    /// Parses a stdout line; other lines (library chatter) give `None`.
    pub fn from_line(line: &str) -> Option<WorkerEvent> {
        serde_json::from_str(line.trim()).ok()
    }
}

/// What `sweep run --backend slurm` reports besides the run events every
/// backend shares (the scheduler's `Progress`): the things only a cluster
/// has, such as the array job id and the tasks' queue states. Reporters
/// render these next to the run events; `--json` prints them as they are.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SlurmEvent {
    /// How the runs asked for split, before anything is submitted.
    SlurmPlanned {
        experiment: String,
        total: usize,
        cached: usize,
        /// Runs this submission hands to Slurm.
        to_submit: usize,
        tasks: usize,
        runs_per_task: usize,
        /// Runs an earlier array still holds (queued or running).
        queued_earlier: usize,
        /// Runs another process is training.
        leased: usize,
        skipped: Vec<SkippedRun>,
        results: PathBuf,
    },
    /// Earlier arrays could not be looked up, so every pending run is
    /// submitted.
    SlurmEarlierUnknown { message: String },
    /// `sbatch` accepted the array.
    SlurmSubmitted {
        job: String,
        array: String,
        runs: usize,
        /// The submission folder: batch script, run list, task output.
        dir: PathBuf,
        /// The arguments naming this plan to `sweep status` and `sweep cancel`.
        plan_args: String,
        /// The `--dependency-report` job and the file it writes.
        report_job: Option<String>,
        report_file: Option<PathBuf>,
    },
    /// The array went in but its report job did not.
    SlurmReportNotSubmitted { message: String },
    /// Without `--wait` and nothing new to submit.
    SlurmNothingToSubmit {
        experiment: String,
        total: usize,
        done: usize,
        /// Runs queued in earlier arrays or trained by another process.
        in_progress: usize,
        plan_args: String,
        skipped: Vec<SkippedRun>,
    },
    /// `--wait` starts following these jobs (and runs leased elsewhere).
    SlurmWaiting { jobs: Vec<String>, leased: usize },
    /// `--wait`: where the followed runs stand (sent when it changes, and
    /// at least once a minute).
    SlurmTally {
        experiment: String,
        done: usize,
        total: usize,
        running: usize,
        queued: usize,
        ended: usize,
        seconds: f64,
    },
    /// `--wait` ended: the final word, read from the store.
    SlurmFinished {
        experiment: String,
        total: usize,
        done: usize,
        trained: usize,
        cached: usize,
        failed: Vec<SkippedRun>,
        skipped: Vec<SkippedRun>,
        seconds: f64,
        /// The report file, and whether the report job wrote it.
        report: Option<(PathBuf, bool)>,
    },
}

/// A run that did not train, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRun {
    /// `<short key> <label>`, or the label alone for a run without a key.
    pub run: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_noise() {
        let e = WorkerEvent::Failed {
            kind: FailureKind::Diverged,
            message: "loss is NaN".into(),
        };
        let line = e.to_line();
        assert!(line.contains("\"event\":\"failed\""), "{line}");
        assert!(line.contains("\"kind\":\"diverged\""), "{line}");
        assert_eq!(WorkerEvent::from_line(&line), Some(e));
        assert_eq!(WorkerEvent::from_line("[W init] some warning"), None);
    }
}
