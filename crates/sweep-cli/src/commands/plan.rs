//! `sweep plan`: the runs of an experiment, their keys and cache status.

use std::process::ExitCode;

use anyhow::Context;
use sweep_core::expand::Variant;
use sweep_core::experiment::Experiment;
use sweep_core::plan::{Plan, plan};
use sweep_core::run_spec::format_number;
use sweep_core::store::Store;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::cli::{Common, PlanArgs};
use crate::fingerprints::DataFingerprints;

/// Loads the experiment and plans it against the results folder.
pub fn load_plan(common: &Common) -> anyhow::Result<(Experiment, Plan, Store)> {
    let exp = sweep_core::spec::load(&common.file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let data_root = common
        .data_dir
        .clone()
        .unwrap_or_else(|| exp.resolve_data_root());
    let store = Store::new(&common.results);
    let fp = DataFingerprints {
        cache_dir: Some(common.results.join(".fingerprints")),
    };
    let variant = Variant {
        smoke: common.smoke,
        synthetic: common.synthetic,
    };
    let plan = plan(&exp, variant, &data_root, &store, &fp);
    Ok((exp, plan, store))
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
    status: String,
}

pub fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let (exp, plan, store) = load_plan(&args.common)?;
    if args.json {
        let runs: Vec<serde_json::Value> = plan
            .runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "key": r.key,
                    "status": r.status.label(),
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
    let rows = plan.runs.iter().map(|r| Row {
        key: r.key.as_ref().map_or("-".into(), |k| k.short().to_string()),
        dataset: r.spec.dataset.clone(),
        arch: r.spec.arch.clone(),
        lr: format_number(r.spec.lr),
        weighting: r.spec.weighting_label(),
        pos_weight: r.spec.pos_weight_label(),
        fold: r.spec.fold_label(),
        seed: r.spec.seed,
        status: r.status.label().to_string(),
    });
    println!("{}", Table::new(rows).with(Style::sharp()));
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
    if let Some(missing) = plan.runs.iter().find_map(|r| match &r.status {
        sweep_core::plan::PlanStatus::MissingData(why) => Some(why),
        _ => None,
    }) {
        println!("note: {missing}");
    }
    Ok(ExitCode::SUCCESS)
}
