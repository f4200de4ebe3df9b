//! Classification metrics for `sweep`, defined to agree with scikit-learn.
//!
//! The trainer logs per-epoch metrics over a whole epoch's predictions and the
//! report prints per-class tables; scientists then compare those numbers with
//! what scikit-learn prints for the same predictions. This crate is the single
//! place where "accuracy", "AUC", "macro F1" and friends are defined, in pure
//! Rust on slices (no libtorch), and its test suite checks every value against
//! fixtures produced by scikit-learn itself (`scripts/metric_fixtures.py`).
//!
//! # Layout
//!
//! * [`auc`]: ROC AUC (binary, per-label, one-vs-rest multi-class).
//! * [`confusion`]: thresholding, argmax, TN/FP/FN/TP counts, k×k matrices.
//! * [`accuracy`](mod@accuracy): accuracy and balanced accuracy.
//! * [`prf`]: precision, recall, F1, support, sensitivity and specificity.
//! * [`classification_report`]: the `classification_report(output_dict=True)` equivalent.
//! * [`flattened`]: multi-label metrics on `y.ravel()` (Keras' `AUC()`, the
//!   flattened weighted F1 and classification report some studies print).
//! * [`metric_summary`]: [`evaluate`], which bundles all of the above per task kind.
//!
//! # Example
//!
//! ```
//! use sweep_metrics::{Labels, TaskKind, evaluate};
//!
//! // Three samples, three classes, softmax outputs row by row.
//! let y = [0, 2, 1];
//! let probs = [0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.3, 0.4, 0.3];
//! let m = evaluate(TaskKind::MultiClass, &Labels::Classes(&y), &probs, 3)?;
//! assert_eq!(m.accuracy, 1.0);
//! assert_eq!(m.auc, Some(1.0));
//! assert_eq!(m.confusion_matrix.unwrap().counts[2], vec![0, 0, 1]);
//! # Ok::<(), sweep_metrics::MetricsError>(())
//! ```
//!
//! # Definitions and edge cases
//!
//! * **Threshold.** Sigmoid outputs (binary and multi-label tasks) are turned
//!   into predictions with `prob >= threshold`, default
//!   [`DEFAULT_THRESHOLD`] = 0.5, *inclusive*. A probability of exactly 0.5 is
//!   a positive prediction. (Keras' `binary_accuracy` and the MedMNIST
//!   evaluator use a strict `>`; the two only differ on outputs that are
//!   exactly 0.5, i.e. a logit of exactly 0.) `NaN` is never `>=` anything, so
//!   a `NaN` probability is a negative prediction.
//! * **Argmax.** Multi-class predictions take the first maximal column, and a
//!   `NaN` column wins (the first one), exactly like `numpy.argmax`.
//! * **ROC AUC** is the trapezoidal area under the ROC curve built the way
//!   `sklearn.metrics.roc_curve` builds it: scores sorted in decreasing order
//!   and *tied scores grouped into one threshold*, so a tie between a positive
//!   and a negative contributes half a unit (the diagonal segment). This equals
//!   `roc_auc_score` and the Mann–Whitney U statistic with average ranks. The
//!   area is accumulated in integer counts, so it is exact up to one final
//!   division. Cost O(n log n) per output.
//! * **Undefined AUC.** When `y_true` holds only one class the AUC is undefined.
//!   scikit-learn 1.9 returns `nan` with an `UndefinedMetricWarning` (older
//!   versions raise `ValueError`); here it is `None`. Scores containing `NaN`
//!   or ±∞ also give `None` (scikit-learn raises on non-finite input).
//!   **Macro AUC skips undefined outputs**: it is the mean over the outputs
//!   whose AUC is defined, and [`AucSummary::skipped`] says how many were
//!   left out. scikit-learn's macro would be `nan` in that case; with no
//!   skipped outputs the two agree. Multi-class AUC is one-vs-rest on the
//!   softmax columns, `roc_auc_score(y, proba, multi_class="ovr",
//!   average="macro")`, the MedMNIST convention; probabilities are not checked
//!   to sum to one.
//! * **Zero division.** Precision, recall, F1, sensitivity and specificity
//!   follow `precision_recall_fscore_support(..., zero_division=0)`: a ratio
//!   whose denominator is zero is `0.0` and still counts in macro averages.
//!   So a class with no positives in `y_true` has recall 0 and a class never
//!   predicted has precision 0. F1 is `2·TP / (2·TP + FP + FN)`. A weighted
//!   average with zero total support is 0.
//! * **Which classes.** Every output is a class: multi-class metrics always
//!   cover all `k` classes, as scikit-learn does with `labels=range(k)`. Its
//!   default (`labels=None`) drops classes absent from both `y_true` and
//!   `y_pred`, which changes macro averages only in that case.
//! * **Accuracy.** Multi-label accuracy is the mean over all samples × labels
//!   of `(prob >= 0.5) == y` (Keras binary accuracy; equal to the mean of the
//!   per-label accuracies). It is *not* scikit-learn's subset accuracy.
//!   Binary accuracy thresholds the single output; multi-class uses argmax.
//!   Balanced accuracy is `balanced_accuracy_score`: mean recall over the
//!   classes present in `y_true`.
//! * **Flattened metrics** ([`FlatSummary`], `MetricSummary::flat`) read a
//!   multi-label task's `n × L` labels as one binary vector of `n · L`
//!   decisions (`y.ravel()`), as Keras' default `AUC()` and
//!   `f1_score(y.ravel(), pred.ravel(), average="weighted")` do; they exist
//!   for sigmoid tasks only and equal the ordinary metrics of a binary task.
//! * **Binary tasks** have one output, the probability of class 1. AUC,
//!   sensitivity, specificity and the per-output TN/FP/FN/TP treat class 1 as
//!   positive; the confusion matrix and classification report cover both
//!   classes 0 and 1, as `sklearn` does with `y_pred = prob >= 0.5`.

pub mod accuracy;
pub mod auc;
pub mod classification_report;
pub mod confusion;
pub mod flattened;
pub mod metric_summary;
pub mod prf;

pub use accuracy::{accuracy, balanced_accuracy};
pub use auc::{AucSummary, roc_auc_binary, roc_auc_multilabel, roc_auc_ovr};
pub use classification_report::ClassificationReport;
pub use confusion::{
    BinaryCounts, ConfusionMatrix, DEFAULT_THRESHOLD, argmax_rows, multilabel_counts, threshold,
};
pub use flattened::FlatSummary;
pub use metric_summary::{
    Labels, MetricSummary, MetricsError, TaskKind, evaluate, evaluate_with_threshold,
};
pub use prf::{
    Average, Prf, RateSummary, averaged, per_class, samples_averaged, sensitivity_specificity,
};
