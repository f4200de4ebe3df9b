//! `sweep status FILE`: done, running (with the process training it),
//! failed (with why) and pending runs of an experiment.

use std::process::ExitCode;

use sweep_core::plan::PlanStatus;
use sweep_core::scheduler::lease;
use sweep_core::store::RunStatus;

use crate::cli::StatusArgs;
use crate::commands::plan::load_plan;
use crate::commands::run::run_label;

pub fn run(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let (exp, plan, store) = load_plan(&args.common)?;
    let (mut done, mut running, mut failed, mut pending) = (0, Vec::new(), Vec::new(), 0);
    for run in &plan.runs {
        let holder = run
            .key
            .as_ref()
            .and_then(|k| lease::holder(&store.run_dir(k)));
        match (&run.status, holder) {
            (PlanStatus::Store(RunStatus::Done), _) => done += 1,
            (_, Some(pid)) => running.push(format!(
                "{} {} (pid {pid})",
                run.key.as_ref().map_or("-", |k| k.short()),
                run_label(run)
            )),
            (PlanStatus::Store(RunStatus::Failed(f)), None) => failed.push(format!(
                "{} {}: {}: {}",
                run.key.as_ref().map_or("-", |k| k.short()),
                run_label(run),
                f.kind,
                f.message
            )),
            (PlanStatus::MissingData(why), None) => {
                failed.push(format!("{}: no data: {why}", run_label(run)))
            }
            _ => pending += 1,
        }
    }
    println!(
        "{}: {} runs — {done} done, {} running, {} failed, {pending} pending",
        exp.name,
        plan.runs.len(),
        running.len(),
        failed.len()
    );
    for line in &running {
        println!("  running: {line}");
    }
    for line in &failed {
        println!("  failed:  {line}");
    }
    Ok(ExitCode::SUCCESS)
}
