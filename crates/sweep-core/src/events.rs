//! What a worker tells the orchestrator, one JSON object per stdout line.
//!
//! The worker (trainer) and the orchestrator live in different processes so a
//! crash in one run cannot take the sweep down; this enum is their whole
//! protocol. Human progress bars, plain log lines and `--json` output are
//! all rendered from these events.

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
