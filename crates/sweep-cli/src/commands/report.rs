//! `sweep report`: the comparison table (or per-class / prevalence tables)
//! of the runs of one or more experiment files, in any output format.

use std::io::IsTerminal;
use std::process::ExitCode;

use sweep_core::plan::PlannedRun;
use sweep_report::{
    Format, RenderOptions, ReportOptions, Selection, Split, build_report, per_class, prevalence,
    render,
};

use crate::cli::{Common, ReportArgs};
use crate::commands::plan::load_plan;

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let mut runs: Vec<PlannedRun> = Vec::new();
    let mut store = None;
    for file in &args.files {
        let common = Common {
            file: file.clone(),
            smoke: args.smoke,
            synthetic: args.synthetic,
            results: args.results.clone(),
            data_dir: args.data_dir.clone(),
        };
        let (_, plan, s) = load_plan(&common)?;
        runs.extend(plan.runs);
        store = Some(s);
    }
    let store = store.ok_or_else(|| anyhow::anyhow!("no experiment file given"))?;
    let format: Format = args
        .format
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--format: {e}"))?;
    let parse_all = |items: &[String], flag: &str| {
        items
            .iter()
            .map(|s| s.parse().map_err(|e| anyhow::anyhow!("{flag} {s}: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()
    };
    let filters = parse_all(&args.filters, "--where")?;
    let render_options = RenderOptions {
        decimals: args.decimals,
        color: format == Format::Table && std::io::stdout().is_terminal(),
    };
    let text = if args.per_class || args.prevalence {
        let selection = Selection {
            filters,
            key: args.key.clone(),
        };
        if args.per_class {
            let split: Split = args
                .split
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--split: {e}"))?;
            render(
                &per_class(&store, &runs, &selection, split)?,
                format,
                &render_options,
            )
        } else {
            render(
                &prevalence(&store, &runs, &selection)?,
                format,
                &render_options,
            )
        }
    } else {
        let options = ReportOptions {
            metrics: args.metrics.clone(),
            group_by: args.group_by.clone(),
            filters,
            baseline: parse_all(&args.baseline, "--baseline")?,
        };
        render(
            &build_report(&store, &runs, &options)?,
            format,
            &render_options,
        )
    };
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    Ok(ExitCode::SUCCESS)
}
