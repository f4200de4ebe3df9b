//! Helpers shared by the end-to-end tests: starting the `sweep` binary the
//! same way everywhere (one training thread, no results folder from the
//! environment) and reading what it printed.

#![allow(dead_code)] // each test file uses a different subset

use std::process::{Command, Output};

/// The `sweep` binary with a clean, deterministic environment.
pub fn sweep_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sweep"));
    cmd.env_remove("SWEEP_RESULTS_DIR")
        .env("SWEEP_THREADS", "1");
    cmd
}

/// Runs `sweep ARGS` to completion.
pub fn sweep(args: &[&str]) -> Output {
    sweep_command().args(args).output().expect("sweep runs")
}

/// Everything the process printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
