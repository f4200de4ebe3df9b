//! `sweep worker RUN_DIR`: train one prepared run (spawned by `sweep run`).

use std::path::Path;
use std::process::ExitCode;

pub fn run(run_dir: &Path) -> anyhow::Result<ExitCode> {
    let code = sweep_train::worker::main(run_dir);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
