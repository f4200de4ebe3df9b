//! The runs a results folder holds, as their own `spec.json` records them,
//! and what a plan learns from them when its data cannot say.
//!
//! A run's key needs its dataset's fingerprint (the sha256 of the `.npz`),
//! so without the data a plan has no keys and a report no numbers. But every
//! run folder keeps the inputs its key was hashed from. [`resolve`] uses
//! them in two ways:
//!
//! * **No data:** a planned run whose data cannot be read takes the key of
//!   the finished run whose recorded run spec is the same (with this
//!   trainer and cache version), so a results folder copied to a laptop
//!   reports exactly as on the machine that trained it.
//! * **Changed data:** a planned run whose data *is* present but gives a new
//!   key, where a run with the same spec finished on other data (or other
//!   pretrained weights), is stale, and says what changed (in the words of
//!   [`crate::explain`]).
//!
//! When several finished runs have the same spec (the data changed between
//! two sweeps), the one whose key the caller prefers (the recorded plan
//! being reported) wins, then the most recently finished.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::PathBuf;
use std::time::SystemTime;

use serde_json::Value;

use crate::explain::{self, Difference};
use crate::hash::{CACHE_VERSION, KeyInput, RunKey, TRAINER_VERSION};
use crate::plan::{Plan, PlanStatus};
use crate::run_spec::RunSpec;
use crate::store::{COMPLETE_FILE, RunStatus, SPEC_FILE, Store};
use crate::train_options::Pretrained;
use sweep_data::weights::catalog;

/// One run folder with a readable `spec.json`.
#[derive(Debug, Clone)]
pub struct RunFolder {
    pub key: RunKey,
    pub dir: PathBuf,
    /// `spec.json`'s `input`, as written (any version of sweep).
    pub input: Value,
    /// The same, when it is an input of this version of sweep.
    pub typed: Option<KeyInput>,
    /// Names of the experiments that asked for the run.
    pub experiments: Vec<String>,
    pub status: RunStatus,
    /// When `complete.json` was written (finished runs).
    pub finished_at: Option<SystemTime>,
}

impl RunFolder {
    pub fn is_done(&self) -> bool {
        self.status == RunStatus::Done
    }

    /// Whether its inputs are of this trainer and cache version.
    fn is_current(&self) -> bool {
        self.typed.as_ref().is_some_and(|t| {
            t.trainer_version == TRAINER_VERSION && t.cache_version == CACHE_VERSION
        })
    }
}

/// Every run folder of a results folder.
#[derive(Debug, Default)]
pub struct RunFolders {
    folders: Vec<RunFolder>,
    /// Current-version folders by the canonical JSON of their run spec.
    by_spec: HashMap<String, Vec<usize>>,
}

/// The canonical text of a run spec (sorted keys), for matching.
fn spec_text(run: &Value) -> String {
    run.to_string()
}

impl RunFolders {
    /// Reads every `results/<key>/spec.json`; folders without a readable
    /// one (not runs, or runs from a damaged copy) are left out.
    pub fn scan(store: &Store) -> RunFolders {
        let Ok(entries) = fs::read_dir(store.root()) else {
            return RunFolders::default();
        };
        let mut folders: Vec<RunFolder> = entries
            .filter_map(Result::ok)
            .filter_map(|e| RunKey::parse(&e.file_name().to_string_lossy()))
            .filter_map(|key| read_folder(store, key))
            .collect();
        folders.sort_by(|a, b| a.key.cmp(&b.key));
        let mut by_spec: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, f) in folders.iter().enumerate().filter(|(_, f)| f.is_current()) {
            if let Some(run) = f.input.get("run") {
                by_spec.entry(spec_text(run)).or_default().push(i);
            }
        }
        RunFolders { folders, by_spec }
    }

    pub fn folders(&self) -> &[RunFolder] {
        &self.folders
    }

    /// The folders whose key starts with `prefix`.
    pub fn with_prefix(&self, prefix: &str) -> Vec<&RunFolder> {
        self.folders
            .iter()
            .filter(|f| f.key.as_str().starts_with(prefix))
            .collect()
    }

    /// Current-version folders of the run spec `run` (as JSON), preferred
    /// keys first, then the most recently finished.
    fn same_spec(&self, run: &Value, prefer: &HashSet<RunKey>) -> Vec<&RunFolder> {
        let mut found: Vec<&RunFolder> = self
            .by_spec
            .get(&spec_text(run))
            .map_or_else(Vec::new, |ix| {
                ix.iter().map(|&i| &self.folders[i]).collect()
            });
        found.sort_by_key(|f| (!prefer.contains(&f.key), std::cmp::Reverse(f.finished_at)));
        found
    }
}

fn read_folder(store: &Store, key: RunKey) -> Option<RunFolder> {
    let dir = store.run_dir(&key);
    let spec: Value = serde_json::from_slice(&fs::read(dir.join(SPEC_FILE)).ok()?).ok()?;
    let input = spec.get("input")?.clone();
    let typed = serde_json::from_value::<KeyInput>(input.clone())
        .ok()
        .filter(|t| t.key() == key);
    let experiments = spec
        .get("experiments")
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |names| {
            names
                .iter()
                .filter_map(|n| Some(n.as_str()?.to_string()))
                .collect()
        });
    let status = store.status(&key);
    let finished_at = (status == RunStatus::Done)
        .then(|| fs::metadata(dir.join(COMPLETE_FILE)).ok()?.modified().ok())
        .flatten();
    Some(RunFolder {
        key,
        dir,
        input,
        typed,
        experiments,
        status,
        finished_at,
    })
}

/// Which recorded runs a planned run without data may stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adopt {
    /// Only finished runs (`sweep run`: a failed run adopted without its
    /// data would be retried, and fail for want of it).
    Finished,
    /// Finished and failed runs (reports, plans and status show the
    /// failure as they would with the data).
    FinishedOrFailed,
}

/// Fills in the keys of the runs whose data is missing from the folders
/// that ran them, and marks runs whose data changed since they finished as
/// stale (see the module doc). `prefer`: keys to choose first among runs of
/// the same spec. Reads the results folder only when some run is without
/// data or not done.
pub fn resolve(plan: &mut Plan, store: &Store, adopt: Adopt, prefer: &HashSet<RunKey>) {
    let needs_look = plan
        .runs
        .iter()
        .any(|r| !matches!(r.status, PlanStatus::Store(RunStatus::Done)));
    if !needs_look {
        return;
    }
    let folders = RunFolders::scan(store);
    if folders.folders.is_empty() {
        return;
    }
    for run in &mut plan.runs {
        let mut spec = run.spec.clone();
        if run.input.is_none() {
            name_weights(&mut spec);
        }
        let run_json = serde_json::to_value(&spec).unwrap_or(Value::Null);
        match &run.status {
            PlanStatus::MissingData(_) => {
                let usable = |f: &&RunFolder| match adopt {
                    Adopt::Finished => f.is_done(),
                    Adopt::FinishedOrFailed => {
                        f.is_done() || matches!(f.status, RunStatus::Failed(_))
                    }
                };
                let found = folders.same_spec(&run_json, prefer);
                if let Some(f) = found.into_iter().find(usable)
                    && let Some(typed) = f.typed.clone()
                {
                    run.spec = typed.run.clone();
                    run.input = Some(typed);
                    run.key = Some(f.key.clone());
                    run.status = PlanStatus::Store(f.status.clone());
                }
            }
            PlanStatus::Store(RunStatus::Pending) => {
                let Some(input) = &run.input else { continue };
                let found = folders.same_spec(&run_json, prefer);
                if let Some(f) = found.into_iter().find(|f| f.is_done()) {
                    let diff = explain::differences(&f.input, &explain::input_json(input), true);
                    run.status = PlanStatus::Store(RunStatus::Stale(changed_since(&f.key, &diff)));
                }
            }
            _ => {}
        }
    }
    let mut seen = HashSet::new();
    let before = plan.runs.len();
    plan.runs
        .retain(|r| r.key.as_ref().is_none_or(|k| seen.insert(k.clone())));
    plan.duplicates += before - plan.runs.len();
}

/// Names the catalogue weights `imagenet` stands for, as planning does when
/// the weights are in the cache (the name needs only the catalogue), so a
/// run without its weights still matches the folder that ran with them.
fn name_weights(spec: &mut RunSpec) {
    let Some(name) = spec
        .train
        .pretrained
        .as_ref()
        .and_then(Pretrained::weights_name)
    else {
        return;
    };
    if let Ok(entries) = catalog::from_env()
        && let Ok(entry) = catalog::resolve(&entries, name, &spec.arch)
    {
        spec.train.pretrained = Some(Pretrained::Weights {
            weights: entry.name.clone(),
        });
    }
}

/// "changed since a1b2c3d4e5f6 finished: data breastmnist.npz sha256 changed (…)".
fn changed_since(key: &RunKey, diff: &[Difference]) -> String {
    let reasons: Vec<String> = diff.iter().map(ToString::to_string).collect();
    format!(
        "changed since {} finished: {}",
        key.short(),
        reasons.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlannedRun;
    use crate::store::{FailureKind, METRICS_FILE, SpecFile, write_atomic};
    use crate::train_options::{ClassWeighting, Folds, PosWeight, TrainOptions};

    fn spec(seed: u64) -> RunSpec {
        RunSpec {
            dataset: "breastmnist".into(),
            arch: "small_cnn".into(),
            lr: 1e-3,
            class_weighting: ClassWeighting::None,
            pos_weight: PosWeight::None,
            folds: Folds::None,
            fold: None,
            seed,
            train: TrainOptions::default(),
            image_folder: None,
            worker: None,
        }
    }

    /// A run folder of `seed` on data `print`, finished or failed.
    fn folder(store: &Store, seed: u64, print: &str, finished: bool) -> RunKey {
        let input = KeyInput::new(spec(seed), print.repeat(64));
        let key = input.key();
        let dir = store
            .prepare(&SpecFile {
                key: key.clone(),
                input,
                data_file: None,
                experiments: vec!["x".into()],
                label: None,
                workdir: None,
            })
            .unwrap();
        if finished {
            write_atomic(&dir.join(METRICS_FILE), b"{}").unwrap();
            Store::complete(&dir, &key, &[METRICS_FILE]).unwrap();
        } else {
            Store::fail(&dir, FailureKind::Diverged, "loss is NaN").unwrap();
        }
        key
    }

    fn no_data(seed: u64) -> PlannedRun {
        PlannedRun {
            spec: spec(seed),
            input: None,
            key: None,
            data_file: None,
            status: PlanStatus::MissingData("breastmnist.npz not found".into()),
        }
    }

    fn with_data(store: &Store, seed: u64, print: &str) -> PlannedRun {
        let input = KeyInput::new(spec(seed), print.repeat(64));
        let key = input.key();
        PlannedRun {
            spec: spec(seed),
            status: PlanStatus::Store(store.status(&key)),
            input: Some(input),
            key: Some(key),
            data_file: None,
        }
    }

    fn plan(runs: Vec<PlannedRun>) -> Plan {
        Plan {
            experiment: "x".into(),
            data_root: PathBuf::from("/absent"),
            runs,
            duplicates: 0,
        }
    }

    #[test]
    fn runs_without_data_take_the_keys_their_folders_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let done = folder(&store, 0, "a", true);
        let failed = folder(&store, 1, "a", false);
        let none = HashSet::new();

        let mut p = plan(vec![no_data(0), no_data(1), no_data(2)]);
        resolve(&mut p, &store, Adopt::FinishedOrFailed, &none);
        assert_eq!(p.runs[0].key.as_ref(), Some(&done));
        assert_eq!(p.runs[0].status, PlanStatus::Store(RunStatus::Done));
        assert_eq!(p.runs[1].key.as_ref(), Some(&failed));
        assert_eq!(p.runs[1].status.label(), "failed");
        assert_eq!(p.runs[2].status.label(), "no-data", "never ran");

        // `sweep run` adopts only finished runs.
        let mut p = plan(vec![no_data(0), no_data(1)]);
        resolve(&mut p, &store, Adopt::Finished, &none);
        assert_eq!(p.runs[0].key.as_ref(), Some(&done));
        assert_eq!(p.runs[1].status.label(), "no-data");
    }

    #[test]
    fn of_two_runs_on_different_data_the_preferred_then_the_newest_is_taken() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let old = folder(&store, 0, "a", true);
        let new = folder(&store, 0, "b", true);
        // The first finished long ago.
        fs::File::options()
            .write(true)
            .open(store.run_dir(&old).join(COMPLETE_FILE))
            .unwrap()
            .set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
            .unwrap();
        let mut p = plan(vec![no_data(0)]);
        resolve(&mut p, &store, Adopt::FinishedOrFailed, &HashSet::new());
        assert_eq!(p.runs[0].key.as_ref(), Some(&new));
        let mut p = plan(vec![no_data(0)]);
        resolve(
            &mut p,
            &store,
            Adopt::FinishedOrFailed,
            &HashSet::from([old.clone()]),
        );
        assert_eq!(p.runs[0].key.as_ref(), Some(&old));
    }

    #[test]
    fn a_run_whose_data_changed_since_it_finished_is_stale_and_says_why() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let done = folder(&store, 0, "a", true);
        let mut p = plan(vec![with_data(&store, 0, "b"), with_data(&store, 1, "b")]);
        resolve(&mut p, &store, Adopt::FinishedOrFailed, &HashSet::new());
        assert_eq!(
            p.runs[0].status,
            PlanStatus::Store(RunStatus::Stale(format!(
                "changed since {} finished: data breastmnist.npz sha256 changed (aaaaaaaa → bbbbbbbb)",
                done.short()
            )))
        );
        assert_eq!(p.runs[1].status.label(), "pending", "nothing ran it");
        // Unchanged data: done, as always.
        let mut p = plan(vec![with_data(&store, 0, "a")]);
        resolve(&mut p, &store, Adopt::FinishedOrFailed, &HashSet::new());
        assert!(p.runs[0].status.is_done());
    }
}
