//! `sweep report`: comparison tables. Not implemented yet; it says so plainly.

use std::process::ExitCode;

use crate::cli::ReportArgs;

pub fn run(_args: &ReportArgs) -> anyhow::Result<ExitCode> {
    eprintln!(
        "sweep report is not yet implemented. Each finished run's numbers are in \
         results/<key>/metrics.json and history.csv."
    );
    Ok(ExitCode::from(3))
}
