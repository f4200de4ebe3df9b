//! Everything the trainer and the report need about one set of predictions.
//!
//! Callers should not have to know which metric wants thresholded outputs,
//! which wants argmax and which wants raw scores, or that a binary model has a
//! single output while its report has two classes. [`evaluate`] takes the task
//! kind, the labels and the row-major probability matrix, checks their shapes
//! once, and returns a serialisable [`MetricSummary`] with every metric
//! computed under the conventions documented at the crate root.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::accuracy::{accuracy, balanced_accuracy};
use crate::auc::{AucSummary, roc_auc_binary, roc_auc_multilabel, roc_auc_ovr};
use crate::classification_report::ClassificationReport;
use crate::confusion::{
    BinaryCounts, ConfusionMatrix, DEFAULT_THRESHOLD, argmax_rows, multilabel_counts, threshold,
};
use crate::flattened::FlatSummary;
use crate::prf::{Average, averaged, sensitivity_specificity};

/// What the model's outputs mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// `L` independent sigmoid outputs, one per 0/1 label.
    MultiLabel,
    /// One sigmoid output: the probability of class 1.
    Binary,
    /// `k ≥ 2` softmax outputs, one per class (ordinal tasks use this too).
    MultiClass,
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskKind::MultiLabel => "multi-label",
            TaskKind::Binary => "binary",
            TaskKind::MultiClass => "multi-class",
        })
    }
}

/// Ground truth for [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels<'a> {
    /// Row-major `n × n_outputs` 0/1 matrix: multi-label tasks, or binary
    /// tasks stored as `n × 1` (MedMNIST's layout).
    Indicators(&'a [u8]),
    /// One class index per sample: multi-class tasks, or binary tasks (0/1).
    Classes(&'a [usize]),
}

/// Why [`evaluate`] refused its input.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsError {
    /// No samples: every metric would be undefined.
    NoSamples,
    /// `n_outputs` does not fit the task (binary needs 1, multi-class at
    /// least 2, multi-label at least 1).
    BadOutputCount { kind: TaskKind, n_outputs: usize },
    /// The label representation does not fit the task (multi-label needs
    /// indicators, multi-class needs class indices).
    WrongLabelKind { kind: TaskKind },
    /// The indicator matrix length is not a multiple of `n_outputs`.
    LabelShape { len: usize, n_outputs: usize },
    /// `probs.len()` is not `n_samples × n_outputs`.
    ProbsShape {
        len: usize,
        n_samples: usize,
        n_outputs: usize,
    },
    /// A label value is out of range: not 0/1 for indicators and binary
    /// tasks, not below `n_outputs` for multi-class tasks.
    BadLabel { position: usize, value: usize },
    /// The threshold is `NaN`.
    BadThreshold(f64),
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricsError::NoSamples => write!(f, "no samples to evaluate"),
            MetricsError::BadOutputCount { kind, n_outputs } => {
                write!(f, "a {kind} task cannot have {n_outputs} outputs")
            }
            MetricsError::WrongLabelKind { kind } => write!(
                f,
                "a {kind} task needs {}",
                match kind {
                    TaskKind::MultiLabel => "0/1 indicator labels",
                    TaskKind::Binary => "indicator or class-index labels",
                    TaskKind::MultiClass => "class-index labels",
                }
            ),
            MetricsError::LabelShape { len, n_outputs } => write!(
                f,
                "{len} indicator labels is not a multiple of {n_outputs} outputs"
            ),
            MetricsError::ProbsShape {
                len,
                n_samples,
                n_outputs,
            } => write!(
                f,
                "{len} probabilities for {n_samples} samples × {n_outputs} outputs"
            ),
            MetricsError::BadLabel { position, value } => {
                write!(
                    f,
                    "label value {value} at position {position} is out of range"
                )
            }
            MetricsError::BadThreshold(t) => write!(f, "threshold {t} is not a number"),
        }
    }
}

impl std::error::Error for MetricsError {}

/// All metrics for one set of predictions.
///
/// Vectors named `*_per_class` have one entry per model output: `L` labels
/// for multi-label, `k` classes for multi-class, and a single entry (class 1
/// as the positive class) for binary tasks. The confusion matrix and the
/// report of a binary task cover both classes 0 and 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    pub kind: TaskKind,
    pub n_samples: usize,
    pub n_outputs: usize,
    /// Threshold applied to sigmoid outputs; `None` for multi-class (argmax).
    pub threshold: Option<f64>,
    /// Multi-label: element-wise accuracy over samples × labels. Binary:
    /// thresholded accuracy. Multi-class: argmax accuracy.
    pub accuracy: f64,
    /// `balanced_accuracy_score`; `None` for multi-label tasks (undefined in
    /// scikit-learn).
    pub balanced_accuracy: Option<f64>,
    /// Macro AUC over the outputs where it is defined; `None` if none is.
    pub auc: Option<f64>,
    pub auc_per_class: Vec<Option<f64>>,
    /// Outputs left out of `auc` because their AUC is undefined.
    pub auc_skipped: usize,
    /// Macro sensitivity (TP / (TP + FN), 0 for an output with no positives).
    pub sensitivity: f64,
    pub sensitivity_per_class: Vec<f64>,
    /// Macro specificity (TN / (TN + FP), 0 for an output with no negatives).
    pub specificity: f64,
    pub specificity_per_class: Vec<f64>,
    /// Over the classes of the report: both classes 0 and 1 for binary tasks.
    pub precision_macro: f64,
    pub precision_micro: f64,
    pub precision_weighted: f64,
    pub recall_macro: f64,
    pub recall_micro: f64,
    pub recall_weighted: f64,
    pub f1_macro: f64,
    pub f1_micro: f64,
    pub f1_weighted: f64,
    /// One-vs-rest TN/FP/FN/TP per output.
    pub counts_per_class: Vec<BinaryCounts>,
    /// k×k (2×2 for binary) matrix, rows = true; `None` for multi-label.
    pub confusion_matrix: Option<ConfusionMatrix>,
    pub report: ClassificationReport,
    /// The labels flattened into one binary vector (`y.ravel()`), for tasks
    /// with sigmoid outputs; equal to the ordinary metrics for a binary task.
    /// `None` for multi-class tasks, whose softmax outputs are not
    /// independent binary decisions (and in summaries written before these
    /// metrics existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flat: Option<FlatSummary>,
}

/// [`evaluate_with_threshold`] at [`DEFAULT_THRESHOLD`] (0.5, inclusive).
pub fn evaluate(
    kind: TaskKind,
    y: &Labels<'_>,
    probs: &[f64],
    n_outputs: usize,
) -> Result<MetricSummary, MetricsError> {
    evaluate_with_threshold(kind, y, probs, n_outputs, DEFAULT_THRESHOLD)
}

/// Computes every metric for `probs`, a row-major `n × n_outputs` matrix of
/// probabilities (sigmoid outputs for binary and multi-label tasks, softmax
/// for multi-class), against `y`. Sigmoid outputs count as positive when
/// `prob >= threshold`; the threshold is ignored for multi-class tasks.
///
/// `NaN` probabilities are accepted: they predict 0 (sigmoid) or win the
/// argmax (softmax) and make the affected AUCs `None`.
pub fn evaluate_with_threshold(
    kind: TaskKind,
    y: &Labels<'_>,
    probs: &[f64],
    n_outputs: usize,
    threshold_value: f64,
) -> Result<MetricSummary, MetricsError> {
    let outputs_ok = match kind {
        TaskKind::MultiLabel => n_outputs >= 1,
        TaskKind::Binary => n_outputs == 1,
        TaskKind::MultiClass => n_outputs >= 2,
    };
    if !outputs_ok {
        return Err(MetricsError::BadOutputCount { kind, n_outputs });
    }
    if threshold_value.is_nan() && kind != TaskKind::MultiClass {
        return Err(MetricsError::BadThreshold(threshold_value));
    }
    let n_samples = match (kind, y) {
        (TaskKind::MultiLabel | TaskKind::Binary, Labels::Indicators(v)) => {
            if v.len() % n_outputs != 0 {
                return Err(MetricsError::LabelShape {
                    len: v.len(),
                    n_outputs,
                });
            }
            check_labels(v.iter().map(|&x| usize::from(x)), 2)?;
            v.len() / n_outputs
        }
        (TaskKind::Binary, Labels::Classes(v)) => {
            check_labels(v.iter().copied(), 2)?;
            v.len()
        }
        (TaskKind::MultiClass, Labels::Classes(v)) => {
            check_labels(v.iter().copied(), n_outputs)?;
            v.len()
        }
        _ => return Err(MetricsError::WrongLabelKind { kind }),
    };
    if n_samples == 0 {
        return Err(MetricsError::NoSamples);
    }
    if probs.len() != n_samples * n_outputs {
        return Err(MetricsError::ProbsShape {
            len: probs.len(),
            n_samples,
            n_outputs,
        });
    }

    let parts = match (kind, *y) {
        (TaskKind::MultiLabel, Labels::Indicators(v)) => {
            multi_label(v, probs, n_outputs, threshold_value)
        }
        (TaskKind::Binary, Labels::Indicators(v)) => binary(v, probs, threshold_value),
        (TaskKind::Binary, Labels::Classes(v)) => {
            // Values were checked to be 0/1 above.
            let v: Vec<u8> = v.iter().map(|&c| u8::from(c == 1)).collect();
            binary(&v, probs, threshold_value)
        }
        (TaskKind::MultiClass, Labels::Classes(v)) => multi_class(v, probs, n_outputs),
        _ => unreachable!("label kind checked above"),
    };

    let rates = sensitivity_specificity(&parts.counts_per_class);
    let [macro_avg, micro, weighted] =
        [Average::Macro, Average::Micro, Average::Weighted].map(|a| averaged(&parts.prf_counts, a));
    Ok(MetricSummary {
        kind,
        n_samples,
        n_outputs,
        threshold: (kind != TaskKind::MultiClass).then_some(threshold_value),
        accuracy: parts.accuracy,
        balanced_accuracy: parts.balanced_accuracy,
        auc: parts.auc.macro_avg,
        auc_per_class: parts.auc.per_class,
        auc_skipped: parts.auc.skipped,
        sensitivity: rates.sensitivity_macro,
        sensitivity_per_class: rates.sensitivity_per_class,
        specificity: rates.specificity_macro,
        specificity_per_class: rates.specificity_per_class,
        precision_macro: macro_avg.precision,
        precision_micro: micro.precision,
        precision_weighted: weighted.precision,
        recall_macro: macro_avg.recall,
        recall_micro: micro.recall,
        recall_weighted: weighted.recall,
        f1_macro: macro_avg.f1,
        f1_micro: micro.f1,
        f1_weighted: weighted.f1,
        counts_per_class: parts.counts_per_class,
        confusion_matrix: parts.confusion_matrix,
        report: parts.report,
        flat: parts.flat,
    })
}

fn check_labels(values: impl Iterator<Item = usize>, bound: usize) -> Result<(), MetricsError> {
    for (position, value) in values.enumerate() {
        if value >= bound {
            return Err(MetricsError::BadLabel { position, value });
        }
    }
    Ok(())
}

/// What differs between task kinds; the rest of the summary is derived.
struct Parts {
    accuracy: f64,
    balanced_accuracy: Option<f64>,
    auc: AucSummary,
    /// Per output (class 1 only for binary).
    counts_per_class: Vec<BinaryCounts>,
    /// The classes precision/recall/F1 average over (0 and 1 for binary).
    prf_counts: Vec<BinaryCounts>,
    confusion_matrix: Option<ConfusionMatrix>,
    report: ClassificationReport,
    flat: Option<FlatSummary>,
}

fn multi_label(y: &[u8], probs: &[f64], n_labels: usize, t: f64) -> Parts {
    let pred = threshold(probs, t);
    let counts = multilabel_counts(y, &pred, n_labels);
    Parts {
        accuracy: accuracy(y, &pred).unwrap_or(0.0),
        balanced_accuracy: None,
        auc: roc_auc_multilabel(y, probs, n_labels),
        counts_per_class: counts.clone(),
        prf_counts: counts,
        confusion_matrix: None,
        report: ClassificationReport::multi_label(y, &pred, n_labels),
        flat: Some(FlatSummary::of_predictions(y, probs, &pred)),
    }
}

fn binary(y: &[u8], probs: &[f64], t: f64) -> Parts {
    let pred = threshold(probs, t);
    let y_class: Vec<usize> = y.iter().map(|&v| usize::from(v)).collect();
    let pred_class: Vec<usize> = pred.iter().map(|&v| usize::from(v)).collect();
    let auc = roc_auc_binary(y, probs);
    let flat = FlatSummary::from_label_counts(&[BinaryCounts::from_predictions(y, &pred)], auc);
    Parts {
        flat: Some(flat),
        ..single_label(
            &y_class,
            &pred_class,
            2,
            AucSummary::from_per_class(vec![auc]),
            |cm| vec![cm.one_vs_rest(1)],
        )
    }
}

fn multi_class(y: &[usize], probs: &[f64], n_classes: usize) -> Parts {
    let pred = argmax_rows(probs, n_classes);
    single_label(
        y,
        &pred,
        n_classes,
        roc_auc_ovr(y, probs, n_classes),
        ConfusionMatrix::per_class_counts,
    )
}

fn single_label(
    y: &[usize],
    pred: &[usize],
    n_classes: usize,
    auc: AucSummary,
    outputs: impl Fn(&ConfusionMatrix) -> Vec<BinaryCounts>,
) -> Parts {
    let cm = ConfusionMatrix::from_predictions(y, pred, n_classes);
    Parts {
        accuracy: accuracy(y, pred).unwrap_or(0.0),
        balanced_accuracy: balanced_accuracy(&cm),
        auc,
        counts_per_class: outputs(&cm),
        prf_counts: cm.per_class_counts(),
        report: ClassificationReport::single_label(&cm),
        confusion_matrix: Some(cm),
        flat: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn binary_task_positive_class_is_one() {
        let y = [0usize, 0, 1, 1];
        let p = [0.1, 0.5, 0.35, 0.8];
        let s = evaluate(TaskKind::Binary, &Labels::Classes(&y), &p, 1).unwrap();
        // Predictions at >= 0.5: [0, 1, 0, 1].
        assert_eq!(s.accuracy, 0.5);
        assert_eq!(s.threshold, Some(0.5));
        assert_eq!(s.auc_per_class.len(), 1);
        assert!(close(s.auc.unwrap(), 0.75));
        assert_eq!(s.sensitivity_per_class, vec![0.5]);
        assert_eq!(s.specificity_per_class, vec![0.5]);
        assert_eq!(
            s.counts_per_class,
            vec![BinaryCounts {
                true_negatives: 1,
                false_positives: 1,
                false_negatives: 1,
                true_positives: 1
            }]
        );
        assert_eq!(
            s.confusion_matrix.as_ref().unwrap().counts,
            vec![vec![1, 1], vec![1, 1]]
        );
        assert_eq!(s.report.per_class.len(), 2);
        assert_eq!(s.balanced_accuracy, Some(0.5));
        assert_eq!(s.precision_micro, 0.5);
    }

    #[test]
    fn binary_indicators_and_classes_agree() {
        let p = [0.2, 0.7, 0.9, 0.4, 0.5];
        let a = evaluate(
            TaskKind::Binary,
            &Labels::Indicators(&[0, 1, 1, 0, 0]),
            &p,
            1,
        )
        .unwrap();
        let b = evaluate(TaskKind::Binary, &Labels::Classes(&[0, 1, 1, 0, 0]), &p, 1).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn multi_class_uses_argmax_and_ovr_auc() {
        let y = [0usize, 1, 2, 2];
        let p = [
            0.7, 0.2, 0.1, //
            0.1, 0.8, 0.1, //
            0.2, 0.5, 0.3, //
            0.1, 0.1, 0.8, //
        ];
        let s = evaluate(TaskKind::MultiClass, &Labels::Classes(&y), &p, 3).unwrap();
        assert_eq!(s.threshold, None);
        assert_eq!(s.accuracy, 0.75);
        assert_eq!(
            s.confusion_matrix.unwrap().counts,
            vec![vec![1, 0, 0], vec![0, 1, 0], vec![0, 1, 1]]
        );
        // Column 0: class 0 scores 0.7, others at most 0.2 -> 1.
        // Column 1: class 1 scores 0.8, others 0.2, 0.5, 0.1 -> 1.
        // Column 2: class 2 scores 0.3, 0.8 vs 0.1, 0.1 -> 1.
        assert_eq!(s.auc_per_class, vec![Some(1.0); 3]);
        assert_eq!(s.auc, Some(1.0));
        assert_eq!(s.sensitivity_per_class, vec![1.0, 1.0, 0.5]);
        assert!(close(s.recall_macro, 2.5 / 3.0));
        assert_eq!(s.balanced_accuracy, Some(2.5 / 3.0));
        assert_eq!(s.precision_micro, 0.75);
    }

    #[test]
    fn multi_label_skips_undefined_auc() {
        // Two samples × two labels, label 1 always positive.
        let y = [1, 1, 0, 1];
        let p = [0.9, 0.2, 0.4, 0.6];
        let s = evaluate(TaskKind::MultiLabel, &Labels::Indicators(&y), &p, 2).unwrap();
        assert_eq!(s.auc_per_class, vec![Some(1.0), None]);
        assert_eq!(s.auc, Some(1.0));
        assert_eq!(s.auc_skipped, 1);
        assert_eq!(s.accuracy, 0.75);
        assert_eq!(s.balanced_accuracy, None);
        assert!(s.confusion_matrix.is_none());
        assert!(s.report.samples_avg.is_some());
        // Label 1 has no negatives: specificity 0 by convention.
        assert_eq!(s.specificity_per_class, vec![1.0, 0.0]);
    }

    #[test]
    fn flattened_metrics_exist_for_sigmoid_tasks_only() {
        let y = [0usize, 0, 1, 1, 1];
        let p = [0.1, 0.6, 0.35, 0.8, 0.9];
        let s = evaluate(TaskKind::Binary, &Labels::Classes(&y), &p, 1).unwrap();
        // A binary task's labels are already flat: the numbers are its own.
        let flat = s.flat.as_ref().unwrap();
        assert_eq!(flat.auc, s.auc);
        assert_eq!(flat.accuracy, s.accuracy);
        assert_eq!(flat.f1_weighted, s.f1_weighted);
        assert_eq!(flat.recall_macro, s.recall_macro);
        assert_eq!(flat.report, s.report);

        let y = [0usize, 1, 2];
        let p = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6];
        let s = evaluate(TaskKind::MultiClass, &Labels::Classes(&y), &p, 3).unwrap();
        assert!(s.flat.is_none());
        let json = serde_json::to_value(&s).unwrap();
        assert!(json.get("flat").is_none(), "{json}");

        let y = [1, 0, 0, 1];
        let p = [0.9, 0.6, 0.2, 0.4];
        let s = evaluate(TaskKind::MultiLabel, &Labels::Indicators(&y), &p, 2).unwrap();
        let flat = s.flat.unwrap();
        assert_eq!(flat.accuracy, s.accuracy);
        assert_eq!(flat.auc, Some(0.75));
    }

    #[test]
    fn custom_threshold_moves_predictions() {
        let y = [0u8, 1];
        let p = [0.3, 0.4];
        let s = evaluate_with_threshold(TaskKind::Binary, &Labels::Indicators(&y), &p, 1, 0.35)
            .unwrap();
        assert_eq!(s.accuracy, 1.0);
        assert_eq!(s.threshold, Some(0.35));
    }

    #[test]
    fn summary_round_trips_through_json() {
        let y = [1, 0, 0, 1, 1, 0];
        let p = [0.9, 0.1, 0.2, 0.6, 0.5, 0.4];
        let s = evaluate(TaskKind::MultiLabel, &Labels::Indicators(&y), &p, 2).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""kind":"multi-label""#));
        let back: MetricSummary = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let e = |k, y: Labels<'_>, p: &[f64], n| evaluate(k, &y, p, n).unwrap_err();
        assert_eq!(
            e(
                TaskKind::Binary,
                Labels::Classes(&[0, 1]),
                &[0.1, 0.2, 0.3, 0.4],
                2
            ),
            MetricsError::BadOutputCount {
                kind: TaskKind::Binary,
                n_outputs: 2
            }
        );
        assert_eq!(
            e(TaskKind::MultiClass, Labels::Classes(&[0]), &[1.0], 1),
            MetricsError::BadOutputCount {
                kind: TaskKind::MultiClass,
                n_outputs: 1
            }
        );
        assert_eq!(
            e(
                TaskKind::MultiClass,
                Labels::Indicators(&[0, 1]),
                &[0.5, 0.5],
                2
            ),
            MetricsError::WrongLabelKind {
                kind: TaskKind::MultiClass
            }
        );
        assert_eq!(
            e(TaskKind::MultiLabel, Labels::Classes(&[0]), &[0.5], 1),
            MetricsError::WrongLabelKind {
                kind: TaskKind::MultiLabel
            }
        );
        assert_eq!(
            e(
                TaskKind::MultiLabel,
                Labels::Indicators(&[0, 1, 1]),
                &[0.5; 3],
                2
            ),
            MetricsError::LabelShape {
                len: 3,
                n_outputs: 2
            }
        );
        assert_eq!(
            e(TaskKind::MultiClass, Labels::Classes(&[0, 3]), &[0.5; 6], 3),
            MetricsError::BadLabel {
                position: 1,
                value: 3
            }
        );
        assert_eq!(
            e(TaskKind::Binary, Labels::Indicators(&[0, 2]), &[0.5; 2], 1),
            MetricsError::BadLabel {
                position: 1,
                value: 2
            }
        );
        assert_eq!(
            e(TaskKind::MultiClass, Labels::Classes(&[0, 1]), &[0.5; 3], 2),
            MetricsError::ProbsShape {
                len: 3,
                n_samples: 2,
                n_outputs: 2
            }
        );
        assert_eq!(
            e(TaskKind::Binary, Labels::Classes(&[]), &[], 1),
            MetricsError::NoSamples
        );
        let err = evaluate_with_threshold(
            TaskKind::Binary,
            &Labels::Classes(&[0]),
            &[0.5],
            1,
            f64::NAN,
        )
        .unwrap_err();
        assert!(matches!(err, MetricsError::BadThreshold(_)));
        assert_eq!(
            MetricsError::NoSamples.to_string(),
            "no samples to evaluate"
        );
    }

    #[test]
    fn nan_probabilities_do_not_abort() {
        let y = [0u8, 1, 1];
        let p = [0.2, f64::NAN, 0.9];
        let s = evaluate(TaskKind::Binary, &Labels::Indicators(&y), &p, 1).unwrap();
        assert_eq!(s.auc, None);
        assert_eq!(s.auc_skipped, 1);
        assert!(close(s.accuracy, 2.0 / 3.0));
    }
}
