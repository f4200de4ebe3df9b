//! What the HTML report's figures read from each finished run, loaded once:
//! the per-epoch history, the validation AUC that picks the best
//! configuration, the test-set summary (AUC, confusion counts), the train
//! and validation summaries (prevalence, per-label validation table) and the
//! library versions, grouped by the rows of the comparison table.
//!
//! A file that cannot be read costs only the figure that needs it: every
//! problem is kept next to the run so the page can say what is missing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use sweep_core::hash::RunKey;
use sweep_core::store::{HISTORY_FILE, Store};
use sweep_metrics::{BinaryCounts, ConfusionMatrix, TaskKind};

use crate::collect::read_metrics;
use crate::report_table::Report;
use crate::split_metrics::SplitSummary;
use sweep_data::medmnist::Split;

/// `history.csv` as columns; empty cells (an undefined AUC) are `NaN`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HistoryColumns {
    columns: Vec<(String, Vec<f64>)>,
}

impl HistoryColumns {
    pub(super) fn parse(text: &[u8]) -> Result<HistoryColumns, String> {
        let mut reader = csv::Reader::from_reader(text);
        let mut columns: Vec<(String, Vec<f64>)> = reader
            .headers()
            .map_err(|e| e.to_string())?
            .iter()
            .map(|h| (h.trim().to_string(), Vec::new()))
            .collect();
        for (line, record) in reader.records().enumerate() {
            let record = record.map_err(|e| e.to_string())?;
            for (i, (name, values)) in columns.iter_mut().enumerate() {
                let cell = record.get(i).unwrap_or("").trim();
                values.push(if cell.is_empty() {
                    f64::NAN
                } else {
                    cell.parse().map_err(|_| {
                        format!(
                            "row {}: `{cell}` in column {name} is not a number",
                            line + 2
                        )
                    })?
                });
            }
        }
        Ok(HistoryColumns { columns })
    }

    /// One value per epoch, or `None` when the column does not exist.
    pub(super) fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// The part of a split's summary in `metrics.json` that the figures use.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct SplitNumbers {
    pub kind: TaskKind,
    pub n_outputs: usize,
    pub auc: Option<f64>,
    /// One-vs-rest counts per output (class 1 only for binary tasks).
    #[serde(default)]
    pub counts_per_class: Vec<BinaryCounts>,
    /// k×k (2×2 for binary tasks); `None` for multi-label tasks.
    #[serde(default)]
    pub confusion_matrix: Option<ConfusionMatrix>,
}

/// One finished run of a row.
#[derive(Debug, Clone)]
pub(crate) struct RunData {
    pub dir: PathBuf,
    pub history: Result<HistoryColumns, String>,
    pub val_auc: Option<f64>,
    pub test: Result<SplitNumbers, String>,
    /// Per-class counts and report of the training split (its supports are
    /// the train-set prevalence).
    pub train: Result<SplitSummary, String>,
    /// Per-class counts, report and AUCs of the validation split.
    pub val: Result<SplitSummary, String>,
    /// Library → version, as recorded under `versions`.
    pub versions: BTreeMap<String, String>,
}

/// The finished runs of one row of the comparison table.
#[derive(Debug, Clone)]
pub(crate) struct RowData {
    /// "dataset = …, lr = 0.001", as the table's footnotes name the row.
    pub label: String,
    /// The label without the dataset ("lr = 0.001"), for figures that
    /// show one dataset; the dataset itself when nothing else is left.
    pub short: String,
    /// `None` when the row pools runs of several datasets.
    pub dataset: Option<String>,
    pub runs: Vec<RunData>,
}

/// The finished runs of every row of `report`, read from `store`.
pub(crate) fn load(store: &Store, report: &Report) -> Vec<RowData> {
    (0..report.rows.len())
        .map(|i| {
            let runs = report.rows[i]
                .runs
                .par_iter()
                .filter(|r| r.is_done())
                .filter_map(|r| {
                    let key = RunKey::parse(r.key.as_deref()?)?;
                    Some(load_run(store.run_dir(&key)))
                })
                .collect();
            let dataset = row_dataset(report, i);
            RowData {
                label: report.row_label(i),
                short: short_label(report, i, dataset.as_deref()),
                dataset,
                runs,
            }
        })
        .collect()
}

fn load_run(dir: PathBuf) -> RunData {
    let history = std::fs::read(dir.join(HISTORY_FILE))
        .map_err(|e| format!("{HISTORY_FILE}: {e}"))
        .and_then(|b| HistoryColumns::parse(&b).map_err(|e| format!("{HISTORY_FILE}: {e}")));
    let metrics = read_metrics(&dir);
    let split = |name: &str| -> Result<SplitNumbers, String> {
        let m = metrics.as_ref().map_err(Clone::clone)?;
        let part = m
            .get(name)
            .ok_or_else(|| format!("metrics.json has no `{name}` summary"))?;
        serde_json::from_value(part.clone())
            .map_err(|e| format!("unreadable metrics.json `{name}` summary: {e}"))
    };
    let versions = metrics
        .as_ref()
        .ok()
        .and_then(|m| m.get("versions"))
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default();
    let summary = |s: Split| -> Result<SplitSummary, String> {
        SplitSummary::from_metrics(metrics.as_ref().map_err(Clone::clone)?, s)
    };
    RunData {
        history,
        val_auc: split("val").ok().and_then(|s| s.auc),
        test: split("test"),
        train: summary(Split::Train),
        val: summary(Split::Val),
        versions,
        dir,
    }
}

/// The dataset of row `i`: its column, or the caption when every row shares
/// one; `None` when rows pool several datasets (`--group-by` without it).
fn row_dataset(report: &Report, i: usize) -> Option<String> {
    if let Some(c) = report.columns.iter().position(|c| c == "dataset") {
        return Some(report.rows[i].values[c].clone());
    }
    report
        .caption
        .iter()
        .find(|c| c.field == "dataset")
        .map(|c| c.value.clone())
}

fn short_label(report: &Report, i: usize, dataset: Option<&str>) -> String {
    let parts: Vec<String> = report
        .columns
        .iter()
        .zip(&report.rows[i].values)
        .filter(|(c, _)| *c != "dataset")
        .map(|(c, v)| format!("{c} = {v}"))
        .collect();
    if parts.is_empty() {
        dataset.map_or_else(|| report.row_label(i), str::to_string)
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_columns_keep_undefined_epochs_as_nan() {
        let h =
            HistoryColumns::parse(b"epoch,train_loss,val_auc\n1,0.7,\n2,0.5,0.61\n3,0.45,0.66\n")
                .unwrap();
        assert_eq!(h.column("train_loss"), Some(&[0.7, 0.5, 0.45][..]));
        let auc = h.column("val_auc").unwrap();
        assert!(auc[0].is_nan());
        assert_eq!(&auc[1..], &[0.61, 0.66]);
        assert_eq!(h.column("test_auc"), None);
        let err = HistoryColumns::parse(b"epoch,val_loss\n1,abc\n").unwrap_err();
        assert!(err.contains("row 2") && err.contains("val_loss"), "{err}");
    }

    #[test]
    fn a_run_folder_with_broken_files_keeps_what_it_can() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::write(dir.join(HISTORY_FILE), "epoch,val_loss\n1,x\n").unwrap();
        std::fs::write(
            dir.join("metrics.json"),
            r#"{"val": {"kind": "binary", "n_outputs": 1, "auc": 0.75},
                "versions": {"torch": "2.13.0", "sweep": "0.1.0"}}"#,
        )
        .unwrap();
        let key = sweep_core::hash::RunKey::parse(&"0".repeat(64)).unwrap();
        Store::complete(&dir, &key, &[HISTORY_FILE, "metrics.json"]).unwrap();
        let run = load_run(dir);
        assert_eq!(run.val_auc, Some(0.75));
        assert!(run.history.unwrap_err().starts_with("history.csv: row 2"));
        assert_eq!(run.test.unwrap_err(), "metrics.json has no `test` summary");
        assert_eq!(run.versions["torch"], "2.13.0");
        assert_eq!(run.versions.len(), 2);
    }
}
