//! From probabilities to hard predictions, and from predictions to counts.
//!
//! Every threshold metric (accuracy, precision, recall, sensitivity,
//! specificity, the classification report) is a function of these counts, so
//! the two conversions that can silently disagree with a Python notebook, the
//! 0.5 threshold and argmax tie-breaking, live here and nowhere else.

use serde::{Deserialize, Serialize};

/// Probability at or above which a sigmoid output counts as positive.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// Hard 0/1 predictions: `prob >= threshold` (inclusive). `NaN` gives 0.
pub fn threshold(probs: &[f64], threshold: f64) -> Vec<u8> {
    probs.iter().map(|&p| u8::from(p >= threshold)).collect()
}

/// Index of the largest value in each row of a row-major `n × n_classes`
/// matrix, with `numpy.argmax` semantics: the first maximum wins ties and the
/// first `NaN`, if any, wins outright.
///
/// # Panics
///
/// If `n_classes` is 0 or `probs.len()` is not a multiple of it.
pub fn argmax_rows(probs: &[f64], n_classes: usize) -> Vec<usize> {
    assert!(n_classes > 0, "argmax_rows: n_classes must be positive");
    assert_eq!(
        probs.len() % n_classes,
        0,
        "argmax_rows: {} values is not a multiple of {n_classes} columns",
        probs.len()
    );
    probs
        .chunks_exact(n_classes)
        .map(|row| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v.is_nan() {
                    return j;
                }
                if v > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect()
}

/// The four cells of a one-vs-rest confusion matrix for one label or class
/// (one 2×2 block of `sklearn.metrics.multilabel_confusion_matrix`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinaryCounts {
    #[serde(rename = "tn")]
    pub true_negatives: usize,
    #[serde(rename = "fp")]
    pub false_positives: usize,
    #[serde(rename = "fn")]
    pub false_negatives: usize,
    #[serde(rename = "tp")]
    pub true_positives: usize,
}

impl BinaryCounts {
    /// Counts for 0/1 truths and 0/1 predictions of equal length.
    ///
    /// # Panics
    ///
    /// If the lengths differ or a value is not 0 or 1.
    pub fn from_predictions(y_true: &[u8], y_pred: &[u8]) -> Self {
        assert_eq!(
            y_true.len(),
            y_pred.len(),
            "BinaryCounts: {} labels but {} predictions",
            y_true.len(),
            y_pred.len()
        );
        let mut c = BinaryCounts::default();
        for (&t, &p) in y_true.iter().zip(y_pred) {
            c.add(t, p);
        }
        c
    }

    fn add(&mut self, truth: u8, pred: u8) {
        match (truth, pred) {
            (0, 0) => self.true_negatives += 1,
            (0, 1) => self.false_positives += 1,
            (1, 0) => self.false_negatives += 1,
            (1, 1) => self.true_positives += 1,
            _ => {
                panic!("BinaryCounts: values must be 0 or 1, got truth {truth}, prediction {pred}")
            }
        }
    }

    /// Positives in `y_true` (TP + FN): scikit-learn's `support`.
    pub fn support(&self) -> usize {
        self.true_positives + self.false_negatives
    }

    /// Negatives in `y_true` (TN + FP).
    pub fn negatives(&self) -> usize {
        self.true_negatives + self.false_positives
    }

    /// Predicted positives (TP + FP).
    pub fn predicted(&self) -> usize {
        self.true_positives + self.false_positives
    }

    /// All samples.
    pub fn total(&self) -> usize {
        self.support() + self.negatives()
    }

    /// TP / (TP + FP), 0 when nothing is predicted positive.
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.predicted())
    }

    /// Sensitivity = recall = TP / (TP + FN), 0 when there are no positives.
    pub fn sensitivity(&self) -> f64 {
        ratio(self.true_positives, self.support())
    }

    /// TN / (TN + FP), 0 when there are no negatives.
    pub fn specificity(&self) -> f64 {
        ratio(self.true_negatives, self.negatives())
    }

    /// 2·TP / (2·TP + FP + FN), 0 when there are neither positives nor
    /// positive predictions.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.true_positives, self.support() + self.predicted())
    }
}

/// `num / den`, or 0 when `den == 0` (scikit-learn's `zero_division=0`).
pub(crate) fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// One [`BinaryCounts`] per label for row-major `n × n_labels` 0/1 matrices,
/// as `multilabel_confusion_matrix(y_true, y_pred)` (`[[tn, fp], [fn, tp]]`
/// per label).
///
/// # Panics
///
/// If `n_labels` is 0, the lengths differ or are not a multiple of
/// `n_labels`, or a value is not 0 or 1.
pub fn multilabel_counts(y_true: &[u8], y_pred: &[u8], n_labels: usize) -> Vec<BinaryCounts> {
    assert!(n_labels > 0, "multilabel_counts: n_labels must be positive");
    assert_eq!(
        y_true.len(),
        y_pred.len(),
        "multilabel_counts: {} labels but {} predictions",
        y_true.len(),
        y_pred.len()
    );
    assert_eq!(
        y_true.len() % n_labels,
        0,
        "multilabel_counts: {} values is not a multiple of {n_labels} labels",
        y_true.len()
    );
    let mut counts = vec![BinaryCounts::default(); n_labels];
    for (row_t, row_p) in y_true
        .chunks_exact(n_labels)
        .zip(y_pred.chunks_exact(n_labels))
    {
        for ((c, &t), &p) in counts.iter_mut().zip(row_t).zip(row_p) {
            c.add(t, p);
        }
    }
    counts
}

/// A k×k confusion matrix: `counts[t][p]` is the number of samples of true
/// class `t` predicted as `p` (rows = true, columns = predicted), as
/// `sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(k))`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    pub counts: Vec<Vec<usize>>,
}

impl ConfusionMatrix {
    /// Tallies class indices into an `n_classes × n_classes` matrix.
    ///
    /// # Panics
    ///
    /// If the lengths differ or an index is `>= n_classes`.
    pub fn from_predictions(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Self {
        assert_eq!(
            y_true.len(),
            y_pred.len(),
            "ConfusionMatrix: {} labels but {} predictions",
            y_true.len(),
            y_pred.len()
        );
        let mut counts = vec![vec![0; n_classes]; n_classes];
        for (&t, &p) in y_true.iter().zip(y_pred) {
            assert!(
                t < n_classes && p < n_classes,
                "ConfusionMatrix: class pair ({t}, {p}) out of range for {n_classes} classes"
            );
            counts[t][p] += 1;
        }
        ConfusionMatrix { counts }
    }

    /// Number of classes `k`.
    pub fn n_classes(&self) -> usize {
        self.counts.len()
    }

    /// Number of samples.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// Number of samples on the diagonal.
    pub fn correct(&self) -> usize {
        (0..self.n_classes()).map(|c| self.counts[c][c]).sum()
    }

    /// Class `class` against all others.
    pub fn one_vs_rest(&self, class: usize) -> BinaryCounts {
        let tp = self.counts[class][class];
        let support: usize = self.counts[class].iter().sum();
        let predicted: usize = self.counts.iter().map(|row| row[class]).sum();
        let fn_ = support - tp;
        let fp = predicted - tp;
        BinaryCounts {
            true_negatives: self.total() - tp - fn_ - fp,
            false_positives: fp,
            false_negatives: fn_,
            true_positives: tp,
        }
    }

    /// [`Self::one_vs_rest`] for every class, as
    /// `multilabel_confusion_matrix(y_true, y_pred, labels=range(k))`.
    pub fn per_class_counts(&self) -> Vec<BinaryCounts> {
        (0..self.n_classes()).map(|c| self.one_vs_rest(c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_inclusive_and_nan_is_negative() {
        assert_eq!(
            threshold(&[0.0, 0.4999, 0.5, 0.7, f64::NAN], DEFAULT_THRESHOLD),
            vec![0, 0, 1, 1, 0]
        );
        assert_eq!(threshold(&[0.3, 0.2], 0.25), vec![1, 0]);
    }

    #[test]
    fn argmax_follows_numpy() {
        let p = [
            0.2,
            0.5,
            0.3, // clear winner
            0.4,
            0.4,
            0.2, // tie: first
            0.1,
            f64::NAN,
            0.9, // NaN wins
            f64::NAN,
            0.1,
            f64::NAN, // first NaN
        ];
        assert_eq!(argmax_rows(&p, 3), vec![1, 0, 1, 0]);
    }

    #[test]
    fn binary_counts_and_rates() {
        let c = BinaryCounts::from_predictions(&[0, 0, 0, 1, 1, 1, 1], &[0, 1, 0, 1, 1, 0, 1]);
        assert_eq!(
            c,
            BinaryCounts {
                true_negatives: 2,
                false_positives: 1,
                false_negatives: 1,
                true_positives: 3
            }
        );
        assert_eq!(c.support(), 4);
        assert_eq!(c.negatives(), 3);
        assert_eq!(c.predicted(), 4);
        assert_eq!(c.total(), 7);
        assert_eq!(c.precision(), 0.75);
        assert_eq!(c.sensitivity(), 0.75);
        assert_eq!(c.specificity(), 2.0 / 3.0);
        assert_eq!(c.f1(), 0.75);
    }

    #[test]
    fn zero_denominators_give_zero() {
        let none = BinaryCounts::from_predictions(&[0, 0], &[0, 0]);
        assert_eq!(
            (none.precision(), none.sensitivity(), none.f1()),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(none.specificity(), 1.0);
        let all = BinaryCounts::from_predictions(&[1, 1], &[1, 1]);
        assert_eq!(all.specificity(), 0.0);
    }

    #[test]
    fn counts_serialise_with_short_names() {
        let c = BinaryCounts::from_predictions(&[1, 0], &[1, 1]);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"tn":0,"fp":1,"fn":0,"tp":1}"#);
    }

    #[test]
    fn multilabel_counts_per_column() {
        let y = [1, 0, 1, 1, 0, 0];
        let p = [1, 1, 0, 1, 0, 1];
        let c = multilabel_counts(&y, &p, 2);
        assert_eq!(c[0], BinaryCounts::from_predictions(&[1, 1, 0], &[1, 0, 0]));
        assert_eq!(c[1], BinaryCounts::from_predictions(&[0, 1, 0], &[1, 1, 1]));
    }

    #[test]
    fn confusion_matrix_rows_are_truth() {
        let cm = ConfusionMatrix::from_predictions(&[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 0, 2], 4);
        assert_eq!(
            cm.counts,
            vec![
                vec![1, 1, 0, 0],
                vec![0, 1, 0, 0],
                vec![1, 0, 2, 0],
                vec![0, 0, 0, 0]
            ]
        );
        assert_eq!((cm.total(), cm.correct()), (6, 4));
        let c0 = cm.one_vs_rest(0);
        assert_eq!(
            (
                c0.true_negatives,
                c0.false_positives,
                c0.false_negatives,
                c0.true_positives
            ),
            (3, 1, 1, 1)
        );
        let c3 = cm.one_vs_rest(3);
        assert_eq!(c3.true_negatives, 6);
        assert_eq!(cm.per_class_counts().len(), 4);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn confusion_matrix_rejects_bad_class() {
        ConfusionMatrix::from_predictions(&[3], &[0], 3);
    }
}
