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

/// Runs the one-run experiment `file` until its worker dies after epoch
/// `epochs - 1`, resumes it, and checks that only the last epoch is trained
/// again and that the final numbers are those of an uninterrupted run (in
/// `scratch/straight`). Returns the resumed run's `metrics.json`.
pub(crate) fn assert_resumes_like_an_uninterrupted_run(
    file: &Path,
    scratch: &Path,
    epochs: u64,
) -> serde_json::Value {
    let f = file.to_str().unwrap();
    let results = scratch.join("results");
    let r = results.to_str().unwrap();
    let last = epochs.to_string();
    let crashed = sweep_with_env(
        &["run", f, "--results", r, "--max-retries", "0"],
        &[("SWEEP_TEST_ABORT_AT_EPOCH", last.as_str())],
    );
    assert_eq!(crashed.status.code(), Some(1), "{}", text(&crashed));
    let resumed = sweep(&["run", f, "--results", r, "--retry-failed", "--json"]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let trained: Vec<u64> = String::from_utf8_lossy(&resumed.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "epoch")
        .filter_map(|v| v["epoch"].as_u64())
        .collect();
    assert_eq!(trained, vec![epochs], "only the missing epoch is trained");

    let straight = scratch.join("straight");
    let out = sweep(&["run", f, "--results", straight.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let metrics = |dir: &Path| -> serde_json::Value {
        let run = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.join("metrics.json").exists())
            .unwrap();
        assert!(
            !run.join("resume.json").exists(),
            "resume state is removed on completion"
        );
        serde_json::from_slice(&std::fs::read(run.join("metrics.json")).unwrap()).unwrap()
    };
    let (a, b) = (metrics(&results), metrics(&straight));
    for field in ["train_loss", "val_loss", "test_loss", "test", "best_epoch"] {
        assert_eq!(a[field], b[field], "{field} differs after resuming");
    }
    a
}
