//! `sweep explain FILE | KEY`: why runs are pending or stale.
//!
//! A run's key is the hash of its inputs, so "why is this not cached?" is
//! "which input differs from a run that finished?". For every run of an
//! experiment that is not done (or for the one run a key names), this finds
//! the nearest finished run in the results folder, the one whose recorded
//! inputs differ in the fewest fields, of the same experiment first, and
//! prints one reason per differing field ([`sweep_core::explain`]):
//!
//! ```text
//! 3f9a2c1d0e4b breastmnist small_cnn lr=3e-4 fold official seed 0: pending
//!   nearest finished run a1b2c3d4e5f6, 1 difference:
//!     lr 0.001 → 3e-4
//! ```

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;
use sweep_core::explain::{self, Difference};
use sweep_core::hash::{KeyInput, RunKey};
use sweep_core::plan::PlanStatus;
use sweep_core::recorded::Records;
use sweep_core::run_folders::{Adopt, RunFolder, RunFolders};
use sweep_core::run_label::RunLabels;
use sweep_core::select::Selector;
use sweep_core::store::{RunStatus, Store};

use crate::cli::{Common, ExplainArgs};
use crate::commands::plan::{load_experiment, plan_experiment};

/// Shortest key prefix accepted.
const MIN_PREFIX: usize = 4;

pub(crate) fn run(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let path = Path::new(&args.target);
    let looks_like_key = args.target.len() >= MIN_PREFIX
        && args.target.len() <= 64
        && args
            .target
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if path.exists() || !looks_like_key {
        explain_file(args, path)
    } else {
        explain_key(args)
    }
}

/// Every run of an experiment that is not done.
fn explain_file(args: &ExplainArgs, file: &Path) -> anyhow::Result<ExitCode> {
    let common = Common {
        file: file.to_path_buf(),
        options: args.options.clone(),
    };
    let (exp, _) = load_experiment(&common)?;
    let (plan, store) = plan_experiment(&exp, &common, Adopt::FinishedOrFailed, &HashSet::new());
    let selector = Selector::for_experiment(&args.only, &exp, plan.runs.iter().map(|r| &r.spec))
        .map_err(|e| anyhow::anyhow!("--only {e}"))?;
    let folders = RunFolders::scan(&store);
    let labels = RunLabels::new(plan.runs.iter().map(|r| &r.spec));
    let (mut done, mut explained) = (0, 0);
    for run in plan.runs.iter().filter(|r| selector.matches_run(&r.spec)) {
        if run.status.is_done() {
            done += 1;
            continue;
        }
        explained += 1;
        let short = run.key.as_ref().map_or("-", RunKey::short);
        println!(
            "{short} {}: {}",
            labels.label(&run.spec),
            status_text(&run.status)
        );
        let (target, data_known) = match &run.input {
            Some(input) => (explain::input_json(input), true),
            None => (
                explain::input_json(&KeyInput::new(run.spec.clone(), String::new())),
                false,
            ),
        };
        print_nearest(&target, data_known, run.key.as_ref(), &exp.name, &folders);
    }
    println!(
        "{}: {} run{} — {done} done, {explained} not done{}",
        exp.name,
        done + explained,
        if done + explained == 1 { "" } else { "s" },
        if explained > 0 {
            " (explained above)"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// One run, named by (a prefix of) its key: a run folder, or a run a
/// recorded plan lists.
fn explain_key(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let store = Store::new(&args.options.results);
    let folders = RunFolders::scan(&store);
    let records = Records::read(&args.options.results);
    let prefix = args.target.as_str();
    // (key, inputs, experiment) of every run the prefix names.
    let mut found: Vec<(RunKey, Value, String)> = folders
        .with_prefix(prefix)
        .into_iter()
        .map(|f| {
            let exp = f.experiments.first().cloned().unwrap_or_default();
            (f.key.clone(), f.input.clone(), exp)
        })
        .collect();
    for record in &records.records {
        for r in record
            .runs
            .iter()
            .filter(|r| r.key.as_str().starts_with(prefix))
        {
            if !found.iter().any(|(k, _, _)| k == &r.key) {
                found.push((
                    r.key.clone(),
                    explain::input_json(&r.input),
                    record.name.clone(),
                ));
            }
        }
    }
    let (key, target, experiment) = match found.len() {
        0 => anyhow::bail!(
            "no run in {} has a key starting with `{prefix}`, and no recorded plan lists one \
             (give an experiment file to explain its runs)",
            args.options.results.display()
        ),
        1 => found.remove(0),
        n => {
            let keys: Vec<&str> = found.iter().map(|(k, _, _)| k.short()).collect();
            anyhow::bail!(
                "`{prefix}` names {n} runs ({}); give more of the key",
                keys.join(", ")
            )
        }
    };
    let status = PlanStatus::Store(store.status(&key));
    let label = serde_json::from_value::<KeyInput>(target.clone())
        .map(|input| format!(" {}", RunLabels::new([&input.run]).label(&input.run)))
        .unwrap_or_default();
    println!("{}{label}: {}", key.short(), status_text(&status));
    if !status.is_done() {
        print_nearest(&target, true, Some(&key), &experiment, &folders);
    }
    Ok(ExitCode::SUCCESS)
}

/// `pending`, `stale: why`, `failed: kind: message`, `no data: why`.
fn status_text(status: &PlanStatus) -> String {
    match status {
        PlanStatus::MissingData(why) => format!("no data: {why}"),
        PlanStatus::Store(RunStatus::Stale(why)) => format!("stale: {why}"),
        PlanStatus::Store(RunStatus::Failed(f)) => format!("failed: {}: {}", f.kind, f.message),
        PlanStatus::Store(s) => s.label().to_string(),
    }
}

/// The reasons `target` differs from the nearest finished run (other than
/// itself), those of `experiment` considered first.
fn print_nearest(
    target: &Value,
    data_known: bool,
    key: Option<&RunKey>,
    experiment: &str,
    folders: &RunFolders,
) {
    let finished = folders
        .folders()
        .iter()
        .filter(|f| f.is_done() && Some(&f.key) != key);
    let (same, other): (Vec<&RunFolder>, Vec<&RunFolder>) =
        finished.partition(|f| f.experiments.iter().any(|e| e == experiment));
    let candidates = same.into_iter().chain(other).map(|f| (&f.input, f));
    match explain::nearest(target, data_known, candidates) {
        None => println!("  no finished run in the results folder to compare with"),
        Some((f, diff)) => print_reasons(f, &diff),
    }
}

fn print_reasons(nearest: &RunFolder, diff: &[Difference]) {
    let n = diff.len();
    if n == 0 {
        println!(
            "  nearest finished run {} has the same recorded inputs",
            nearest.key.short()
        );
        return;
    }
    println!(
        "  nearest finished run {}, {n} difference{}:",
        nearest.key.short(),
        if n == 1 { "" } else { "s" }
    );
    for d in diff {
        println!("    {d}");
    }
}
