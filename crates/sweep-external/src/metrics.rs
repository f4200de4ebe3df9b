//! `metrics.json` of a run a training command trained, computed by sweep
//! from the command's predictions with the same code as every built-in run
//! (`sweep-metrics`), so reports, per-class tables, curves and paired tests
//! read it like any other run's and no number can disagree with the
//! predictions it came from.
//!
//! The fields are those of the trainer's `metrics.json` that predictions
//! determine (`val`, `test`, their losses, the sample counts), plus what the
//! command was and how long it took. What only the command knows (parameter
//! counts, best epoch) is not recorded; report columns show it as missing.

use serde::Serialize;
use sweep_metrics::metric_summary::{Labels, MetricSummary, TaskKind, evaluate_with_threshold};

/// `metrics.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ExternalMetrics {
    pub key: String,
    pub dataset: String,
    pub arch: String,
    pub task: String,
    /// The command that trained the run, as written.
    pub command: Vec<String>,
    /// Rows of the command's `history.csv`, when it wrote one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs_run: Option<u32>,
    /// The parameter count of the command's `started` event, when it
    /// printed one (the report's Params column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<u64>,
    /// Seconds the command ran.
    pub train_seconds: f64,
    /// Seconds for the whole run (inputs, command, metrics).
    pub wall_seconds: f64,
    pub device: String,
    pub threads: i32,
    pub samples: [usize; 3],
    pub val: MetricSummary,
    pub test: MetricSummary,
    pub val_loss: f64,
    pub test_loss: f64,
    pub versions: Versions,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Versions {
    pub sweep: String,
}

/// Every metric of one split, from its labels and the command's scores.
pub(crate) fn score(
    task: TaskKind,
    labels: &[u8],
    probs: &[f64],
    outputs: usize,
    threshold: f64,
) -> Result<MetricSummary, String> {
    let classes: Vec<usize>;
    let y = match task {
        TaskKind::MultiClass => {
            classes = labels.iter().map(|&c| usize::from(c)).collect();
            Labels::Classes(&classes)
        }
        _ => Labels::Indicators(labels),
    };
    evaluate_with_threshold(task, &y, probs, outputs, threshold).map_err(|e| e.to_string())
}

/// Smallest probability a log takes, so a confident wrong score gives a
/// large finite loss (scikit-learn's `log_loss` clips the same way).
const EPS: f64 = 1e-7;

/// Mean negative log-likelihood of the labels under the scores: binary
/// cross-entropy per output for sigmoid tasks (averaged over samples and
/// outputs), cross-entropy of the true class for multi-class ones. It is
/// unweighted: a command's own class weights are its business.
pub(crate) fn log_loss(task: TaskKind, labels: &[u8], probs: &[f64], outputs: usize) -> f64 {
    let clip = |p: f64| p.clamp(EPS, 1.0 - EPS);
    match task {
        TaskKind::MultiClass => {
            let n = labels.len().max(1);
            let total: f64 = labels
                .iter()
                .enumerate()
                .map(|(i, &c)| -clip(probs[i * outputs + usize::from(c)]).ln())
                .sum();
            total / n as f64
        }
        _ => {
            let n = probs.len().max(1);
            let total: f64 = labels
                .iter()
                .zip(probs)
                .map(|(&y, &p)| {
                    let p = clip(p);
                    if y == 1 { -p.ln() } else { -(1.0 - p).ln() }
                })
                .sum();
            total / n as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_loss_is_the_mean_negative_log_likelihood() {
        let binary = log_loss(TaskKind::Binary, &[1, 0], &[0.8, 0.4], 1);
        let want = (-(0.8f64).ln() - (0.6f64).ln()) / 2.0;
        assert!((binary - want).abs() < 1e-12, "{binary} vs {want}");
        let multi = log_loss(
            TaskKind::MultiClass,
            &[2, 0],
            &[0.1, 0.2, 0.7, 0.5, 0.25, 0.25],
            3,
        );
        let want = (-(0.7f64).ln() - (0.5f64).ln()) / 2.0;
        assert!((multi - want).abs() < 1e-12, "{multi} vs {want}");
        assert!(log_loss(TaskKind::Binary, &[1], &[0.0], 1).is_finite());
    }

    #[test]
    fn scores_are_sweeps_own_metrics() {
        let s = score(
            TaskKind::Binary,
            &[1, 0, 1, 0],
            &[0.9, 0.2, 0.4, 0.6],
            1,
            0.5,
        )
        .unwrap();
        assert_eq!(s.n_samples, 4);
        assert_eq!(s.accuracy, 0.5);
        assert_eq!(s.auc, Some(0.75));
    }
}
