//! The files a finished run leaves in its results folder, written atomically:
//! `metrics.json`, `history.csv`, `predictions.csv`.

use std::path::Path;

use serde::Serialize;
use sweep_core::store::{HISTORY_FILE, METRICS_FILE, PREDICTIONS_FILE, write_atomic};
use sweep_metrics::metric_summary::MetricSummary;

use crate::fit::{EpochRecord, SplitScores};
use crate::loss::ResolvedWeights;

/// Library versions recorded with every result.
#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    pub sweep: String,
    pub torch: String,
    pub tch: String,
}

/// A thread budget a run grew to while training.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GrownThreads {
    pub threads: i32,
    pub from_epoch: u32,
}

/// `metrics.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunMetrics {
    pub key: String,
    pub dataset: String,
    pub arch: String,
    pub task: String,
    pub params: u64,
    pub trainable_params: u64,
    pub epochs_run: u32,
    pub best_epoch: u32,
    pub stopped_early: bool,
    /// Seconds spent in the epoch loop (training + per-epoch validation).
    pub train_seconds: f64,
    /// Seconds for the whole worker (data loading and final evaluation too).
    pub wall_seconds: f64,
    /// Peak resident memory of the worker process in MiB (libtorch included),
    /// read after the final evaluation; `None` where the OS does not say.
    pub peak_rss_mib: Option<f64>,
    pub device: String,
    /// Intra-op threads the run started with (`SWEEP_THREADS`).
    pub threads: i32,
    /// The largest budget it grew to at the tail of a sweep
    /// (`resources.grow_threads`), and the first epoch trained on it;
    /// absent when it never grew.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads_grown: Option<GrownThreads>,
    pub samples: [usize; 3],
    pub weights: ResolvedWeights,
    pub train: MetricSummary,
    pub val: MetricSummary,
    pub test: MetricSummary,
    pub train_loss: f64,
    pub val_loss: f64,
    pub test_loss: f64,
    pub versions: Versions,
}

/// Peak resident set size of this process so far, in MiB: Linux's `VmHWM`
/// from `/proc/self/status`. `None` on other systems or if it cannot be read.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

pub fn write_metrics(dir: &Path, metrics: &RunMetrics) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(metrics).map_err(std::io::Error::other)?;
    write_atomic(&dir.join(METRICS_FILE), &json)
}

/// The `history.csv` columns of one epoch after the `epoch` column, in order,
/// with their values (`None`: an empty cell). The TensorBoard curves are
/// written from the same list, so they show what the file holds;
/// `seconds` is rounded to the milliseconds the file keeps.
pub fn history_columns(r: &EpochRecord) -> Vec<(String, Option<f64>)> {
    let mut columns = vec![("lr".to_string(), Some(r.lr))];
    for (split, s) in [("train", &r.train), ("val", &r.val)] {
        for (m, v) in split_scores(s) {
            columns.push((format!("{split}_{m}"), v));
        }
    }
    let seconds = format!("{:.3}", r.seconds).parse().ok();
    columns.push((SECONDS.to_string(), seconds));
    columns
}

const SECONDS: &str = "seconds";

/// A split's scores as `history.csv` names them, in file order.
fn split_scores(s: &SplitScores) -> [(&'static str, Option<f64>); 9] {
    [
        ("loss", Some(s.loss)),
        ("accuracy", Some(s.accuracy)),
        ("auc", s.auc),
        ("sensitivity", Some(s.sensitivity)),
        ("specificity", Some(s.specificity)),
        ("f1", Some(s.f1)),
        ("flat_auc", s.flat_auc),
        ("flat_accuracy", s.flat_accuracy),
        ("flat_f1_weighted", s.flat_f1_weighted),
    ]
}

/// One row per epoch; undefined values (an AUC with one class, flattened
/// scores of a multi-class task) are empty cells.
pub fn write_history(dir: &Path, history: &[EpochRecord]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["epoch".to_string(), "lr".to_string()];
    for split in ["train", "val"] {
        for (m, _) in split_scores(&SplitScores::default()) {
            header.push(format!("{split}_{m}"));
        }
    }
    header.push(SECONDS.into());
    w.write_record(&header)?;
    for r in history {
        let columns = history_columns(r);
        let cells = columns.iter().map(|(name, value)| match value {
            Some(v) if name == SECONDS => format!("{v:.3}"),
            Some(v) => v.to_string(),
            None => String::new(),
        });
        w.write_record(std::iter::once(r.epoch.to_string()).chain(cells))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    write_atomic(&dir.join(HISTORY_FILE), &bytes)
}

/// Test-set scores: `index, y_0.., p_0..` (labels as stored, probabilities per output).
pub fn write_predictions(
    dir: &Path,
    labels: &[u8],
    width: usize,
    probs: &[f64],
    outputs: usize,
) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["index".to_string()];
    header.extend((0..width).map(|j| format!("y_{j}")));
    header.extend((0..outputs).map(|j| format!("p_{j}")));
    w.write_record(&header)?;
    let n = labels.len() / width.max(1);
    for i in 0..n {
        let mut row = vec![i.to_string()];
        row.extend(
            labels[i * width..(i + 1) * width]
                .iter()
                .map(|v| v.to_string()),
        );
        row.extend(
            probs[i * outputs..(i + 1) * outputs]
                .iter()
                .map(|p| p.to_string()),
        );
        w.write_record(&row)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    write_atomic(&dir.join(PREDICTIONS_FILE), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::EpochRecord;

    #[test]
    fn history_rows_keep_every_digit_empty_cells_and_millisecond_seconds() {
        let scores = |base: f64| SplitScores {
            loss: base,
            accuracy: 0.5,
            auc: None,
            sensitivity: 0.25,
            specificity: 0.75,
            f1: 1.0 / 3.0,
            balanced_accuracy: Some(0.5),
            flat_auc: Some(0.625),
            flat_accuracy: None,
            flat_f1_weighted: Some(0.125),
        };
        let record = EpochRecord {
            epoch: 3,
            lr: 1e-4,
            train: scores(0.1),
            val: scores(0.2),
            seconds: 2.0004,
        };
        let tmp = tempfile::tempdir().unwrap();
        write_history(tmp.path(), std::slice::from_ref(&record)).unwrap();
        let text = std::fs::read_to_string(tmp.path().join(HISTORY_FILE)).unwrap();
        let split = |loss: &str| format!("{loss},0.5,,0.25,0.75,0.3333333333333333,0.625,,0.125");
        let header = "epoch,lr,train_loss,train_accuracy,train_auc,train_sensitivity,\
            train_specificity,train_f1,train_flat_auc,train_flat_accuracy,train_flat_f1_weighted,\
            val_loss,val_accuracy,val_auc,val_sensitivity,val_specificity,val_f1,val_flat_auc,\
            val_flat_accuracy,val_flat_f1_weighted,seconds";
        let row = format!("3,0.0001,{},{},2.000", split("0.1"), split("0.2"));
        assert_eq!(text, format!("{header}\n{row}\n"));
        let columns = history_columns(&record);
        assert_eq!(columns.len(), 20, "every column but epoch");
        assert_eq!(columns[19], ("seconds".to_string(), Some(2.0)));
        assert_eq!(columns[3], ("train_auc".to_string(), None));
    }

    #[test]
    fn peak_rss_is_reported_on_linux() {
        let peak = super::peak_rss_mib();
        if cfg!(target_os = "linux") {
            assert!(peak.is_some_and(|m| m > 1.0), "{peak:?}");
        }
    }
}
