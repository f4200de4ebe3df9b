//! `sweep plan`: the runs of an experiment, their keys and cache status, and
//! what `sweep run` would do with them (the same triage it applies).

use std::collections::HashSet;
use std::process::ExitCode;

use anyhow::Context;
use sweep_core::expand::Variant;
use sweep_core::experiment::Experiment;
use sweep_core::hash::RunKey;
use sweep_core::plan::{Plan, PlanStatus, plan};
use sweep_core::run_folders::{self, Adopt};
use sweep_core::run_label::RunLabels;
use sweep_core::store::{RunStatus, Store};
use sweep_core::triage::{TriageOptions, Verdict, triage};
use tabled::settings::location::ByColumnName;
use tabled::settings::{Remove, Style};
use tabled::{Table, Tabled};

use crate::cli::{Common, PlanArgs};
use crate::commands::run::labelled_runs;
use sweep_core::fingerprints::DataFingerprints;

/// Loads the experiment and plans it against the results folder.
pub(crate) fn load_plan(common: &Common) -> anyhow::Result<(Experiment, Plan, Store)> {
    let (exp, _) = load_experiment(common)?;
    let (plan, store) = plan_experiment(&exp, common, Adopt::FinishedOrFailed, &HashSet::new());
    Ok((exp, plan, store))
}

/// Reads `common.file` with the `--set` overrides applied (the one loader
/// of every command that takes an experiment file); also returns the
/// file's text as read.
pub(crate) fn load_experiment(common: &Common) -> anyhow::Result<(Experiment, String)> {
    sweep_core::spec::load_with_overrides(&common.file, &common.options.set)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// [`load_experiment`] for the commands that start runs or show what would
/// start (`run`, `plan`): the training commands' programs must also be
/// found here. Commands that only read results do not ask.
pub(crate) fn load_experiment_to_run(common: &Common) -> anyhow::Result<(Experiment, String)> {
    let (exp, text) = load_experiment(common)?;
    exp.check_programs(&text)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((exp, text))
}

/// Plans `exp` against the results folder. Runs whose data is missing take
/// their keys from the runs that the results folder recorded (`adopt`
/// says which; `prefer`: keys to choose first), and runs whose data changed
/// since they finished are stale ([`sweep_core::run_folders`]).
pub(crate) fn plan_experiment(
    exp: &Experiment,
    common: &Common,
    adopt: Adopt,
    prefer: &HashSet<RunKey>,
) -> (Plan, Store) {
    let data_root = common
        .options
        .data_dir
        .clone()
        .unwrap_or_else(|| exp.resolve_data_root());
    let store = Store::new(&common.options.results);
    let fp = DataFingerprints {
        cache_dir: Some(common.options.results.join(".fingerprints")),
    };
    let variant = Variant {
        smoke: common.options.smoke,
        synthetic: common.options.synthetic,
    };
    let mut plan = plan(exp, variant, &data_root, &store, &fp);
    run_folders::resolve(&mut plan, &store, adopt, prefer);
    (plan, store)
}

#[derive(Tabled)]
struct Row {
    key: String,
    dataset: String,
    arch: String,
    lr: String,
    weighting: String,
    pos_weight: String,
    fold: String,
    seed: u64,
    /// The other fields that vary among the plan's runs (`batch_size=64`).
    #[tabled(rename = "also varies")]
    others: String,
    status: String,
}

/// What `sweep run` would do with a run, for `--json`.
fn next_step(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Cached => "cached",
        Verdict::Elsewhere { .. } => "training-elsewhere",
        Verdict::Failed { .. } | Verdict::NoData(_) => "skip",
        Verdict::Pending => "train",
    }
}

pub(crate) fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let (exp, _) = load_experiment_to_run(&args.common)?;
    let (plan, store) =
        plan_experiment(&exp, &args.common, Adopt::FinishedOrFailed, &HashSet::new());
    let triage = triage(labelled_runs(&plan), &store, &TriageOptions::default());
    if args.json {
        let runs: Vec<serde_json::Value> = triage
            .runs
            .iter()
            .map(|t| {
                let r = t.run;
                serde_json::json!({
                    "key": r.key,
                    "status": r.status.label(),
                    "run": next_step(&t.verdict),
                    "skip_reason": t.verdict.skip_message(),
                    "spec": r.spec,
                    "data_file": r.data_file,
                })
            })
            .collect();
        let out = serde_json::json!({
            "experiment": exp.name,
            "results": store.root(),
            "data_root": plan.data_root,
            "runs": runs,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).context("serialising plan")?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let labels = RunLabels::new(plan.runs.iter().map(|r| &r.spec));
    let rows: Vec<Row> = plan
        .runs
        .iter()
        .map(|r| Row {
            key: r.key.as_ref().map_or("-".into(), |k| k.short().to_string()),
            dataset: r.spec.dataset.clone(),
            arch: r.spec.arch.clone(),
            lr: labels.lr(&r.spec),
            weighting: r.spec.weighting_label(),
            pos_weight: r.spec.pos_weight_label(),
            fold: r.spec.fold_label(),
            seed: r.spec.seed,
            others: labels.other_fields(&r.spec, &["class_weighting", "pos_weight"]),
            status: r.status.label().to_string(),
        })
        .collect();
    let no_others = rows.iter().all(|r| r.others.is_empty());
    let mut table = Table::new(rows);
    if no_others {
        table.with(Remove::column(ByColumnName::new("also varies")));
    }
    println!("{}", table.with(Style::sharp()));
    println!(
        "{}: {} runs — {} done, {} pending, {} failed, {} stale, {} without data{}",
        exp.name,
        plan.runs.len(),
        plan.count("done"),
        plan.count("pending"),
        plan.count("failed"),
        plan.count("stale"),
        plan.count("no-data"),
        if plan.duplicates > 0 {
            format!(" ({} duplicate configurations merged)", plan.duplicates)
        } else {
            String::new()
        }
    );
    let skipped = triage.skipped().len();
    println!(
        "`sweep run` would train {}{}{}",
        triage.pending(),
        match triage.elsewhere() {
            0 => String::new(),
            n => format!(", wait for {n} another process is training"),
        },
        match skipped {
            0 => String::new(),
            n => format!(" and skip {n} (failed earlier or without data)"),
        }
    );
    for line in stale_reasons(&plan) {
        println!("{line}");
    }
    for line in commands_to_run(plan.runs.iter().map(|r| &r.spec)) {
        println!("{line}");
    }
    if let Some(missing) = plan.runs.iter().find_map(|r| match &r.status {
        sweep_core::plan::PlanStatus::MissingData(why) => Some(why),
        _ => None,
    }) {
        println!("note: {missing}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Why each stale run is stale (an edited training command's code, another
/// trainer version), one line per run.
fn stale_reasons(plan: &Plan) -> Vec<String> {
    plan.runs
        .iter()
        .filter_map(|r| match (&r.status, &r.key) {
            (PlanStatus::Store(RunStatus::Stale(why)), Some(key)) => {
                Some(format!("stale {}: {why}", key.short()))
            }
            _ => None,
        })
        .collect()
}

/// The training commands of the experiment's own that its runs start, each
/// once, with the folder its program and code are found in: an experiment
/// file can start programs, and `plan` and `validate` say which.
pub(crate) fn commands_to_run<'a>(
    specs: impl Iterator<Item = &'a sweep_core::run_spec::RunSpec>,
) -> Vec<String> {
    let mut seen: Vec<(&str, String)> = Vec::new();
    for spec in specs {
        if let Some(worker) = &spec.worker {
            let line = worker.display();
            if !seen
                .iter()
                .any(|(arch, l)| *arch == spec.arch && *l == line)
            {
                seen.push((&spec.arch, line));
            }
        }
    }
    let mut out = Vec::new();
    if !seen.is_empty() {
        out.push(
            "commands this experiment runs (each as its own process in its run's folder, never through a shell):"
                .to_string(),
        );
        out.extend(
            seen.into_iter()
                .map(|(arch, line)| format!("  {arch}: {line}")),
        );
    }
    out
}
