//! `sweep report`: the comparison table (or per-class / prevalence tables)
//! of the runs of one or more experiment files, in any output format; with
//! `--format html --out DIR`, a page with the table and its figures.
//!
//! Without a file, it reports every experiment `sweep run` has run into the
//! results folder, newest first, from the records it left there
//! ([`sweep_core::recorded`]); `--experiment NAME` picks one. Neither way
//! needs the dataset files: runs whose data is absent take the keys their
//! run folders recorded ([`sweep_core::run_folders`]), so the report of a
//! results folder copied to another machine is the same, byte for byte.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use sweep_core::hash::RunKey;
use sweep_core::plan::{PlanStatus, PlannedRun};
use sweep_core::recorded::{ExperimentRecord, Records};
use sweep_core::run_folders::Adopt;
use sweep_core::select::FieldCondition;
use sweep_core::store::Store;
use sweep_report::{
    ExperimentSource, Format, HtmlOptions, RenderOptions, ReportOptions, Selection, Split,
    build_report, per_class, per_class_flattened, prevalence, render, write_html,
};

use crate::cli::{Common, ExperimentOptions, ReportArgs};
use crate::commands::plan::{load_experiment, plan_experiment};

/// The runs of one table, and how the experiment they come from is shown.
struct Part {
    /// The HTML page's title.
    title: String,
    /// A line naming the recorded experiment above its table.
    heading: Option<Heading>,
    /// The experiment texts, for the HTML page.
    experiments: Vec<ExperimentSource>,
    runs: Vec<PlannedRun>,
}

/// What is said about a recorded experiment above its table.
struct Heading {
    title: String,
    source: String,
    recorded_at: String,
    overrides: Vec<String>,
}

impl Heading {
    fn render(&self, format: Format) -> String {
        let set: String = self
            .overrides
            .iter()
            .map(|o| format!(" --set {o}"))
            .collect();
        let about = format!("{}{set}, run {}", self.source, self.recorded_at);
        match format {
            Format::Markdown => format!("## {}\n\n{about}\n\n", self.title),
            Format::Latex => format!("% {}: {about}\n", self.title),
            _ => format!("{}: {about}\n", self.title),
        }
    }
}

/// The common options of a file, for the loader.
fn common(args: &ReportArgs, file: &Path) -> Common {
    Common {
        file: file.to_path_buf(),
        options: ExperimentOptions {
            smoke: args.smoke,
            synthetic: args.synthetic,
            results: args.results.clone(),
            data_dir: args.data_dir.clone(),
            set: args.set.clone(),
        },
    }
}

/// One part with the runs of every file given (as before records existed).
fn file_part(args: &ReportArgs) -> anyhow::Result<Part> {
    let mut part = Part {
        title: String::new(),
        heading: None,
        experiments: Vec::new(),
        runs: Vec::new(),
    };
    let mut names = Vec::new();
    for file in &args.files {
        let common = common(args, file);
        let (exp, text) = load_experiment(&common)?;
        let (plan, _) = plan_experiment(&exp, &common, Adopt::FinishedOrFailed, &HashSet::new());
        let mut text = text;
        for o in &args.set {
            text.push_str(&format!("\n# --set {o}"));
        }
        part.experiments.push(ExperimentSource {
            name: file.display().to_string(),
            text,
        });
        names.push(exp.name);
        part.runs.extend(plan.runs);
    }
    part.title = format!(
        "Sweep report: {}{}",
        names.join(", "),
        if args.smoke { " (smoke)" } else { "" }
    );
    Ok(part)
}

/// One part per recorded experiment (newest first), those `--experiment`,
/// `--smoke` and `--synthetic` pick.
fn recorded_parts(args: &ReportArgs) -> anyhow::Result<Vec<Part>> {
    let records = Records::read(&args.results);
    for why in &records.unreadable {
        eprintln!("note: skipped an unreadable experiment record: {why}");
    }
    let latest = records.latest();
    if latest.is_empty() {
        anyhow::bail!(
            "no experiment recorded in {} (`sweep run` records each experiment it runs); \
             name an experiment file: sweep report FILE",
            args.results.display()
        );
    }
    let chosen: Vec<&ExperimentRecord> = latest
        .iter()
        .copied()
        .filter(|r| args.experiment.as_ref().is_none_or(|n| &r.name == n))
        .filter(|r| (!args.smoke || r.smoke) && (!args.synthetic || r.synthetic))
        .collect();
    if chosen.is_empty() {
        let names: Vec<String> = latest.iter().map(|r| r.title()).collect();
        anyhow::bail!(
            "no recorded experiment {}in {}; recorded: {}",
            args.experiment
                .as_ref()
                .map_or(String::new(), |n| format!("`{n}` ")),
            args.results.display(),
            names.join(", ")
        );
    }
    for shown in &chosen {
        for other in records.same_name_from_other_files(shown) {
            eprintln!(
                "note: `{}` was also run from {} ({}); this report shows {}, the newest; \
                 `sweep report {}` reports the other",
                shown.title(),
                other.source.display(),
                other.recorded_at,
                shown.source.display(),
                other.source.display()
            );
        }
    }
    chosen.into_iter().map(|r| recorded_part(args, r)).collect()
}

/// The runs of a recorded experiment: its text planned again (so changed
/// data still shows), runs without data keyed from its run folders.
fn recorded_part(args: &ReportArgs, record: &ExperimentRecord) -> anyhow::Result<Part> {
    let prefer: HashSet<RunKey> = record.runs.iter().map(|r| r.key.clone()).collect();
    let mut common = common(args, &record.source);
    common.options.smoke = record.smoke;
    common.options.synthetic = record.synthetic;
    common.options.set = record.overrides.clone();
    let runs = match sweep_core::spec::overrides::load_text_with_overrides(
        &record.text,
        &record.source,
        &record.overrides,
    ) {
        Ok(exp) => {
            plan_experiment(&exp, &common, Adopt::FinishedOrFailed, &prefer)
                .0
                .runs
        }
        // Written by a version of sweep that read it differently: the
        // recorded runs as they were planned.
        Err(_) => {
            let store = Store::new(&args.results);
            record
                .runs
                .iter()
                .map(|r| PlannedRun {
                    spec: r.input.run.clone(),
                    input: Some(r.input.clone()),
                    key: Some(r.key.clone()),
                    data_file: None,
                    status: PlanStatus::Store(store.status(&r.key)),
                })
                .collect()
        }
    };
    Ok(Part {
        title: format!("Sweep report: {}", record.title()),
        heading: Some(Heading {
            title: record.title(),
            source: record.source.display().to_string(),
            recorded_at: record.recorded_at.clone(),
            overrides: record.overrides.clone(),
        }),
        experiments: vec![ExperimentSource {
            name: record.source.display().to_string(),
            text: record.annotated_text(),
        }],
        runs,
    })
}

/// The one part a view that shows one experiment needs.
fn single(mut parts: Vec<Part>, what: &str) -> anyhow::Result<Part> {
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    let names: Vec<String> = parts
        .iter()
        .filter_map(|p| Some(p.heading.as_ref()?.title.clone()))
        .collect();
    anyhow::bail!(
        "{what} shows one experiment and {} are recorded ({}); pick one with --experiment NAME",
        parts.len(),
        names.join(", ")
    )
}

pub(crate) fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let parts = if args.files.is_empty() {
        recorded_parts(args)?
    } else {
        vec![file_part(args)?]
    };
    let store = Store::new(&args.results);
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
        return html_report(args, &store, single(parts, "--format html")?, out);
    }
    let format: Format = args
        .format
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--format: {e}"))?;
    let parts = if args.per_class || args.prevalence {
        vec![single(parts, "--per-class or --prevalence")?]
    } else if matches!(format, Format::Csv | Format::Json) {
        vec![single(parts, "--format csv or json")?]
    } else {
        parts
    };
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if let Some(heading) = &part.heading {
            out.push_str(&heading.render(format));
        }
        let text = render_part(args, format, &store, &part.runs)?;
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The table of one part's runs, in `format`.
fn render_part(
    args: &ReportArgs,
    format: Format,
    store: &Store,
    runs: &[PlannedRun],
) -> anyhow::Result<String> {
    let filters = parse_assignments(&args.filters, "--where")?;
    let render_options = RenderOptions {
        decimals: args.decimals,
        color: format == Format::Table && std::io::stdout().is_terminal(),
    };
    Ok(if args.per_class || args.prevalence {
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
                per_class_flattened(store, runs, &selection, split)?
            } else {
                per_class(store, runs, &selection, split)?
            };
            render(&table, format, &render_options)
        } else {
            render(
                &prevalence(store, runs, &selection)?,
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
            &build_report(store, runs, &options)?,
            format,
            &render_options,
        )
    })
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
    part: Part,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let options = HtmlOptions {
        report: ReportOptions {
            metrics: args.metrics.clone(),
            group_by: args.group_by.clone(),
            filters: parse_assignments(&args.filters, "--where")?,
            baseline: parse_assignments(&args.baseline, "--baseline")?,
        },
        decimals: args.decimals,
        title: part.title,
        experiments: part.experiments,
    };
    let written = write_html(store, &part.runs, &options, out)?;
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
