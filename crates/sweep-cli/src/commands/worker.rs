//! Where the `sweep-worker` executable is, and `sweep worker RUN_DIR`.
//!
//! Training lives in its own executable, `sweep-worker`, the only one that
//! links libtorch (`src/bin/sweep-worker.rs` says why). `sweep run` spawns
//! it directly; `sweep worker RUN_DIR` replaces itself with it, so Slurm job
//! scripts and anything else that calls `sweep worker` keep working.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

/// Environment variable naming the worker executable, for installs that put
/// it somewhere other than next to `sweep`.
pub(crate) const WORKER_ENV: &str = "SWEEP_WORKER";
/// File name of the worker executable.
pub(crate) const WORKER_NAME: &str = "sweep-worker";

/// `$SWEEP_WORKER`, else `sweep-worker` in the folder of the running `sweep`.
pub(crate) fn worker_program() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(WORKER_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("{WORKER_ENV}={} is not a file", path.display());
        }
        return Ok(path);
    }
    let exe = std::env::current_exe().context("cannot locate the running sweep executable")?;
    let path = exe.with_file_name(format!("{WORKER_NAME}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        bail!(
            "the training worker {} is missing: it is built with sweep \
             (`cargo build --release -p sweep-cli` builds both); or set \
             {WORKER_ENV} to its path",
            path.display()
        );
    }
    Ok(path)
}

/// `sweep worker RUN_DIR`: runs the worker on RUN_DIR in this process's place.
pub(crate) fn run(run_dir: &Path) -> anyhow::Result<ExitCode> {
    let program = worker_program()?;
    let mut command = std::process::Command::new(&program);
    command.arg(run_dir);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // exec keeps the process id, so signals and leases see the worker.
        let err = command.exec();
        Err(err).with_context(|| format!("cannot start {}", program.display()))
    }
    #[cfg(not(unix))]
    {
        let status = command
            .status()
            .with_context(|| format!("cannot start {}", program.display()))?;
        Ok(ExitCode::from(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(1),
        ))
    }
}
