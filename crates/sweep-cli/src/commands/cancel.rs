//! `sweep cancel FILE`: stop the Slurm job arrays `sweep run --backend slurm`
//! submitted for an experiment, so a sweep on a cluster can be called off as
//! easily as a local one is interrupted with Ctrl-C.
//!
//! The arrays are found from the job records under `results/.slurm/` (those
//! holding any run of the plan, as `sweep status` shows them) and cancelled
//! with `scancel`. Runs a cancelled task was training stay incomplete and
//! are simply pending for the next `sweep run`.

use std::process::ExitCode;

use sweep_core::hash::RunKey;

use crate::cli::CancelArgs;
use crate::commands::plan::load_plan;

pub(crate) fn run(args: &CancelArgs) -> anyhow::Result<ExitCode> {
    let (exp, plan, store) = load_plan(&args.common)?;
    let keys: Vec<RunKey> = plan.runs.iter().filter_map(|r| r.key.clone()).collect();
    let cancelled =
        sweep_core::slurm::cancel(store.root(), &keys).map_err(|e| anyhow::anyhow!("{e}"))?;
    if cancelled.is_empty() {
        println!(
            "{}: no queued or running Slurm job holds runs of this experiment",
            exp.name
        );
    } else {
        println!(
            "{}: cancelled Slurm job{} {}; unfinished runs stay pending for the next `sweep run`",
            exp.name,
            if cancelled.len() == 1 { "" } else { "s" },
            cancelled.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
