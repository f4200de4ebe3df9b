//! ROC AUC, the headline metric of MedMNIST studies.
//!
//! It has to match `sklearn.metrics.roc_auc_score` including its handling of
//! tied scores, which matter in practice: early in training, or with a
//! saturated sigmoid, many samples share exactly the same probability. The
//! curve is built on grouped thresholds, the area is accumulated exactly in
//! integer counts, and an undefined AUC (a single class in `y_true`) is `None`
//! instead of `nan` so it can never leak silently into an average.

use serde::{Deserialize, Serialize};

/// AUC of every output plus their macro average over the outputs where the
/// AUC is defined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AucSummary {
    /// One entry per output (label or class); `None` where undefined.
    pub per_class: Vec<Option<f64>>,
    /// Mean of the defined entries of `per_class`; `None` if none is defined.
    pub macro_avg: Option<f64>,
    /// How many outputs were left out of `macro_avg` because their AUC is
    /// undefined (only one class present, or non-finite scores).
    pub skipped: usize,
}

impl AucSummary {
    /// Builds the summary from per-output values, averaging the defined ones.
    pub fn from_per_class(per_class: Vec<Option<f64>>) -> Self {
        let defined: Vec<f64> = per_class.iter().flatten().copied().collect();
        let skipped = per_class.len() - defined.len();
        let macro_avg = if defined.is_empty() {
            None
        } else {
            Some(defined.iter().sum::<f64>() / defined.len() as f64)
        };
        AucSummary {
            per_class,
            macro_avg,
            skipped,
        }
    }
}

/// Area under the ROC curve of scores `scores` for 0/1 labels `y_true`
/// (1 = positive), as `sklearn.metrics.roc_auc_score(y_true, scores)`.
///
/// Equal scores form one threshold, so each positive/negative pair with tied
/// scores counts one half. Returns `None` when `y_true` is empty or holds a
/// single class (scikit-learn: `nan` plus a warning) and when any score is
/// `NaN` or infinite (scikit-learn: `ValueError`).
///
/// # Panics
///
/// If the slices differ in length or a label is not 0 or 1.
pub fn roc_auc_binary(y_true: &[u8], scores: &[f64]) -> Option<f64> {
    assert_eq!(
        y_true.len(),
        scores.len(),
        "roc_auc_binary: {} labels but {} scores",
        y_true.len(),
        scores.len()
    );
    let mut n_pos: u64 = 0;
    for &y in y_true {
        assert!(y <= 1, "roc_auc_binary: label {y} is not 0 or 1");
        n_pos += u64::from(y);
    }
    if scores.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let n_neg = y_true.len() as u64 - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }

    // Decreasing score. `total_cmp` keeps -0.0 and 0.0 adjacent, and the
    // grouping below uses `==`, which treats them as one threshold.
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));

    // Walk the thresholds from high to low. Each group of equal scores moves
    // the ROC point from (fp, tp) to (fp + dfp, tp + dtp); the trapezoid under
    // that segment has area dfp * (2 * tp + dtp) / 2 in count units.
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut twice_area: u128 = 0;
    let mut i = 0;
    while i < order.len() {
        let score = scores[order[i]];
        let (tp_before, fp_before) = (tp, fp);
        while i < order.len() && scores[order[i]] == score {
            if y_true[order[i]] == 1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        twice_area += u128::from(fp - fp_before) * u128::from(tp_before + tp);
    }
    Some(twice_area as f64 / (2.0 * n_pos as f64 * n_neg as f64))
}

/// Per-label AUC for a multi-label task, `y_true` and `scores` both row-major
/// `n × n_labels`; the macro average skips labels whose AUC is undefined.
///
/// Per label this is `roc_auc_score(y_true[:, l], scores[:, l])`.
///
/// # Panics
///
/// If `n_labels` is 0, the lengths differ or are not a multiple of
/// `n_labels`, or a label is not 0 or 1.
pub fn roc_auc_multilabel(y_true: &[u8], scores: &[f64], n_labels: usize) -> AucSummary {
    assert!(
        n_labels > 0,
        "roc_auc_multilabel: n_labels must be positive"
    );
    assert_eq!(
        y_true.len(),
        scores.len(),
        "roc_auc_multilabel: {} labels but {} scores",
        y_true.len(),
        scores.len()
    );
    assert_eq!(
        scores.len() % n_labels,
        0,
        "roc_auc_multilabel: {} scores is not a multiple of {n_labels} labels",
        scores.len()
    );
    let per_class = (0..n_labels)
        .map(|l| {
            let y: Vec<u8> = y_true.iter().skip(l).step_by(n_labels).copied().collect();
            let s: Vec<f64> = scores.iter().skip(l).step_by(n_labels).copied().collect();
            roc_auc_binary(&y, &s)
        })
        .collect();
    AucSummary::from_per_class(per_class)
}

/// One-vs-rest AUC for a multi-class task: class indices `y_true` (length n)
/// and softmax probabilities `probs` (row-major `n × n_classes`).
///
/// Class `c` is scored by column `c` against "any other class"; the macro
/// average over classes present in `y_true` is
/// `roc_auc_score(y_true, probs, multi_class="ovr", average="macro")` when
/// every class is present. A class absent from `y_true` (or present in every
/// row) has `None` and is skipped.
///
/// # Panics
///
/// If `n_classes` is 0, `probs.len() != y_true.len() * n_classes`, or a class
/// index is `>= n_classes`.
pub fn roc_auc_ovr(y_true: &[usize], probs: &[f64], n_classes: usize) -> AucSummary {
    assert!(n_classes > 0, "roc_auc_ovr: n_classes must be positive");
    assert_eq!(
        probs.len(),
        y_true.len() * n_classes,
        "roc_auc_ovr: {} probabilities for {} samples × {n_classes} classes",
        probs.len(),
        y_true.len()
    );
    if let Some(&bad) = y_true.iter().find(|&&y| y >= n_classes) {
        panic!("roc_auc_ovr: class index {bad} out of range for {n_classes} classes");
    }
    let per_class = (0..n_classes)
        .map(|c| {
            let y: Vec<u8> = y_true.iter().map(|&t| u8::from(t == c)).collect();
            let s: Vec<f64> = probs.iter().skip(c).step_by(n_classes).copied().collect();
            roc_auc_binary(&y, &s)
        })
        .collect();
    AucSummary::from_per_class(per_class)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn sklearn_docstring_example() {
        // The `roc_curve` docstring example: AUC 0.75.
        let auc = roc_auc_binary(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]).unwrap();
        assert!(close(auc, 0.75), "{auc}");
    }

    #[test]
    fn perfect_and_inverted_rankings() {
        assert_eq!(
            roc_auc_binary(&[0, 0, 1, 1], &[0.1, 0.2, 0.8, 0.9]),
            Some(1.0)
        );
        assert_eq!(
            roc_auc_binary(&[1, 1, 0, 0], &[0.1, 0.2, 0.8, 0.9]),
            Some(0.0)
        );
    }

    #[test]
    fn ties_between_classes_count_one_half() {
        // One positive and one negative tied at 0.5, one clean pair on each side:
        // pairs (pos, neg): (0.9,0.5)=1, (0.9,0.1)=1, (0.5,0.5)=0.5, (0.5,0.1)=1.
        let auc = roc_auc_binary(&[1, 0, 1, 0], &[0.9, 0.5, 0.5, 0.1]).unwrap();
        assert!(close(auc, 3.5 / 4.0), "{auc}");
        // All scores equal: the curve is the diagonal.
        assert_eq!(roc_auc_binary(&[0, 1, 1, 0, 1], &[0.3; 5]), Some(0.5));
    }

    #[test]
    fn ties_within_one_class_change_nothing() {
        let a = roc_auc_binary(&[1, 1, 0, 0], &[0.7, 0.7, 0.2, 0.2]);
        assert_eq!(a, Some(1.0));
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        let auc = roc_auc_binary(&[1, 0], &[0.0, -0.0]).unwrap();
        assert!(close(auc, 0.5));
    }

    #[test]
    fn undefined_cases_are_none() {
        assert_eq!(roc_auc_binary(&[1, 1, 1], &[0.1, 0.2, 0.3]), None);
        assert_eq!(roc_auc_binary(&[0, 0], &[0.1, 0.2]), None);
        assert_eq!(roc_auc_binary(&[], &[]), None);
        assert_eq!(roc_auc_binary(&[0, 1], &[f64::NAN, 0.2]), None);
        assert_eq!(roc_auc_binary(&[0, 1], &[0.1, f64::INFINITY]), None);
    }

    #[test]
    #[should_panic(expected = "not 0 or 1")]
    fn labels_must_be_binary() {
        roc_auc_binary(&[0, 2], &[0.1, 0.2]);
    }

    #[test]
    fn multilabel_macro_skips_undefined_labels() {
        // Label 0 perfect, label 1 inverted, label 2 all negative.
        let y = [1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0];
        let s = [0.9, 0.9, 0.3, 0.2, 0.1, 0.3, 0.7, 0.8, 0.3, 0.1, 0.2, 0.3];
        let auc = roc_auc_multilabel(&y, &s, 3);
        assert_eq!(auc.per_class, vec![Some(1.0), Some(0.0), None]);
        assert_eq!(auc.macro_avg, Some(0.5));
        assert_eq!(auc.skipped, 1);
    }

    #[test]
    fn ovr_scores_each_column_against_the_rest() {
        // Class 0 perfectly separated by column 0; class 2 never occurs.
        let y = [0, 1, 0, 1];
        let p = [
            0.8, 0.1, 0.1, //
            0.3, 0.6, 0.1, //
            0.6, 0.2, 0.2, //
            0.2, 0.3, 0.5, //
        ];
        let auc = roc_auc_ovr(&y, &p, 3);
        assert_eq!(auc.per_class, vec![Some(1.0), Some(1.0), None]);
        assert_eq!(auc.macro_avg, Some(1.0));
        assert_eq!(auc.skipped, 1);
    }

    #[test]
    fn nothing_defined_gives_no_macro() {
        let auc = AucSummary::from_per_class(vec![None, None]);
        assert_eq!(auc.macro_avg, None);
        assert_eq!(auc.skipped, 2);
    }
}
