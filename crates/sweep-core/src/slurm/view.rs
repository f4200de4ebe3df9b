//! What the cluster knows about the runs of a plan, for `sweep status`,
//! `sweep cancel` and the start of every `sweep run --backend slurm`: the
//! recorded arrays that hold them and where each task stands. Looking also
//! records the failures of tasks that ended (see [`super::failures`]).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use super::client::{self, TaskRow};
use super::error::SlurmError;
use super::failures;
use super::record::{self, Submission};
use crate::hash::RunKey;
use crate::store::{FailureKind, Store};

/// Task rows by `(job, task)`.
pub type Rows = HashMap<(String, Option<u32>), TaskRow>;

/// Indexes task rows by job and task.
pub fn by_task(rows: Vec<TaskRow>) -> Rows {
    rows.into_iter()
        .map(|r| ((r.job.clone(), r.task), r))
        .collect()
}

/// Where Slurm stands on one run, for `sweep status`.
#[derive(Debug, Clone)]
pub struct RunView {
    pub job: String,
    pub task: u32,
    /// `None` when the cluster no longer knows the task.
    pub row: Option<TaskRow>,
    /// The worker's own `failed` event (kind, message), read from the task's
    /// output once the task has ended.
    pub failure: Option<(FailureKind, String)>,
}

/// One recorded array that holds runs of the plan.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job: String,
    pub submitted_at: String,
    pub dir: PathBuf,
    pub tasks: usize,
    /// Tasks by state; `UNKNOWN` for tasks the cluster no longer lists.
    pub states: BTreeMap<String, usize>,
    pub report: Option<(String, Option<String>)>,
}

/// What `sweep status` adds when runs were submitted to Slurm.
#[derive(Debug, Default)]
pub struct StatusView {
    /// The latest submission of each run key.
    pub runs: HashMap<RunKey, RunView>,
    pub jobs: Vec<JobView>,
    /// Why the states could not be learnt (no squeue, controller down).
    pub error: Option<SlurmError>,
    /// Runs whose failure this look recorded in their `failure.json`:
    /// their store status changed since the plan was made.
    pub recorded: Vec<RunKey>,
}

/// Looks up the recorded arrays that hold any of `keys`, and their states,
/// and records the failures of tasks that ended without a result. `None`
/// when no run of `keys` was ever submitted to Slurm.
pub fn status(store: &Store, keys: &[RunKey]) -> Option<StatusView> {
    let subs: Vec<Submission> = record::load_all(store.root())
        .into_iter()
        .filter(|s| s.has_any(keys.iter()))
        .collect();
    if subs.is_empty() {
        return None;
    }
    // Task outputs name run folders by absolute path.
    let root = fs::canonicalize(store.root()).unwrap_or_else(|_| store.root().to_path_buf());
    let store = Store::new(root);
    let ids: Vec<String> = subs.iter().flat_map(Submission::job_ids).collect();
    let mut view = StatusView::default();
    let rows = match client::query(&ids, true) {
        Ok(rows) => by_task(rows),
        Err(e) => {
            view.error = Some(e);
            Rows::new()
        }
    };
    for s in &subs {
        view.jobs.push(job_view(s, &rows));
        for key in keys {
            if let Some(task) = s.task_of(key) {
                // Later submissions overwrite earlier ones.
                let row = rows.get(&(s.record.job_id.clone(), Some(task))).cloned();
                view.runs
                    .insert(key.clone(), run_view(&store, s, key, task, row));
            }
        }
    }
    for (key, run) in &view.runs {
        if let Some(row) = &run.row {
            let output = subs
                .iter()
                .find(|s| s.record.job_id == run.job)
                .map(|s| s.output_file(run.task));
            if let Some(output) = output
                && failures::record(&store, key, row, &output).is_some()
            {
                view.recorded.push(key.clone());
            }
        }
    }
    Some(view)
}

fn job_view(s: &Submission, rows: &Rows) -> JobView {
    let job = &s.record.job_id;
    let mut states = BTreeMap::new();
    for task in 0..s.record.tasks.len() as u32 {
        let state = rows
            .get(&(job.clone(), Some(task)))
            .map_or("UNKNOWN".to_string(), |r| r.state.clone());
        *states.entry(state).or_insert(0) += 1;
    }
    JobView {
        job: job.clone(),
        submitted_at: s.record.submitted_at.clone(),
        dir: s.dir.clone(),
        tasks: s.record.tasks.len(),
        states,
        report: s.record.report_job_id.as_ref().map(|id| {
            (
                id.clone(),
                rows.get(&(id.clone(), None)).map(|r| r.state.clone()),
            )
        }),
    }
}

fn run_view(
    store: &Store,
    s: &Submission,
    key: &RunKey,
    task: u32,
    row: Option<TaskRow>,
) -> RunView {
    let failure = match &row {
        Some(r) if !r.is_active() => {
            failures::last_failure(&s.output_file(task), &store.run_dir(key))
        }
        _ => None,
    };
    RunView {
        job: s.record.job_id.clone(),
        task,
        row,
        failure,
    }
}

/// Cancels the recorded arrays (and report jobs) that hold any of `keys`
/// and are still queued or running: the same arrays `sweep status` shows.
/// Returns the job ids cancelled.
pub fn cancel(results_root: &Path, keys: &[RunKey]) -> Result<Vec<String>, SlurmError> {
    let ids: Vec<String> = record::load_all(results_root)
        .iter()
        .filter(|s| s.has_any(keys.iter()))
        .flat_map(Submission::job_ids)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let targets: Vec<String> = match client::query(&ids, false) {
        Ok(rows) => {
            let mut t: Vec<String> = Vec::new();
            for r in rows.iter().filter(|r| r.is_active()) {
                if !t.contains(&r.job) {
                    t.push(r.job.clone());
                }
            }
            t
        }
        // Cannot tell which are still alive: ask scancel to cancel them all.
        Err(_) => ids,
    };
    if !targets.is_empty() {
        client::scancel(&targets)?;
    }
    Ok(targets)
}
