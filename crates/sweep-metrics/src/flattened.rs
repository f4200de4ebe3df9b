//! Metrics of a multi-label task read as one long binary problem.
//!
//! Several published ChestMNIST studies score their 14 labels by flattening
//! the `n × L` label matrix into one vector of `n · L` binary decisions:
//! Keras' default `AUC()` does, and so do
//! `f1_score(y.ravel(), pred.ravel(), average="weighted")` and
//! `classification_report(y.ravel(), pred.ravel())`. Those numbers are
//! defined differently from the per-label averages of
//! [`metric_summary`](crate::metric_summary) (a flattened weighted F1 is
//! dominated by the negatives and lands near 0.93 where the per-label one is
//! near 0.07), so they get their own names (`flat_*`) instead of being
//! confused with the per-label ones.
//!
//! Every threshold-based flattened metric depends only on the pooled
//! TN/FP/FN/TP over the labels, so [`FlatSummary::from_label_counts`] can
//! rebuild them exactly from per-label counts (a study's table, or an older
//! `metrics.json`); only the AUC needs the raw scores.
//!
//! Definitions (scikit-learn with `zero_division=0`, classes 0 and 1):
//!
//! * `auc`: `roc_auc_score(y.ravel(), p.ravel())`, exact (tied scores count
//!   one half). Keras' `AUC()` approximates the same area with 200 fixed
//!   thresholds, so it can differ in the third decimal.
//! * `accuracy`: `accuracy_score(y.ravel(), pred.ravel())`, which equals the
//!   element-wise (Keras binary) accuracy.
//! * `precision/recall/f1_{macro,weighted}`: the `macro avg` and
//!   `weighted avg` rows of the flattened classification report.
//!
//! For a binary task the label vector is already flat, so every flattened
//! metric equals the task's own metric of the same name.

use serde::{Deserialize, Serialize};

use crate::auc::roc_auc_binary;
use crate::classification_report::ClassificationReport;
use crate::confusion::{BinaryCounts, ConfusionMatrix};

/// Flattened metrics of one set of sigmoid outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlatSummary {
    /// ROC AUC of all scores against all labels; `None` when the labels hold
    /// one class only or a score is not finite.
    pub auc: Option<f64>,
    pub accuracy: f64,
    pub precision_macro: f64,
    pub recall_macro: f64,
    pub f1_macro: f64,
    pub precision_weighted: f64,
    pub recall_weighted: f64,
    pub f1_weighted: f64,
    /// TN/FP/FN/TP pooled over every label (class 1 positive).
    pub counts: BinaryCounts,
    /// The classification report of classes 0 and 1 on the flattened vectors.
    pub report: ClassificationReport,
}

impl FlatSummary {
    /// Flattened metrics of `y` (0/1) against `scores` and their thresholded
    /// predictions `pred`, each a row-major `n × L` matrix read as one vector.
    ///
    /// # Panics
    ///
    /// If the three slices differ in length or a label is not 0 or 1.
    pub fn of_predictions(y: &[u8], scores: &[f64], pred: &[u8]) -> Self {
        assert_eq!(
            y.len(),
            scores.len(),
            "FlatSummary: {} labels but {} scores",
            y.len(),
            scores.len()
        );
        let counts = BinaryCounts::from_predictions(y, pred);
        Self::from_counts(counts, roc_auc_binary(y, scores))
    }

    /// Flattened metrics from per-label one-vs-rest counts (their sum is the
    /// flattened confusion matrix) and an AUC computed elsewhere, or `None`.
    pub fn from_label_counts(per_label: &[BinaryCounts], auc: Option<f64>) -> Self {
        let pooled = per_label
            .iter()
            .fold(BinaryCounts::default(), |acc, c| BinaryCounts {
                true_negatives: acc.true_negatives + c.true_negatives,
                false_positives: acc.false_positives + c.false_positives,
                false_negatives: acc.false_negatives + c.false_negatives,
                true_positives: acc.true_positives + c.true_positives,
            });
        Self::from_counts(pooled, auc)
    }

    fn from_counts(counts: BinaryCounts, auc: Option<f64>) -> Self {
        let cm = ConfusionMatrix {
            counts: vec![
                vec![counts.true_negatives, counts.false_positives],
                vec![counts.false_negatives, counts.true_positives],
            ],
        };
        let report = ClassificationReport::single_label(&cm);
        FlatSummary {
            auc,
            accuracy: report.accuracy.unwrap_or(0.0),
            precision_macro: report.macro_avg.precision,
            recall_macro: report.macro_avg.recall,
            f1_macro: report.macro_avg.f1,
            precision_weighted: report.weighted_avg.precision,
            recall_weighted: report.weighted_avg.recall,
            f1_weighted: report.weighted_avg.f1,
            counts,
            report,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confusion::{multilabel_counts, threshold};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn flattened_scores_pool_every_label() {
        // Two samples × three labels. Flattened: y = [1,0,0, 1,1,0],
        // pred = [1,0,1, 0,1,0]: TN 2, FP 1, FN 1, TP 2.
        let y = [1, 0, 0, 1, 1, 0];
        let p = [0.9, 0.2, 0.6, 0.4, 0.7, 0.1];
        let pred = threshold(&p, 0.5);
        let f = FlatSummary::of_predictions(&y, &p, &pred);
        assert_eq!(
            f.counts,
            BinaryCounts {
                true_negatives: 2,
                false_positives: 1,
                false_negatives: 1,
                true_positives: 2
            }
        );
        assert!(close(f.accuracy, 4.0 / 6.0));
        // Class 0 and class 1 both score P = R = F1 = 2/3 with support 3.
        assert!(close(f.f1_macro, 2.0 / 3.0));
        assert!(close(f.f1_weighted, 2.0 / 3.0));
        // Scores sorted: 0.9(1) 0.7(1) 0.6(0) 0.4(1) 0.2(0) 0.1(0):
        // positives beat negatives in 8 of 9 pairs.
        assert!(close(f.auc.unwrap(), 8.0 / 9.0));
        assert_eq!(f.report.per_class.len(), 2);
    }

    #[test]
    fn label_counts_give_the_same_numbers_as_predictions() {
        let y = [1, 0, 0, 1, 1, 0, 0, 0, 1];
        let p = [0.9, 0.2, 0.6, 0.4, 0.7, 0.1, 0.55, 0.3, 0.2];
        let pred = threshold(&p, 0.5);
        let direct = FlatSummary::of_predictions(&y, &p, &pred);
        let from_counts =
            FlatSummary::from_label_counts(&multilabel_counts(&y, &pred, 3), direct.auc);
        assert_eq!(direct, from_counts);
    }

    #[test]
    fn flattened_and_per_label_weighted_f1_differ() {
        // A rare label never predicted: per-label weighted F1 is 0, the
        // flattened one is carried by the negatives.
        let counts = [BinaryCounts {
            true_negatives: 90,
            false_positives: 0,
            false_negatives: 10,
            true_positives: 0,
        }];
        let f = FlatSummary::from_label_counts(&counts, None);
        assert!(close(f.accuracy, 0.9));
        // Class 0: P 0.9, R 1, F1 18/19 (support 90); class 1: all 0.
        assert!(close(f.f1_weighted, 0.9 * 18.0 / 19.0));
        assert!(close(f.recall_macro, 0.5));
        assert_eq!(f.auc, None);
    }
}
