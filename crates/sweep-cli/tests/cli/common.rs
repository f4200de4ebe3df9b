//! Helpers shared by the end-to-end tests: starting the `sweep` binary the
//! same way everywhere (one training thread, no results folder from the
//! environment), reading what it printed, and recording a skipped check.

// The one skip recorder of the workspace's tests, shared with sweep-data.
#[path = "../../../sweep-data/src/test_support/skip.rs"]
mod skip_record;
pub(crate) use skip_record::skip;

// Where the torch virtualenv's python is, found as sweep-train's tests find it.
#[path = "../../../sweep-train/tests/train/torch_python.rs"]
pub(crate) mod torch_finder;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// The `sweep` binary with a clean, deterministic environment.
pub(crate) fn sweep_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sweep"));
    cmd.env_remove("SWEEP_RESULTS_DIR")
        .env("SWEEP_THREADS", "1");
    cmd
}

/// Runs `sweep ARGS` to completion.
pub(crate) fn sweep(args: &[&str]) -> Output {
    sweep_command().args(args).output().expect("sweep runs")
}

/// Runs `sweep ARGS` to completion with extra environment variables.
pub(crate) fn sweep_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = sweep_command();
    cmd.args(args).envs(env.iter().copied());
    cmd.output().expect("sweep runs")
}

/// Everything the process printed, stdout then stderr.
pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Writes an executable script: the stand-ins (`nvidia-smi`, a worker) that
/// tests put on `PATH` or name in `SWEEP_WORKER`.
pub(crate) fn executable(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `PATH` with `dir` searched first, so its stand-ins win.
pub(crate) fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}
