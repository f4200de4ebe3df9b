//! `sweep worker RUN_DIR`: train one prepared run (spawned by `sweep run`).

use std::path::Path;
use std::process::ExitCode;

pub fn run(run_dir: &Path) -> anyhow::Result<ExitCode> {
    Ok(match sweep_train::worker::run(run_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    })
}
