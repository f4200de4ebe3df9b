//! `sweep export`: an experiment's results as a tidy table for pandas,
//! polars or R, one observation per row, with every grid axis, the fold and
//! the seed as columns, so a notebook needs no knowledge of the results
//! folder. Final metrics come from `metrics.json` (the same names and
//! values as `sweep report --metrics`); `--per-epoch` exports `history.csv`
//! instead, one set of numbers per run and epoch. The schema is documented
//! in docs/exports.md.
//!
//! `table` builds the rows, `write` prints them as long CSV or JSON lines.

mod table;
mod write;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::str::FromStr;

use serde_json::Value;
use sweep_core::plan::PlannedRun;
use sweep_core::run_view::view;
use sweep_core::select::FieldCondition;
use sweep_core::store::Store;

use crate::columns::{metric_names, resolve};
use crate::error::ReportError;
use crate::filter;
use table::{IdColumns, Reading, tidy_runs};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV with one row per run and metric (and epoch): `…, metric, value`.
    LongCsv,
    /// One JSON object per line, per run (and epoch), metrics as keys.
    Jsonl,
}

impl FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "long-csv" => Ok(ExportFormat::LongCsv),
            "jsonl" => Ok(ExportFormat::Jsonl),
            _ => Err(format!(
                "unknown export format `{s}`; use long-csv or jsonl"
            )),
        }
    }
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: ExportFormat,
    /// One row set per run and epoch (from `history.csv`) instead of the
    /// final metrics.
    pub per_epoch: bool,
    /// Final metrics to export, by report name; empty = [`export_metrics`].
    pub metrics: Vec<String>,
    /// Keep only runs matching these `--where` conditions.
    pub filters: Vec<FieldCondition>,
}

/// The experiment whose runs are exported.
#[derive(Debug, Clone, Copy)]
pub struct ExportSource<'a> {
    /// The experiment's name (the `experiment` column).
    pub experiment: &'a str,
    /// Its grid axes: (name as written, path in the resolved run).
    pub axes: &'a [(String, String)],
    /// Its planned runs, in plan order.
    pub runs: &'a [PlannedRun],
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Runs with results, exported.
    pub runs: usize,
    /// Rows (long-csv) or lines (jsonl) written.
    pub rows: usize,
    /// Selected runs without results: `(status, reason, how many)`, in
    /// order of first appearance.
    pub missing: Vec<(String, String, usize)>,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("writing the export: {0}")]
    Write(#[from] io::Error),
}

/// The final metrics exported by default: every number of `metrics.json`
/// that `sweep report` can show, each once (`{split}_f1_macro`, not also
/// its alias `{split}_f1`); `final_*`/`best_*` come from the history,
/// which `--per-epoch` exports whole.
pub fn export_metrics() -> Vec<String> {
    let alias = |name: &str| {
        ["train", "val", "test"].iter().any(|split| {
            ["precision", "recall", "f1"]
                .iter()
                .any(|m| name == format!("{split}_{m}"))
        })
    };
    metric_names()
        .into_iter()
        .filter(|n| !n.starts_with("final_") && !n.starts_with("best_") && !alias(n))
        .collect()
}

/// Writes the finished runs of `source` to `out` as `options` ask.
pub fn export(
    store: &Store,
    source: ExportSource<'_>,
    options: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportSummary, ExportError> {
    if source.runs.is_empty() {
        return Err(ReportError::NoRuns.into());
    }
    let names = if options.metrics.is_empty() {
        export_metrics()
    } else {
        options.metrics.clone()
    };
    let metrics = resolve(&names)?;
    let views: Vec<Value> = source.runs.iter().map(|r| view(&r.spec)).collect();
    let all: Vec<&Value> = views.iter().collect();
    let selector = filter::compile(&options.filters, &all)?;
    let selected: Vec<(&PlannedRun, &Value)> = source
        .runs
        .iter()
        .zip(&views)
        .filter(|(_, v)| selector.matches(v))
        .collect();
    if selected.is_empty() {
        let filter: Vec<String> = options.filters.iter().map(ToString::to_string).collect();
        return Err(ReportError::NoMatch {
            filter: filter.join(" "),
            seen: format!(" (values present: {})", selector.seen_values(&all)),
        }
        .into());
    }
    let selected_views: Vec<&Value> = selected.iter().map(|(_, v)| *v).collect();
    let columns = IdColumns::new(source.axes, &selected_views);
    let reading = if options.per_epoch {
        Reading::PerEpoch
    } else {
        Reading::Final(&metrics)
    };
    let (done, missing) = tidy_runs(store, source.experiment, &columns, &selected, &reading);
    let missing = count_reasons(missing.into_iter().map(|(_, m)| (m.status, m.reason)));
    if done.is_empty() {
        let reasons: Vec<String> = missing
            .iter()
            .map(|(status, reason, n)| format!("{status}: {reason} ({n})"))
            .collect();
        return Err(ReportError::NothingDone {
            selected: selected.len(),
            reasons: reasons.join("; "),
        }
        .into());
    }
    let rows = match options.format {
        ExportFormat::LongCsv => write::long_csv(out, &columns.names, &done, options.per_epoch)?,
        ExportFormat::Jsonl => write::jsonl(out, &columns.names, &done, options.per_epoch)?,
    };
    Ok(ExportSummary {
        runs: done.len(),
        rows,
        missing,
    })
}

/// Identical `(status, reason)` pairs once each, with how often they came.
fn count_reasons(reasons: impl Iterator<Item = (String, String)>) -> Vec<(String, String, usize)> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for pair in reasons {
        let n = counts.entry(pair.clone()).or_insert(0);
        if *n == 0 {
            order.push(pair);
        }
        *n += 1;
    }
    order
        .into_iter()
        .map(|pair| {
            let n = counts[&pair];
            (pair.0, pair.1, n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use sweep_core::hash::KeyInput;
    use sweep_core::plan::PlanStatus;
    use sweep_core::store::{HISTORY_FILE, METRICS_FILE, write_atomic};

    use crate::test_support::spec;

    /// A run of lr `lr`, fold `fold`, done with `metrics` and `history`
    /// when they are given, pending otherwise.
    fn run(store: &Store, lr: f64, fold: u32, done: Option<(&str, &str)>) -> PlannedRun {
        let s = spec(&format!(r#"{{"lr": {lr}, "fold": {fold}}}"#));
        let input = KeyInput::new(s.clone(), "fp".into());
        let key = input.key();
        if let Some((metrics, history)) = done {
            let dir = store.run_dir(&key);
            fs::create_dir_all(&dir).unwrap();
            write_atomic(&dir.join(METRICS_FILE), metrics.as_bytes()).unwrap();
            write_atomic(&dir.join(HISTORY_FILE), history.as_bytes()).unwrap();
            Store::complete(&dir, &key, &[METRICS_FILE, HISTORY_FILE]).unwrap();
        }
        PlannedRun {
            status: PlanStatus::Store(store.status(&key)),
            spec: s,
            input: Some(input),
            key: Some(key),
            data_file: None,
        }
    }

    fn exported(
        runs: &[PlannedRun],
        store: &Store,
        options: &ExportOptions,
    ) -> (String, ExportSummary) {
        let axes = [("lr".to_string(), "lr".to_string())];
        let source = ExportSource {
            experiment: "study",
            axes: &axes,
            runs,
        };
        let mut out = Vec::new();
        let summary = export(store, source, options, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), summary)
    }

    #[test]
    fn finished_runs_export_with_axes_fold_and_seed_and_the_rest_are_counted() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let history = "epoch,lr,val_auc\n1,0.001,0.5\n2,0.0005,\n";
        let runs = [
            run(
                &store,
                0.001,
                0,
                Some((r#"{"params": 10, "val": {"auc": 0.75}}"#, history)),
            ),
            run(&store, 0.001, 1, None),
            run(&store, 0.01, 0, None),
        ];
        let key = runs[0].key.as_ref().unwrap().as_str().to_string();
        let options = ExportOptions {
            format: ExportFormat::LongCsv,
            per_epoch: false,
            metrics: vec!["params".into(), "val_auc".into(), "test_auc".into()],
            filters: Vec::new(),
        };
        let (text, summary) = exported(&runs, &store, &options);
        assert_eq!(
            text,
            format!(
                "experiment,key,lr,fold,seed,metric,value\n\
                 study,{key},0.001,1,0,params,10\n\
                 study,{key},0.001,1,0,val_auc,0.75\n"
            )
        );
        assert_eq!(summary.runs, 1);
        assert_eq!(summary.rows, 2);
        assert_eq!(
            summary.missing,
            [("pending".to_string(), "not run yet".to_string(), 2)]
        );

        let per_epoch = ExportOptions {
            format: ExportFormat::Jsonl,
            per_epoch: true,
            metrics: Vec::new(),
            filters: vec!["lr=1e-3".parse().unwrap()],
        };
        let (text, summary) = exported(&runs, &store, &per_epoch);
        assert_eq!(summary.missing.len(), 1, "the lr=0.01 run is not selected");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["epoch"], 2);
        assert_eq!(lines[1]["epoch_lr"], 0.0005);
        assert_eq!(lines[1]["val_auc"], Value::Null);
        assert_eq!(lines[0]["lr"], 0.001);
        assert_eq!(lines[0]["fold"], 1);
    }

    #[test]
    fn an_export_with_nothing_finished_says_why() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let runs = [run(&store, 0.001, 0, None), run(&store, 0.001, 1, None)];
        let axes: [(String, String); 0] = [];
        let source = ExportSource {
            experiment: "study",
            axes: &axes,
            runs: &runs,
        };
        let options = ExportOptions {
            format: ExportFormat::Jsonl,
            per_epoch: false,
            metrics: Vec::new(),
            filters: Vec::new(),
        };
        let err = export(&store, source, &options, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "none of the 2 selected runs is done: pending: not run yet (2)"
        );
    }

    #[test]
    fn the_default_metrics_resolve_and_leave_out_aliases_and_history() {
        let names = export_metrics();
        assert!(resolve(&names).is_ok());
        assert!(names.contains(&"test_f1_macro".to_string()));
        assert!(names.contains(&"val_flat_auc".to_string()));
        assert!(!names.contains(&"test_f1".to_string()));
        assert!(!names.iter().any(|n| n.starts_with("final_")));
    }
}
