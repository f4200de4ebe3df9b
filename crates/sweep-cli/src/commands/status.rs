//! `sweep status FILE`: done, running (with the process training it),
//! failed (with why) and pending runs of an experiment; for runs handed to
//! Slurm (`sweep run --backend slurm`), also where their array task stands
//! (queued, running, or ended without a result), read from the job records
//! in `results/.slurm/` and `squeue`/`scontrol`/`sacct`. Without those
//! commands, or with the controller unreachable, it says so and shows what
//! the results folder alone knows. An array task seen to have failed gets
//! its run's `failure.json` recorded here, as a failed local run has.
//! Runs are sorted by the same triage `sweep run` applies.

use std::process::ExitCode;

use sweep_core::hash::RunKey;
use sweep_core::slurm::StatusView;
use sweep_core::slurm::view::RunView;
use sweep_core::triage::{Triage, TriageOptions, Verdict, triage};

use crate::cli::StatusArgs;
use crate::commands::plan::load_plan;
use crate::commands::run::labelled_runs;
use crate::progress::failures::{Failed, failure_lines};

/// `job 12_3 RUNNING on node7` / `job 12_3 PENDING (Priority)`.
fn describe(view: &RunView) -> String {
    let id = format!("{}_{}", view.job, view.task);
    match &view.row {
        None => format!("job {id}, state unknown"),
        Some(r) if !r.node.is_empty() && r.state == "RUNNING" => {
            format!("job {id} {} on {}", r.state, r.node)
        }
        Some(r) if !r.reason.is_empty() && r.reason != "None" => {
            format!("job {id} {} ({})", r.state, r.reason)
        }
        Some(r) => format!("job {id} {}", r.state),
    }
}

/// Every run's line, by where it stands.
#[derive(Debug, Default)]
struct Sorted {
    done: usize,
    pending: usize,
    running: Vec<String>,
    queued: Vec<String>,
    /// Printed grouped by reason (see [`failure_lines`]).
    failed: Vec<Failed>,
    ended: Vec<String>,
}

/// Sorts the triaged runs into done, running, queued, failed and pending.
fn sort(triage: &Triage, slurm: Option<&StatusView>) -> Sorted {
    let mut s = Sorted::default();
    for t in &triage.runs {
        let (run, label) = (t.run, &t.label);
        let short = run.key.as_ref().map_or("-", |k| k.short());
        let on_slurm = run.key.as_ref().and_then(|k| slurm?.runs.get(k));
        let slurm_state = on_slurm.and_then(|v| Some((v, v.row.as_ref()?)));
        let note = on_slurm.map_or(String::new(), |v| format!(", slurm {}", describe(v)));
        match (&t.verdict, slurm_state) {
            (Verdict::Cached, _) => s.done += 1,
            (
                Verdict::Elsewhere { holder: Some(pid) }
                | Verdict::Failed {
                    holder: Some(pid), ..
                },
                _,
            ) => s.running.push(format!("{short} {label} (pid {pid}{note})")),
            (_, Some((v, r))) if r.state == "RUNNING" => s
                .running
                .push(format!("{short} {label} (slurm {})", describe(v))),
            (_, Some((v, r))) if r.is_active() => {
                s.pending += 1;
                s.queued
                    .push(format!("{short} {label} (slurm {})", describe(v)));
            }
            (Verdict::Failed { failure, .. }, _) => s.failed.push(Failed {
                run: format!("{short} {label}"),
                reason: format!("{}: {}{note}", failure.kind, failure.message),
            }),
            (Verdict::NoData(why), _) => s.failed.push(Failed {
                run: label.clone(),
                reason: format!("no data: {why}"),
            }),
            (_, slurm_state) => {
                s.pending += 1;
                if let Some((v, r)) = slurm_state {
                    let why = v
                        .failure
                        .as_ref()
                        .map_or(String::new(), |(kind, msg)| format!(" ({kind}: {msg})"));
                    s.ended.push(format!(
                        "{short} {label}: slurm job {}_{} ended {} without a result{why}; pending again",
                        v.job, v.task, r.state
                    ));
                }
            }
        }
    }
    s
}

pub(crate) fn run(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let (exp, mut plan, store) = load_plan(&args.common)?;
    let keys: Vec<RunKey> = plan.runs.iter().filter_map(|r| r.key.clone()).collect();
    // Looking at Slurm records the failures of ended tasks.
    let slurm = sweep_core::slurm::status(&store, &keys);
    if let Some(view) = &slurm {
        plan.refresh(&store, &view.recorded);
    }
    let triage = triage(labelled_runs(&plan), &store, &TriageOptions::default());
    let Sorted {
        done,
        pending,
        running,
        queued,
        failed,
        ended,
    } = sort(&triage, slurm.as_ref());
    let queued_note = if slurm.is_some() {
        format!(" ({} queued on Slurm)", queued.len())
    } else {
        String::new()
    };
    println!(
        "{}: {} runs — {done} done, {} running, {} failed, {pending} pending{queued_note}",
        exp.name,
        plan.runs.len(),
        running.len(),
        failed.len()
    );
    for line in &running {
        println!("  running: {line}");
    }
    for line in &queued {
        println!("  queued:  {line}");
    }
    // Runs failing for one reason are listed under it once.
    for line in failure_lines(&failed) {
        println!("{line}");
    }
    for line in &ended {
        println!("  ended:   {line}");
    }
    if let Some(view) = &slurm {
        if let Some(e) = &view.error {
            println!("slurm: job states unknown ({e})");
        }
        // Every array with work left, and the latest one.
        let last = view.jobs.len().saturating_sub(1);
        let mut hidden = 0;
        for (i, job) in view.jobs.iter().enumerate() {
            let active = job
                .states
                .keys()
                .any(|s| sweep_core::slurm::client::is_active(s) && s != "UNKNOWN");
            if i != last && !active {
                hidden += 1;
                continue;
            }
            let states: Vec<String> = job.states.iter().map(|(s, n)| format!("{n} {s}")).collect();
            let report = job.report.as_ref().map_or(String::new(), |(id, state)| {
                format!(
                    "; report job {id} {}",
                    state.as_deref().unwrap_or("UNKNOWN")
                )
            });
            println!(
                "slurm: job {} (submitted {}): {} task{} — {}{report}; files in {}",
                job.job,
                job.submitted_at,
                job.tasks,
                if job.tasks == 1 { "" } else { "s" },
                states.join(", "),
                job.dir.display()
            );
        }
        if hidden > 0 {
            println!("slurm: {hidden} earlier submission(s) with nothing left to run");
        }
    }
    Ok(ExitCode::SUCCESS)
}
