//! Loading finished runs from the store, in parallel, without losing any.
//!
//! Every planned run comes back: either loaded, or as a [`Missing`] entry
//! saying why it has no numbers (not run yet, failed and how, interrupted,
//! dataset missing, or results that cannot be read). A corrupt
//! `metrics.json` makes that one run missing, never the whole report.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use sweep_core::plan::{PlanStatus, PlannedRun};
use sweep_core::store::{METRICS_FILE, RunStatus, Store};

/// Why a planned run has no numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Missing {
    /// `pending`, `failed`, `stale`, `no-data` or `unreadable`.
    pub status: String,
    pub reason: String,
}

/// What [`collect`] found for one run.
pub(crate) type Outcome<T> = Result<T, Missing>;

/// Loads every done run with `load(run_dir)`, in parallel, in input order.
pub(crate) fn collect<T, F>(store: &Store, runs: &[&PlannedRun], load: F) -> Vec<Outcome<T>>
where
    T: Send,
    F: Fn(&Path) -> Result<T, String> + Sync,
{
    runs.par_iter()
        .map(|run| match (&run.status, &run.key) {
            (PlanStatus::Store(RunStatus::Done), Some(key)) => {
                load(&store.run_dir(key)).map_err(|reason| Missing {
                    status: "unreadable".into(),
                    reason,
                })
            }
            (status, _) => Err(missing(status)),
        })
        .collect()
}

fn missing(status: &PlanStatus) -> Missing {
    let (status, reason) = match status {
        PlanStatus::MissingData(why) => ("no-data", why.clone()),
        PlanStatus::Store(RunStatus::Pending) => ("pending", "not run yet".to_string()),
        PlanStatus::Store(RunStatus::Stale(why)) => ("stale", why.clone()),
        PlanStatus::Store(RunStatus::Failed(f)) => (
            "failed",
            format!(
                "{}: {} ({} attempt{})",
                f.kind,
                f.message,
                f.attempts,
                if f.attempts == 1 { "" } else { "s" }
            ),
        ),
        // A done run without a key cannot happen in a plan; say so plainly.
        PlanStatus::Store(RunStatus::Done) => ("stale", "done but without a run key".to_string()),
    };
    Missing {
        status: status.to_string(),
        reason,
    }
}

/// Reads and parses `metrics.json` of a run folder.
pub(crate) fn read_metrics(dir: &Path) -> Result<Value, String> {
    let bytes = Store::read_verified(dir, METRICS_FILE).map_err(|e| format!("unreadable {e}"))?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("unreadable {METRICS_FILE}: {e}"))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(format!("unreadable {METRICS_FILE}: not a JSON object"))
    }
}

/// The folder of a planned run, when it has a key.
pub(crate) fn run_dir(store: &Store, run: &PlannedRun) -> Option<PathBuf> {
    run.key.as_ref().map(|k| store.run_dir(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use sweep_core::hash::KeyInput;
    use sweep_core::store::{FailureKind, write_atomic};

    use crate::test_support::spec;

    fn planned(store: &Store, seed: u64) -> PlannedRun {
        let s = spec(&format!(r#"{{"seed": {seed}}}"#));
        let input = KeyInput::new(s.clone(), "fp".into());
        let key = input.key();
        PlannedRun {
            status: PlanStatus::Store(store.status(&key)),
            spec: s,
            input: Some(input),
            key: Some(key),
            data_file: None,
        }
    }

    #[test]
    fn every_run_comes_back_with_a_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        // seed 0: done; seed 1: done but corrupt; seed 2: failed; seed 3: pending.
        for (seed, body) in [(0u64, "{\"params\": 5}"), (1, "{not json")] {
            let run = planned(&store, seed);
            let dir = store.run_dir(run.key.as_ref().unwrap());
            fs::create_dir_all(&dir).unwrap();
            write_atomic(&dir.join(METRICS_FILE), body.as_bytes()).unwrap();
            Store::complete(&dir, run.key.as_ref().unwrap(), &[METRICS_FILE]).unwrap();
        }
        let failed = planned(&store, 2);
        let dir = store.run_dir(failed.key.as_ref().unwrap());
        fs::create_dir_all(&dir).unwrap();
        Store::fail(&dir, FailureKind::Diverged, "loss is NaN at epoch 3").unwrap();
        let runs: Vec<PlannedRun> = (0..4).map(|s| planned(&store, s)).collect();
        let mut no_data = runs[3].clone();
        no_data.status = PlanStatus::MissingData("chestmnist.npz not found".into());
        let refs: Vec<&PlannedRun> = runs.iter().chain([&no_data]).collect();
        let out = collect(&store, &refs, read_metrics);
        assert_eq!(out.len(), 5);
        assert_eq!(out[0].as_ref().unwrap()["params"], 5);
        let m = |i: usize| out[i].as_ref().unwrap_err().clone();
        assert_eq!(m(1).status, "unreadable");
        assert!(
            m(1).reason.starts_with("unreadable metrics.json: "),
            "{:?}",
            m(1)
        );
        assert_eq!(m(2).status, "failed");
        assert_eq!(m(2).reason, "diverged: loss is NaN at epoch 3 (1 attempt)");
        assert_eq!(m(3).status, "pending");
        assert_eq!(m(4).status, "no-data");
        assert_eq!(m(4).reason, "chestmnist.npz not found");
    }

    #[test]
    fn a_metrics_file_edited_after_completion_never_reaches_a_table() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let run = planned(&store, 0);
        let dir = store.run_dir(run.key.as_ref().unwrap());
        fs::create_dir_all(&dir).unwrap();
        write_atomic(&dir.join(METRICS_FILE), b"{\"test_auc\": 0.81}").unwrap();
        Store::complete(&dir, run.key.as_ref().unwrap(), &[METRICS_FILE]).unwrap();
        // Same size, still valid JSON, different number: sizes alone cannot tell.
        fs::write(dir.join(METRICS_FILE), b"{\"test_auc\": 0.91}").unwrap();
        let run = planned(&store, 0);
        assert_eq!(run.status, PlanStatus::Store(RunStatus::Done));
        let out = collect(&store, &[&run], read_metrics);
        let missing = out[0].as_ref().unwrap_err();
        assert_eq!(missing.status, "unreadable");
        assert!(missing.reason.contains("content changed"), "{missing:?}");
    }
}
