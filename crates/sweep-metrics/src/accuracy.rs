//! Accuracy and balanced accuracy.
//!
//! Plain accuracy is what MedMNIST papers report next to AUC; balanced
//! accuracy is what a reader of an imbalanced dataset actually wants. Both
//! are kept separate from the precision/recall family because their
//! undefined cases differ (`None` for empty input, classes without support
//! skipped), exactly as in scikit-learn.

use crate::confusion::ConfusionMatrix;

/// Fraction of positions where `y_pred` equals `y_true`; `None` when empty.
///
/// On class indices this is `accuracy_score(y_true, y_pred)`. On flattened
/// multi-label 0/1 matrices it is the element-wise (Keras "binary") accuracy,
/// the mean over samples × labels, which equals the mean of the per-label
/// accuracies; it is *not* scikit-learn's multi-label subset accuracy.
///
/// # Panics
///
/// If the lengths differ.
pub fn accuracy<T: PartialEq>(y_true: &[T], y_pred: &[T]) -> Option<f64> {
    assert_eq!(
        y_true.len(),
        y_pred.len(),
        "accuracy: {} labels but {} predictions",
        y_true.len(),
        y_pred.len()
    );
    if y_true.is_empty() {
        return None;
    }
    let hits = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    Some(hits as f64 / y_true.len() as f64)
}

/// `balanced_accuracy_score`: the mean recall over the classes that occur in
/// `y_true` (classes with no true samples are skipped, as scikit-learn does
/// after warning). `None` when the matrix is empty.
pub fn balanced_accuracy(cm: &ConfusionMatrix) -> Option<f64> {
    let recalls: Vec<f64> = cm
        .counts
        .iter()
        .enumerate()
        .filter_map(|(c, row)| {
            let support: usize = row.iter().sum();
            (support > 0).then(|| row[c] as f64 / support as f64)
        })
        .collect();
    if recalls.is_empty() {
        None
    } else {
        Some(recalls.iter().sum::<f64>() / recalls.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_on_classes() {
        assert_eq!(accuracy(&[0usize, 1, 2, 2], &[0, 2, 2, 2]), Some(0.75));
        assert_eq!(accuracy::<usize>(&[], &[]), None);
    }

    #[test]
    fn multilabel_accuracy_is_elementwise_not_subset() {
        // Two samples × two labels, one wrong cell: 3/4 element-wise, while
        // subset accuracy would be 1/2.
        assert_eq!(accuracy(&[1u8, 0, 1, 1], &[1, 0, 0, 1]), Some(0.75));
    }

    #[test]
    fn balanced_accuracy_skips_absent_classes() {
        // Class 2 is predicted but never true: skipped. Recalls 1 and 1/2.
        let cm = ConfusionMatrix::from_predictions(&[0, 1, 1], &[0, 2, 1], 3);
        assert_eq!(balanced_accuracy(&cm), Some(0.75));
        let empty = ConfusionMatrix::from_predictions(&[], &[], 3);
        assert_eq!(balanced_accuracy(&empty), None);
    }

    #[test]
    fn balanced_accuracy_of_a_constant_predictor_is_chance() {
        let cm = ConfusionMatrix::from_predictions(&[0, 0, 0, 1], &[0, 0, 0, 0], 2);
        assert_eq!(balanced_accuracy(&cm), Some(0.5));
    }
}
