//! The LaTeX table a paper takes as it is: a default report over an
//! ablation of four fields (15 columns, and the baseline comparison) is
//! compiled with `pdflatex` on an A4 portrait page and must not run off it;
//! each column reads in one number format; the baseline is named by four
//! fields in one comma-separated argument.
//!
//! `pdflatex` comes from Debian's `texlive-latex-base` and
//! `texlive-latex-recommended` (booktabs), which `scripts/test` installs
//! when missing. Without it the compile is a counted skip, except under
//! `CI=true`, where it must be there.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use sweep_core::hash::KeyInput;
use sweep_core::plan::{PlanStatus, PlannedRun};
use sweep_core::run_spec::RunSpec;
use sweep_core::select::FieldCondition;
use sweep_core::store::Store;
use sweep_core::train_options::TrainOptions;
use sweep_report::{Format, RenderOptions, ReportOptions, build_report, render};

use crate::results_folder::write_done;

#[path = "../../../sweep-data/src/test_support/skip.rs"]
mod skip_record;

/// One run of the ablation: arch × lr × class weighting × pos_weight, 2 folds.
fn spec(arch: &str, lr: f64, weighting: &str, pos_weight: Option<f64>, fold: u32) -> RunSpec {
    serde_json::from_value(json!({
        "dataset": "synthetic:dermamnist",
        "arch": arch,
        "lr": lr,
        "class_weighting": weighting,
        "pos_weight": pos_weight.map_or(json!("none"), |w| json!({"scalar": w})),
        "folds": {"kfold": {"k": 2, "stratified": true, "split_seed": 0}},
        "fold": fold,
        "seed": 0,
        "train": serde_json::to_value(TrainOptions::default()).unwrap(),
    }))
    .unwrap()
}

/// Every run of the ablation, each written as finished.
fn ablation(store: &Store) -> Vec<PlannedRun> {
    let mut runs = Vec::new();
    let mut seed = 100;
    for arch in ["chest_cnn", "resnet18"] {
        for lr in [1e-3, 1e-4] {
            for weighting in ["none", "balanced"] {
                for pos_weight in [None, Some(10.0)] {
                    for fold in 0..2 {
                        let s = spec(arch, lr, weighting, pos_weight, fold);
                        let input = KeyInput::new(s.clone(), "synthetic".into());
                        let key = input.key();
                        let mut run = PlannedRun {
                            status: PlanStatus::Store(store.status(&key)),
                            spec: s,
                            input: Some(input),
                            key: Some(key),
                            data_file: None,
                        };
                        seed += 1;
                        write_done(store, &run, seed, 1.0 + (seed % 5) as f64 / 4.0);
                        run.status = PlanStatus::Store(store.status(run.key.as_ref().unwrap()));
                        runs.push(run);
                    }
                }
            }
        }
    }
    runs
}

/// The LaTeX of the default report with a baseline named by four fields.
fn default_latex(tmp: &Path) -> String {
    let store = Store::new(tmp.join("results"));
    let runs = ablation(&store);
    let options = ReportOptions {
        baseline: FieldCondition::parse_list(
            "arch=chest_cnn,lr=1e-3,class_weighting=none,pos_weight=none",
        )
        .unwrap(),
        ..ReportOptions::default()
    };
    let report = build_report(&store, &runs, &options).unwrap();
    assert_eq!(
        report.columns,
        ["arch", "lr", "class_weighting", "pos_weight"]
    );
    assert_eq!(report.rows.len(), 16);
    assert_eq!(report.comparison.as_ref().unwrap().baseline_row, 0);
    render(&report, Format::Latex, &RenderOptions::default())
}

#[test]
fn columns_read_in_one_format_and_counts_group_their_digits() {
    let tmp = tempfile::tempdir().unwrap();
    let tex = default_latex(tmp.path());
    let body_rows: Vec<&str> = tex
        .lines()
        .filter(|l| l.trim_start().starts_with("chest") || l.trim_start().starts_with("resnet"))
        .collect();
    // The main table's 16 rows, then the comparison's rows, all with an lr cell.
    assert!(body_rows.len() > 16, "{tex}");
    for row in &body_rows {
        let lr = row.split(" & ").nth(1).unwrap();
        assert!(lr == "1e-3" || lr == "1e-4", "lr cell `{lr}` in {row}");
    }
    // params: 4321 in every run, with its thousands grouped (after n = 2).
    let main_rows = body_rows
        .iter()
        .filter(|r| r.contains(" & 2 & 4,321 & "))
        .count();
    assert_eq!(main_rows, 16, "{tex}");
}

#[test]
fn a_wide_latex_table_compiles_within_the_page() {
    if !has_pdflatex() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "pdflatex is missing under CI=true; scripts/test installs texlive-latex-base and texlive-latex-recommended"
        );
        skip_record::skip(
            "pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-recommended)",
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tex = default_latex(tmp.path());
    let log = compile(tmp.path(), "fitted", &tex);
    let overfull: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("Overfull \\hbox"))
        .collect();
    assert!(overfull.is_empty(), "{overfull:?}\n{tex}");

    // The same table without the scaling runs off the page: the check
    // above is about a table that needs it.
    let unscaled = tex
        .lines()
        .filter(|l| !l.contains("\\resizebox"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\end{tabular}}", "\\end{tabular}");
    let log = compile(tmp.path(), "unscaled", &unscaled);
    let too_wide = widest_overfull(&log);
    assert!(
        too_wide > 100.0,
        "the unscaled table overflows by {too_wide}pt"
    );
}

fn has_pdflatex() -> bool {
    Command::new("pdflatex")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Compiles `table` in an A4 article; returns the log.
fn compile(dir: &Path, name: &str, table: &str) -> String {
    let doc = format!(
        "\\documentclass[a4paper]{{article}}\n\\usepackage{{booktabs}}\n\\usepackage{{graphicx}}\n\
         \\begin{{document}}\n{table}\n\\end{{document}}\n"
    );
    std::fs::write(dir.join(format!("{name}.tex")), doc).unwrap();
    let out = Command::new("pdflatex")
        .args(["-interaction=nonstopmode", "-halt-on-error"])
        .arg(format!("{name}.tex"))
        .current_dir(dir)
        .output()
        .unwrap();
    let log = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
    assert!(
        out.status.success(),
        "pdflatex failed:\n{}\n{log}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(dir.join(format!("{name}.pdf")).is_file());
    log
}

/// The largest `Overfull \hbox (Xpt too wide)` of a log, 0 when none.
fn widest_overfull(log: &str) -> f64 {
    log.lines()
        .filter_map(|l| l.strip_prefix("Overfull \\hbox ("))
        .filter_map(|l| l.split_once("pt too wide").map(|(n, _)| n))
        .filter_map(|n| n.parse::<f64>().ok())
        .fold(0.0, f64::max)
}
