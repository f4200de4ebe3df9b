//! `sweep status FILE`: done, running (with the process training it),
//! failed (with why) and pending runs of an experiment; for runs handed to
//! Slurm (`sweep run --backend slurm`), also where their array task stands
//! (queued, running, or ended without a result), read from the job records
//! in `results/.slurm/` and `squeue`/`scontrol`/`sacct`. Without those
//! commands, or with the controller unreachable, it says so and shows what
//! the results folder alone knows.

use std::process::ExitCode;

use sweep_core::hash::RunKey;
use sweep_core::plan::PlanStatus;
use sweep_core::scheduler::lease;
use sweep_core::slurm::backend::RunView;
use sweep_core::store::RunStatus;

use crate::cli::StatusArgs;
use crate::commands::plan::load_plan;
use crate::commands::run::run_label;

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

pub fn run(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let (exp, plan, store) = load_plan(&args.common)?;
    let keys: Vec<RunKey> = plan.runs.iter().filter_map(|r| r.key.clone()).collect();
    let slurm = sweep_core::slurm::status(store.root(), &keys);
    let (mut done, mut running, mut failed, mut pending) = (0, Vec::new(), Vec::new(), 0);
    let (mut queued, mut ended) = (Vec::new(), Vec::new());
    for run in &plan.runs {
        let short = run.key.as_ref().map_or("-", |k| k.short());
        let holder = run
            .key
            .as_ref()
            .and_then(|k| lease::holder(&store.run_dir(k)));
        let on_slurm = run.key.as_ref().and_then(|k| slurm.as_ref()?.runs.get(k));
        let slurm_state = on_slurm.and_then(|v| v.row.as_ref());
        let note = on_slurm.map_or(String::new(), |v| format!(", slurm {}", describe(v)));
        match (&run.status, holder) {
            (PlanStatus::Store(RunStatus::Done), _) => done += 1,
            (_, Some(pid)) => running.push(format!("{short} {} (pid {pid}{note})", run_label(run))),
            (_, None) if slurm_state.is_some_and(|r| r.state == "RUNNING") => {
                running.push(format!(
                    "{short} {} (slurm {})",
                    run_label(run),
                    describe(on_slurm.unwrap())
                ))
            }
            (_, None) if slurm_state.is_some_and(|r| r.is_active()) => {
                pending += 1;
                queued.push(format!(
                    "{short} {} (slurm {})",
                    run_label(run),
                    describe(on_slurm.unwrap())
                ));
            }
            (PlanStatus::Store(RunStatus::Failed(f)), None) => failed.push(format!(
                "{short} {}: {}: {}{note}",
                run_label(run),
                f.kind,
                f.message
            )),
            (PlanStatus::MissingData(why), None) => {
                failed.push(format!("{}: no data: {why}", run_label(run)))
            }
            _ => {
                pending += 1;
                if let (Some(v), Some(r)) = (on_slurm, slurm_state) {
                    let why = v
                        .failure
                        .as_ref()
                        .map_or(String::new(), |(kind, msg)| format!(" ({kind}: {msg})"));
                    ended.push(format!(
                        "{short} {}: slurm job {}_{} ended {} without a result{why}; pending again",
                        run_label(run),
                        v.job,
                        v.task,
                        r.state
                    ));
                }
            }
        }
    }
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
    for line in &failed {
        println!("  failed:  {line}");
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
