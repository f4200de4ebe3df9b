//! The files a finished run leaves in its results folder, written atomically:
//! `metrics.json`, `history.csv`, `predictions.csv`.

use std::path::Path;

use serde::Serialize;
use sweep_core::store::{HISTORY_FILE, METRICS_FILE, PREDICTIONS_FILE, write_atomic};
use sweep_metrics::metric_summary::MetricSummary;

use crate::fit::EpochRecord;
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

/// One row per epoch; undefined values (an AUC with one class, flattened
/// scores of a multi-class task) are empty cells.
pub fn write_history(dir: &Path, history: &[EpochRecord]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["epoch".to_string(), "lr".to_string()];
    for split in ["train", "val"] {
        for m in [
            "loss",
            "accuracy",
            "auc",
            "sensitivity",
            "specificity",
            "f1",
            "flat_auc",
            "flat_accuracy",
            "flat_f1_weighted",
        ] {
            header.push(format!("{split}_{m}"));
        }
    }
    header.push("seconds".into());
    w.write_record(&header)?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    for r in history {
        let mut row = vec![r.epoch.to_string(), r.lr.to_string()];
        for s in [&r.train, &r.val] {
            row.extend([
                s.loss.to_string(),
                s.accuracy.to_string(),
                opt(s.auc),
                s.sensitivity.to_string(),
                s.specificity.to_string(),
                s.f1.to_string(),
                opt(s.flat_auc),
                opt(s.flat_accuracy),
                opt(s.flat_f1_weighted),
            ]);
        }
        row.push(format!("{:.3}", r.seconds));
        w.write_record(&row)?;
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
    #[test]
    fn peak_rss_is_reported_on_linux() {
        let peak = super::peak_rss_mib();
        if cfg!(target_os = "linux") {
            assert!(peak.is_some_and(|m| m > 1.0), "{peak:?}");
        }
    }
}
