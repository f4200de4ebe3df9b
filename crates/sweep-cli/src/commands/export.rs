//! `sweep export`: the finished runs of an experiment as a tidy table (long
//! CSV or JSON lines) on stdout or in a file, for notebooks. The experiment
//! is loaded as `sweep report` loads it; the table is built by
//! `sweep_report::export`.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use sweep_data::atomic::write_atomic_with;
use sweep_report::{ExportError, ExportFormat, ExportOptions, ExportSource, export};

use crate::cli::{ExportArgs, ExportFormatArg};
use crate::commands::plan::load_plan;

pub(crate) fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let (exp, plan, store) = load_plan(&args.common)?;
    let axes: Vec<(String, String)> = exp
        .axes
        .iter()
        .filter_map(|a| Some((a.name.clone(), a.values.first()?.run_path.to_string())))
        .collect();
    let options = ExportOptions {
        format: match args.format {
            ExportFormatArg::LongCsv => ExportFormat::LongCsv,
            ExportFormatArg::Jsonl => ExportFormat::Jsonl,
        },
        per_epoch: args.per_epoch,
        metrics: args.metrics.clone(),
        filters: args
            .filters
            .iter()
            .map(|s| s.parse().map_err(|e| anyhow::anyhow!("--where {s}: {e}")))
            .collect::<anyhow::Result<_>>()?,
    };
    let source = ExportSource {
        experiment: &exp.name,
        axes: &axes,
        runs: &plan.runs,
    };
    let summary = match &args.output {
        Some(path) => {
            // Streamed into a temporary file that replaces `path` only once
            // complete; a request the results cannot answer leaves `path` alone.
            let mut outcome = None;
            let written = write_atomic_with(path, |file| {
                let mut out = BufWriter::new(file);
                let result = export(&store, source, &options, &mut out);
                let failed = result.as_ref().err().map(ToString::to_string);
                outcome = Some(result);
                match failed {
                    Some(message) => Err(std::io::Error::other(message)),
                    None => out.flush(),
                }
            });
            match outcome {
                Some(Err(ExportError::Report(e))) => return Err(e.into()),
                Some(Ok(summary)) if written.is_ok() => summary,
                _ => {
                    written.with_context(|| format!("--output {}", path.display()))?;
                    anyhow::bail!("--output {}: nothing was written", path.display())
                }
            }
        }
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            let summary = export(&store, source, &options, &mut out)?;
            out.flush()?;
            summary
        }
    };
    let unit = match (options.format, options.per_epoch) {
        (ExportFormat::LongCsv, _) => "rows",
        (ExportFormat::Jsonl, false) => "JSON lines, one per run",
        (ExportFormat::Jsonl, true) => "JSON lines, one per run and epoch",
    };
    eprintln!(
        "{}: exported {} run{} ({} {unit}){}",
        exp.name,
        summary.runs,
        if summary.runs == 1 { "" } else { "s" },
        summary.rows,
        args.output
            .as_ref()
            .map_or(String::new(), |p| format!(" to {}", p.display()))
    );
    for (status, reason, n) in &summary.missing {
        eprintln!("  not exported: {n} {status}: {reason}");
    }
    Ok(ExitCode::SUCCESS)
}
