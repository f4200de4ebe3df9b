//! `sweep run --backend slurm`: the pending part of a plan becomes one Slurm
//! job array, one `sweep worker` per run, instead of local worker processes.
//!
//! ```text
//!  plan ─ triage ─ queued in an earlier array? ─▶ pending ─ Store::prepare   (submit)
//!                                                     │
//!      results/.slurm/<exp>-<time>/runs.txt + job.sbatch ◀───────┘
//!                                │ sbatch --parsable --array=0-(N-1)[%K]
//!                                ▼
//!                 job.json ─▶ (--wait) poll squeue/scontrol + the store     (follow)
//! ```
//!
//! The store stays the only truth about results: a run is done when its
//! `complete.json` verifies, whichever machine wrote it. Slurm states are
//! only used to tell queued from running from ended. A task whose worker
//! failed leaves `failure.json` as a local failure does (see
//! [`super::failures`]); one that was cancelled, preempted or requeued
//! leaves its run incomplete, so the next `sweep run` (local or Slurm)
//! sees it as pending and continues it from its last saved epoch. The
//! worker's own lease and completion check make duplicated or requeued
//! tasks harmless.
//!
//! Progress is reported as events: the run events of a local sweep
//! (the scheduler's `Progress`) and, for what only a cluster has, [`SlurmEvent`]s.

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use super::client;
use super::error::SlurmError;
use super::follow::{self, Assignment, Follow, Watched};
use super::record::{self, Submission};
use super::resources::SlurmOptions;
use super::submit::{self, Selection, path_text, quoted_args};
use super::view::by_task;
use crate::plan::PlannedRun;
use crate::protocol::events::{SkippedRun, SlurmEvent};
use crate::scheduler::Reporter;
use crate::store::{RunStatus, Store};
use crate::triage::TriageOptions;

/// Renders what a Slurm submission reports: the run events every backend
/// shares, and the Slurm-only ones.
pub trait SlurmReporter: Reporter {
    fn slurm(&mut self, event: &SlurmEvent);
}

/// One `sweep run --backend slurm`.
#[derive(Debug)]
pub struct Request<'a> {
    /// The experiment's `name`.
    pub experiment: &'a str,
    /// The runs asked for (the plan after `--only`), each with its label.
    pub runs: Vec<(&'a PlannedRun, String)>,
    pub store: &'a Store,
    pub options: SlurmOptions,
    /// `--force` and `--retry-failed`.
    pub triage: TriageOptions,
    /// Block until the array has finished, then exit like a local sweep.
    pub wait: bool,
    /// Submit `sweep report … --format md` to run after the array.
    pub dependency_report: bool,
    /// The arguments that name this plan to other `sweep` commands: the
    /// experiment file and `--results`/`--smoke`/`--synthetic`/`--data-dir`,
    /// with absolute paths (used for the report job and in hints).
    pub plan_args: Vec<String>,
    /// The `sweep` binary the array tasks run (on a path the nodes see).
    pub program: PathBuf,
}

/// What a `sweep run --backend slurm` ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Without `--wait`: the submission went through (or nothing was left
    /// to do). With it: every run asked for is done.
    pub ok: bool,
    /// The array submitted, if any.
    pub job: Option<String>,
}

/// Submits the pending runs and, with `--wait`, follows them.
pub fn run(req: &Request, reporter: &mut dyn SlurmReporter) -> Result<Outcome, SlurmError> {
    req.options.validate()?;
    let started = Instant::now();
    let io = |action, path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| SlurmError::Io {
            action,
            path,
            source,
        }
    };
    let given = req.store.root();
    fs::create_dir_all(given).map_err(io("create", given))?;
    let root = fs::canonicalize(given).map_err(io("resolve", given))?;
    path_text(&root, "the results folder")?;
    let store = Store::new(&root);
    let program = fs::canonicalize(&req.program).map_err(io("resolve", &req.program))?;
    let program = path_text(&program, "the sweep binary")?.to_string();

    let mut sel = submit::select(req, &store, reporter)?;
    let per_task = req.options.runs_per_task.max(1) as usize;
    let tasks = sel.pending.len().div_ceil(per_task);
    reporter.slurm(&SlurmEvent::SlurmPlanned {
        experiment: req.experiment.to_string(),
        total: req.runs.len(),
        cached: sel.cached,
        to_submit: sel.pending.len(),
        tasks,
        runs_per_task: per_task.min(sel.pending.len()),
        queued_earlier: sel.queued_earlier,
        leased: sel.leased,
        skipped: sel.skipped.clone(),
        results: root.clone(),
    });
    let mut jobs: Vec<String> = Vec::new();
    for a in sel.watched.iter().filter_map(|w| w.assignment.as_ref()) {
        if !jobs.contains(&a.job) {
            jobs.push(a.job.clone());
        }
    }
    let submission = if sel.pending.is_empty() {
        None
    } else {
        let sub = submit_pending(req, &root, &program, &mut sel, reporter)?;
        jobs.insert(0, sub.record.job_id.clone());
        jobs.extend(sub.record.report_job_id.clone());
        Some(sub)
    };
    let submitted = submission.as_ref().map(|s| s.record.job_id.clone());
    if !req.wait {
        return Ok(without_waiting(req, &sel, submitted, reporter));
    }
    if !jobs.is_empty() || sel.leased > 0 {
        reporter.slurm(&SlurmEvent::SlurmWaiting {
            jobs: jobs.clone(),
            leased: sel.leased,
        });
        follow::follow(
            &Follow {
                store: &store,
                experiment: req.experiment,
                watched: &sel.watched,
                jobs: &jobs,
                report_job: submission
                    .as_ref()
                    .and_then(|s| s.record.report_job_id.as_deref()),
            },
            reporter,
        )?;
    }
    let ok = finish(
        req,
        &store,
        &sel,
        &jobs,
        submission.as_ref(),
        started,
        reporter,
    );
    Ok(Outcome { ok, job: submitted })
}

/// Submits the selection's pending runs as one array and assigns each its
/// task.
fn submit_pending(
    req: &Request,
    root: &std::path::Path,
    program: &str,
    sel: &mut Selection,
    reporter: &mut dyn SlurmReporter,
) -> Result<Submission, SlurmError> {
    let keys: Vec<_> = sel
        .pending
        .iter()
        .map(|&i| sel.watched[i].key.clone())
        .collect();
    let sub = submit::submit(req, root, program, &keys, reporter)?;
    let per_task = req.options.runs_per_task.max(1) as usize;
    for (task, chunk) in sel.pending.chunks(per_task).enumerate() {
        for &i in chunk {
            sel.watched[i].assignment = Some(Assignment {
                job: sub.record.job_id.clone(),
                task: task as u32,
                output: sub.output_file(task as u32),
            });
        }
    }
    reporter.slurm(&SlurmEvent::SlurmSubmitted {
        job: sub.record.job_id.clone(),
        array: sub.record.array.clone(),
        runs: sel.pending.len(),
        dir: sub.dir.clone(),
        plan_args: quoted_args(&req.plan_args),
        report_job: sub.record.report_job_id.clone(),
        report_file: sub
            .record
            .report_job_id
            .as_ref()
            .map(|_| sub.dir.join(record::REPORT_FILE)),
    });
    Ok(sub)
}

/// Without `--wait`: says so when nothing was submitted.
fn without_waiting(
    req: &Request,
    sel: &Selection,
    submitted: Option<String>,
    reporter: &mut dyn SlurmReporter,
) -> Outcome {
    if submitted.is_some() {
        return Outcome {
            ok: true,
            job: submitted,
        };
    }
    let in_progress = sel.queued_earlier + sel.leased;
    reporter.slurm(&SlurmEvent::SlurmNothingToSubmit {
        experiment: req.experiment.to_string(),
        total: req.runs.len(),
        done: sel.cached,
        in_progress,
        plan_args: quoted_args(&req.plan_args),
        skipped: sel.skipped.clone(),
    });
    Outcome {
        ok: in_progress > 0 || sel.cached == req.runs.len(),
        job: None,
    }
}

/// After `--wait`: the final word, from the store. `true` when every run
/// asked for is done.
fn finish(
    req: &Request,
    store: &Store,
    sel: &Selection,
    jobs: &[String],
    submission: Option<&Submission>,
    started: Instant,
    reporter: &mut dyn SlurmReporter,
) -> bool {
    let (done, not_done): (Vec<&Watched>, Vec<&Watched>) = sel
        .watched
        .iter()
        .partition(|w| store.status(&w.key) == RunStatus::Done);
    let rows = by_task(client::query(jobs, true).unwrap_or_default());
    let failed = not_done
        .iter()
        .map(|w| SkippedRun {
            run: format!("{} {}", w.key.short(), w.label),
            reason: follow::describe_failure(store, w, &rows),
        })
        .collect();
    let report = submission
        .filter(|s| s.record.report_job_id.is_some())
        .map(|s| {
            let path = s.dir.join(record::REPORT_FILE);
            let written = fs::metadata(&path).is_ok_and(|m| m.len() > 0);
            (path, written)
        });
    let all = sel.cached + done.len();
    reporter.slurm(&SlurmEvent::SlurmFinished {
        experiment: req.experiment.to_string(),
        total: req.runs.len(),
        done: all,
        trained: done.len(),
        cached: sel.cached,
        failed,
        skipped: sel.skipped.clone(),
        seconds: started.elapsed().as_secs_f64(),
        report,
    });
    all == req.runs.len()
}
