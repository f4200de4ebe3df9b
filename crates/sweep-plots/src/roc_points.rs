//! The receiver operating characteristic of binary scores, computed the same
//! way as scikit-learn's `roc_curve(..., drop_intermediate=False)`, so that
//! figures agree with numbers reported by Python tooling.

use std::cmp::Ordering;

/// `(fpr, tpr)` of the ROC curve of `scores` against the labels `y_true`
/// (any non-zero label is positive).
///
/// One point per distinct score, walking the thresholds from the highest
/// score down, preceded by `(0, 0)` for the threshold above every score.
/// Tied scores form a single step, so the curve never depends on the input
/// order. Like scikit-learn, a class that is absent makes its rate `NaN`
/// (0 / 0) at every point.
///
/// # Panics
///
/// When `y_true` and `scores` differ in length.
pub fn roc_points(y_true: &[u8], scores: &[f64]) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(
        y_true.len(),
        scores.len(),
        "roc_points: {} labels but {} scores",
        y_true.len(),
        scores.len()
    );
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));

    let mut counts = vec![(0u64, 0u64)];
    let (mut false_pos, mut true_pos) = (0u64, 0u64);
    for (k, &i) in order.iter().enumerate() {
        if y_true[i] != 0 {
            true_pos += 1;
        } else {
            false_pos += 1;
        }
        let group_ends = order
            .get(k + 1)
            .is_none_or(|&next| scores[next].partial_cmp(&scores[i]) != Some(Ordering::Equal));
        if group_ends {
            counts.push((false_pos, true_pos));
        }
    }

    let (negatives, positives) = (false_pos as f64, true_pos as f64);
    counts
        .into_iter()
        .map(|(f, t)| (f as f64 / negatives, t as f64 / positives))
        .unzip()
}

/// Area under a curve by the trapezoidal rule, in the order the points are
/// given (as scikit-learn's `auc` for monotone x).
///
/// # Panics
///
/// When `x` and `y` differ in length.
pub fn trapezoid_auc(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "trapezoid_auc: x and y differ in length");
    x.windows(2)
        .zip(y.windows(2))
        .map(|(xs, ys)| (xs[1] - xs[0]) * (ys[0] + ys[1]) / 2.0)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{actual:?} vs {expected:?}");
        }
    }

    #[test]
    fn distinct_scores_give_one_point_each() {
        // roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], drop_intermediate=False)
        let (fpr, tpr) = roc_points(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]);
        assert_close(&fpr, &[0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_close(&tpr, &[0.0, 0.5, 0.5, 1.0, 1.0]);
        assert!((trapezoid_auc(&fpr, &tpr) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn tied_scores_move_diagonally_in_one_step() {
        // Scores 0.9 and 0.5 are each shared by a positive and a negative.
        let (fpr, tpr) = roc_points(&[1, 0, 1, 0, 1], &[0.9, 0.9, 0.5, 0.5, 0.1]);
        assert_close(&fpr, &[0.0, 0.5, 1.0, 1.0]);
        assert_close(&tpr, &[0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]);
        // Ties count half: 1/3·1/2·1/2 + (1/3 + 2/3)·1/2·1/2 = 1/3.
        assert!((trapezoid_auc(&fpr, &tpr) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn input_order_does_not_matter() {
        let a = roc_points(&[1, 0, 1, 0, 1], &[0.9, 0.9, 0.5, 0.5, 0.1]);
        let b = roc_points(&[0, 1, 0, 1, 1], &[0.5, 0.1, 0.9, 0.9, 0.5]);
        assert_eq!(a, b);
    }

    #[test]
    fn perfect_and_all_tied_scores() {
        let (fpr, tpr) = roc_points(&[0, 1, 0, 1], &[0.2, 0.9, 0.1, 0.8]);
        assert_eq!(trapezoid_auc(&fpr, &tpr), 1.0);
        let (fpr, tpr) = roc_points(&[0, 1, 0, 1], &[0.5; 4]);
        assert_close(&fpr, &[0.0, 1.0]);
        assert_close(&tpr, &[0.0, 1.0]);
        assert_eq!(trapezoid_auc(&fpr, &tpr), 0.5);
    }

    #[test]
    fn missing_class_gives_nan_rates() {
        let (fpr, tpr) = roc_points(&[1, 1], &[0.3, 0.7]);
        assert!(fpr.iter().all(|v| v.is_nan()));
        assert_close(&tpr, &[0.0, 0.5, 1.0]);
    }

    #[test]
    #[should_panic(expected = "2 labels but 3 scores")]
    fn length_mismatch_panics() {
        roc_points(&[0, 1], &[0.1, 0.2, 0.3]);
    }
}
