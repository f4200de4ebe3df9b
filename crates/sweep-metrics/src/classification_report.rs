//! The per-class table that ends up in experiment reports.
//!
//! It mirrors `sklearn.metrics.classification_report(..., output_dict=True,
//! zero_division=0)` row for row, so a reader can put a `sweep` report next to
//! a notebook and see the same numbers: per-class rows, then `accuracy`,
//! `macro avg` and `weighted avg` for single-label tasks, or `micro avg`,
//! `macro avg`, `weighted avg` and `samples avg` for multi-label tasks.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::confusion::{ConfusionMatrix, multilabel_counts};
use crate::prf::{Average, Prf, averaged, per_class, samples_averaged};

/// A classification report. Rows that scikit-learn omits for a task type are
/// `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// One row per class (single-label) or label (multi-label), in index order.
    pub per_class: Vec<Prf>,
    /// Single-label only. scikit-learn prints this in place of the micro
    /// average, which equals it.
    pub accuracy: Option<f64>,
    /// Multi-label only.
    pub micro_avg: Option<Prf>,
    pub macro_avg: Prf,
    pub weighted_avg: Prf,
    /// Multi-label only.
    pub samples_avg: Option<Prf>,
}

impl ClassificationReport {
    /// Report for a single-label (binary or multi-class) task from its
    /// confusion matrix; covers every class of the matrix, as
    /// `classification_report(y_true, y_pred, labels=range(k))`.
    pub fn single_label(cm: &ConfusionMatrix) -> Self {
        let counts = cm.per_class_counts();
        let total = cm.total();
        ClassificationReport {
            per_class: per_class(&counts),
            accuracy: Some(if total == 0 {
                0.0
            } else {
                cm.correct() as f64 / total as f64
            }),
            micro_avg: None,
            macro_avg: averaged(&counts, Average::Macro),
            weighted_avg: averaged(&counts, Average::Weighted),
            samples_avg: None,
        }
    }

    /// Report for a multi-label task from row-major `n × n_labels` 0/1
    /// truths and predictions.
    ///
    /// # Panics
    ///
    /// As [`multilabel_counts`].
    pub fn multi_label(y_true: &[u8], y_pred: &[u8], n_labels: usize) -> Self {
        let counts = multilabel_counts(y_true, y_pred, n_labels);
        ClassificationReport {
            per_class: per_class(&counts),
            accuracy: None,
            micro_avg: Some(averaged(&counts, Average::Micro)),
            macro_avg: averaged(&counts, Average::Macro),
            weighted_avg: averaged(&counts, Average::Weighted),
            samples_avg: Some(samples_averaged(y_true, y_pred, n_labels)),
        }
    }

    /// The report in the exact shape of scikit-learn's `output_dict=True`:
    /// class keys `"0"`, `"1"`, …, rows with `precision`, `recall`,
    /// `f1-score` and `support` (a float, as scikit-learn emits it), and the
    /// summary keys `"accuracy"`, `"micro avg"`, `"macro avg"`,
    /// `"weighted avg"`, `"samples avg"` where present.
    pub fn to_sklearn_dict(&self) -> Value {
        fn row(r: &Prf) -> Value {
            json!({
                "precision": r.precision,
                "recall": r.recall,
                "f1-score": r.f1,
                "support": r.support as f64,
            })
        }
        let mut map = Map::new();
        for (i, r) in self.per_class.iter().enumerate() {
            map.insert(i.to_string(), row(r));
        }
        if let Some(acc) = self.accuracy {
            map.insert("accuracy".into(), json!(acc));
        }
        if let Some(r) = &self.micro_avg {
            map.insert("micro avg".into(), row(r));
        }
        map.insert("macro avg".into(), row(&self.macro_avg));
        map.insert("weighted avg".into(), row(&self.weighted_avg));
        if let Some(r) = &self.samples_avg {
            map.insert("samples avg".into(), row(r));
        }
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_label_report_rows() {
        let cm = ConfusionMatrix::from_predictions(&[0, 1, 2, 0], &[0, 1, 1, 0], 4);
        let r = ClassificationReport::single_label(&cm);
        assert_eq!(r.per_class.len(), 4);
        assert_eq!(r.accuracy, Some(0.75));
        assert_eq!(r.micro_avg, None);
        assert_eq!(r.samples_avg, None);
        assert_eq!(r.macro_avg.precision, 0.375);
        assert_eq!(r.macro_avg.support, 4);
        assert_eq!(r.weighted_avg.recall, 0.75);
    }

    #[test]
    fn multi_label_report_has_micro_and_samples() {
        let y = [0, 1, 1, 1];
        let p = [0, 1, 0, 1];
        let r = ClassificationReport::multi_label(&y, &p, 2);
        assert_eq!(r.accuracy, None);
        let micro = r.micro_avg.unwrap();
        assert_eq!(micro.precision, 1.0);
        assert!((micro.recall - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(micro.f1, 0.8);
        assert_eq!(micro.support, 3);
        let samples = r.samples_avg.unwrap();
        assert_eq!(samples.recall, 0.75);
    }

    #[test]
    fn sklearn_dict_shape() {
        // Same input as sklearn's
        // classification_report([0, 1, 2, 0], [0, 1, 1, 0], labels=[0, 1, 2, 3],
        //                       output_dict=True, zero_division=0).
        let cm = ConfusionMatrix::from_predictions(&[0, 1, 2, 0], &[0, 1, 1, 0], 4);
        let d = ClassificationReport::single_label(&cm).to_sklearn_dict();
        assert_eq!(d["accuracy"], json!(0.75));
        assert_eq!(d["1"]["precision"], json!(0.5));
        assert_eq!(d["3"]["support"], json!(0.0));
        assert_eq!(d["macro avg"]["recall"], json!(0.5));
        assert_eq!(d["weighted avg"]["support"], json!(4.0));
        assert!(d.get("micro avg").is_none());
        assert!(d.get("samples avg").is_none());
        assert_eq!(d.as_object().unwrap().len(), 4 + 3);
    }
}
