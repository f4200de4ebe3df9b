//! Precision, recall, F1 and support, plus sensitivity and specificity.
//!
//! These follow `sklearn.metrics.precision_recall_fscore_support` with
//! `zero_division=0` for every `average` mode, because per-class tables are
//! where small classes, and therefore empty denominators, show up. A ratio
//! with a zero denominator is 0 and still counts in the macro mean; that is
//! the only choice that keeps macro recall equal to macro sensitivity and
//! matches what scikit-learn prints when asked not to warn.

use serde::{Deserialize, Serialize};

use crate::confusion::{BinaryCounts, ratio};

/// How per-class scores are combined into one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Average {
    /// Unweighted mean over classes.
    Macro,
    /// Pool TP/FP/FN over classes, then divide.
    Micro,
    /// Mean over classes weighted by support; 0 if total support is 0.
    Weighted,
}

/// Precision, recall, F1 and support: one row of a classification report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Positives in `y_true`. For an average, the total over classes (what
    /// `classification_report` prints; `precision_recall_fscore_support`
    /// returns `None` there).
    pub support: usize,
}

impl Prf {
    fn of(c: &BinaryCounts) -> Self {
        Prf {
            precision: c.precision(),
            recall: c.sensitivity(),
            f1: c.f1(),
            support: c.support(),
        }
    }
}

/// Per-class scores, as `precision_recall_fscore_support(average=None)`.
pub fn per_class(counts: &[BinaryCounts]) -> Vec<Prf> {
    counts.iter().map(Prf::of).collect()
}

/// Averaged scores over the classes in `counts`, as
/// `precision_recall_fscore_support(average=...)`. Empty `counts` give zeros.
pub fn averaged(counts: &[BinaryCounts], average: Average) -> Prf {
    let support: usize = counts.iter().map(BinaryCounts::support).sum();
    let rows = per_class(counts);
    let (precision, recall, f1) = match average {
        Average::Micro => {
            let tp: usize = counts.iter().map(|c| c.true_positives).sum();
            let predicted: usize = counts.iter().map(BinaryCounts::predicted).sum();
            (
                ratio(tp, predicted),
                ratio(tp, support),
                ratio(2 * tp, support + predicted),
            )
        }
        Average::Macro => {
            let n = rows.len().max(1) as f64;
            let sum = |f: fn(&Prf) -> f64| rows.iter().map(f).sum::<f64>() / n;
            (sum(|r| r.precision), sum(|r| r.recall), sum(|r| r.f1))
        }
        Average::Weighted => {
            if support == 0 {
                (0.0, 0.0, 0.0)
            } else {
                let total = support as f64;
                let sum = |f: fn(&Prf) -> f64| {
                    rows.iter().map(|r| r.support as f64 * f(r)).sum::<f64>() / total
                };
                (sum(|r| r.precision), sum(|r| r.recall), sum(|r| r.f1))
            }
        }
    };
    Prf {
        precision,
        recall,
        f1,
        support,
    }
}

/// The multi-label `average="samples"` scores: precision, recall and F1 of
/// each sample's label set, averaged over samples (`y_true`, `y_pred`
/// row-major `n × n_labels` 0/1). A sample with no true and no predicted
/// labels scores 0 on all three (`zero_division=0`). `support` is the total
/// number of positive labels. Empty input gives zeros.
///
/// # Panics
///
/// If `n_labels` is 0, the lengths differ or are not a multiple of
/// `n_labels`, or a value is not 0 or 1.
pub fn samples_averaged(y_true: &[u8], y_pred: &[u8], n_labels: usize) -> Prf {
    assert!(n_labels > 0, "samples_averaged: n_labels must be positive");
    assert_eq!(
        y_true.len(),
        y_pred.len(),
        "samples_averaged: {} labels but {} predictions",
        y_true.len(),
        y_pred.len()
    );
    assert_eq!(
        y_true.len() % n_labels,
        0,
        "samples_averaged: {} values is not a multiple of {n_labels} labels",
        y_true.len()
    );
    let n = y_true.len() / n_labels;
    let (mut p_sum, mut r_sum, mut f_sum) = (0.0, 0.0, 0.0);
    for (row_t, row_p) in y_true
        .chunks_exact(n_labels)
        .zip(y_pred.chunks_exact(n_labels))
    {
        let c = BinaryCounts::from_predictions(row_t, row_p);
        p_sum += c.precision();
        r_sum += c.sensitivity();
        f_sum += c.f1();
    }
    let n_f = n.max(1) as f64;
    Prf {
        precision: p_sum / n_f,
        recall: r_sum / n_f,
        f1: f_sum / n_f,
        support: y_true.iter().map(|&y| usize::from(y)).sum(),
    }
}

/// Sensitivity and specificity of every class (one-vs-rest) and their
/// unweighted means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateSummary {
    /// TP / (TP + FN) per class, 0 for a class with no positives.
    pub sensitivity_per_class: Vec<f64>,
    /// TN / (TN + FP) per class, 0 for a class with no negatives.
    pub specificity_per_class: Vec<f64>,
    /// Mean of `sensitivity_per_class` (= macro recall).
    pub sensitivity_macro: f64,
    /// Mean of `specificity_per_class`.
    pub specificity_macro: f64,
}

/// Per-class and macro sensitivity/specificity from one-vs-rest counts.
/// Undefined ratios are 0 and are included in the means, like macro recall
/// with `zero_division=0`. Empty `counts` give zero means.
pub fn sensitivity_specificity(counts: &[BinaryCounts]) -> RateSummary {
    let sens: Vec<f64> = counts.iter().map(BinaryCounts::sensitivity).collect();
    let spec: Vec<f64> = counts.iter().map(BinaryCounts::specificity).collect();
    let n = counts.len().max(1) as f64;
    RateSummary {
        sensitivity_macro: sens.iter().sum::<f64>() / n,
        specificity_macro: spec.iter().sum::<f64>() / n,
        sensitivity_per_class: sens,
        specificity_per_class: spec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confusion::{ConfusionMatrix, multilabel_counts};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// y_true = [0, 1, 2, 0], y_pred = [0, 1, 1, 0] over 4 classes; class 3
    /// occurs nowhere. Hand-computed per class:
    /// class 0: P 1, R 1, F 1, S 2; class 1: P 1/2, R 1, F 2/3, S 1;
    /// class 2: 0, 0, 0, S 1; class 3: 0, 0, 0, S 0.
    fn example() -> Vec<BinaryCounts> {
        ConfusionMatrix::from_predictions(&[0, 1, 2, 0], &[0, 1, 1, 0], 4).per_class_counts()
    }

    #[test]
    fn per_class_scores_with_zero_division() {
        let rows = per_class(&example());
        let got: Vec<(f64, f64, f64, usize)> = rows
            .iter()
            .map(|r| (r.precision, r.recall, r.f1, r.support))
            .collect();
        assert_eq!(got[0], (1.0, 1.0, 1.0, 2));
        assert_eq!(got[1].0, 0.5);
        assert_eq!(got[1].1, 1.0);
        assert!(close(got[1].2, 2.0 / 3.0));
        assert_eq!(got[2], (0.0, 0.0, 0.0, 1));
        assert_eq!(got[3], (0.0, 0.0, 0.0, 0));
    }

    #[test]
    fn macro_includes_every_class() {
        let m = averaged(&example(), Average::Macro);
        assert!(close(m.precision, 1.5 / 4.0));
        assert!(close(m.recall, 2.0 / 4.0));
        assert!(close(m.f1, (1.0 + 2.0 / 3.0) / 4.0));
        assert_eq!(m.support, 4);
    }

    #[test]
    fn micro_equals_accuracy_for_single_label() {
        let m = averaged(&example(), Average::Micro);
        assert_eq!((m.precision, m.recall, m.f1), (0.75, 0.75, 0.75));
    }

    #[test]
    fn weighted_uses_support() {
        let w = averaged(&example(), Average::Weighted);
        assert!(close(w.precision, (2.0 * 1.0 + 0.5) / 4.0));
        assert!(close(w.recall, 3.0 / 4.0));
        assert!(close(w.f1, (2.0 + 2.0 / 3.0) / 4.0));
    }

    #[test]
    fn weighted_with_no_support_is_zero() {
        let c = multilabel_counts(&[0, 0, 0, 0], &[1, 0, 0, 1], 2);
        let w = averaged(&c, Average::Weighted);
        assert_eq!((w.precision, w.recall, w.f1, w.support), (0.0, 0.0, 0.0, 0));
    }

    #[test]
    fn samples_average_scores_each_row() {
        // Row 0: true {1}, pred {1}: 1, 1, 1.
        // Row 1: true {0, 1}, pred {1}: P 1, R 1/2, F 2/3.
        // Row 2: true {}, pred {}: 0, 0, 0 under zero_division=0.
        let y = [0, 1, 1, 1, 0, 0];
        let p = [0, 1, 0, 1, 0, 0];
        let s = samples_averaged(&y, &p, 2);
        assert!(close(s.precision, 2.0 / 3.0));
        assert!(close(s.recall, 1.5 / 3.0));
        assert!(close(s.f1, (1.0 + 2.0 / 3.0) / 3.0));
        assert_eq!(s.support, 3);
    }

    #[test]
    fn sensitivity_is_recall_and_specificity_is_negative_recall() {
        let r = sensitivity_specificity(&example());
        assert_eq!(r.sensitivity_per_class, vec![1.0, 1.0, 0.0, 0.0]);
        // Class 0: 2 negatives, no false positives. Class 1: 3 negatives, one
        // predicted as class 1. Class 2: 3 negatives, none predicted 2.
        // Class 3: 4 negatives, never predicted.
        assert!(close(r.specificity_per_class[1], 2.0 / 3.0));
        assert_eq!(r.specificity_per_class[0], 1.0);
        assert_eq!(r.specificity_per_class[2], 1.0);
        assert_eq!(r.specificity_per_class[3], 1.0);
        assert_eq!(
            r.sensitivity_macro,
            averaged(&example(), Average::Macro).recall
        );
        assert!(close(r.specificity_macro, (3.0 + 2.0 / 3.0) / 4.0));
    }
}
