//! `sweep schema`: prints the JSON Schema of experiment files, so editors
//! complete and check them while they are written (docs/spec.md, "Editor
//! completion"). The copy in docs/experiment.schema.json is this output.

use std::io::Write;
use std::process::ExitCode;

pub(crate) fn run() -> anyhow::Result<ExitCode> {
    let text = sweep_core::spec::json_schema::experiment_schema_text();
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
