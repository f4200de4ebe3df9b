//! `sweep report`: the comparison table (or per-class / prevalence tables)
//! of the runs of one or more experiment files, in any output format; with
//! `--format html --out DIR`, a page with the table and its figures.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use sweep_core::plan::PlannedRun;
use sweep_core::select::FieldCondition;
use sweep_core::store::Store;
use sweep_report::{
    ExperimentSource, Format, HtmlOptions, RenderOptions, ReportOptions, Selection, Split,
    build_report, per_class, per_class_flattened, prevalence, render, write_html,
};

use crate::cli::{Common, ReportArgs};
use crate::commands::plan::load_plan;

pub(crate) fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let mut runs: Vec<PlannedRun> = Vec::new();
    let mut store = None;
    let mut names = Vec::new();
    for file in &args.files {
        let common = Common {
            file: file.clone(),
            smoke: args.smoke,
            synthetic: args.synthetic,
            results: args.results.clone(),
            data_dir: args.data_dir.clone(),
        };
        let (exp, plan, s) = load_plan(&common)?;
        names.push(exp.name);
        runs.extend(plan.runs);
        store = Some(s);
    }
    let store = store.ok_or_else(|| anyhow::anyhow!("no experiment file given"))?;
    let html = args.format.eq_ignore_ascii_case("html");
    if !html && args.out.is_some() {
        anyhow::bail!("--out is for --format html; the other formats print to stdout");
    }
    if html {
        let Some(out) = &args.out else {
            anyhow::bail!("--format html writes a folder: add --out DIR");
        };
        if args.per_class || args.prevalence {
            anyhow::bail!(
                "--format html shows the comparison table; use another format for --per-class or --prevalence"
            );
        }
        return html_report(args, &store, &runs, &names, out);
    }
    let format: Format = args
        .format
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--format: {e}"))?;
    let filters = parse_assignments(&args.filters, "--where")?;
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
            let table = if args.flatten {
                per_class_flattened(&store, &runs, &selection, split)?
            } else {
                per_class(&store, &runs, &selection, split)?
            };
            render(&table, format, &render_options)
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
            baseline: parse_assignments(&args.baseline, "--baseline")?,
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

/// `--where` / `--baseline` arguments as conditions; one argument may hold
/// several, comma-separated (`lr=1e-3,pos_weight=none`).
fn parse_assignments(items: &[String], flag: &str) -> anyhow::Result<Vec<FieldCondition>> {
    let mut out = Vec::new();
    for s in items {
        out.extend(FieldCondition::parse_list(s).map_err(|e| anyhow::anyhow!("{flag} {s}: {e}"))?);
    }
    Ok(out)
}

/// `--format html`: writes `out/index.html` and `out/figures/`.
fn html_report(
    args: &ReportArgs,
    store: &Store,
    runs: &[PlannedRun],
    names: &[String],
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let experiments = args
        .files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            Ok(ExperimentSource {
                name: f.display().to_string(),
                text,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = HtmlOptions {
        report: ReportOptions {
            metrics: args.metrics.clone(),
            group_by: args.group_by.clone(),
            filters: parse_assignments(&args.filters, "--where")?,
            baseline: parse_assignments(&args.baseline, "--baseline")?,
        },
        decimals: args.decimals,
        title: format!(
            "Sweep report: {}{}",
            names.join(", "),
            if args.smoke { " (smoke)" } else { "" }
        ),
        experiments,
    };
    let written = write_html(store, runs, &options, out)?;
    for why in &written.missing_figures {
        eprintln!("note: {why}");
    }
    println!(
        "wrote {} ({} figures; {} of {} runs with results)",
        written.index.display(),
        written.figures.len(),
        written.runs_loaded,
        written.runs_selected
    );
    Ok(ExitCode::SUCCESS)
}
