//! The part of a split's metric summary that per-class tables read
//! (`counts_per_class`, `report`, `auc_per_class`, `flat`), and the names of
//! its classes.
//!
//! Only these fields are deserialised, so a `metrics.json` that gains fields
//! later still loads. Class names come from the MedMNIST catalog through the
//! run's dataset name.

use serde::Deserialize;
use serde_json::Value;
use sweep_data::catalog::DatasetRef;
use sweep_metrics::{BinaryCounts, ClassificationReport, FlatSummary, TaskKind};

use sweep_data::medmnist::Split;

/// One split of a run's `metrics.json`, as far as per-class tables need it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct SplitSummary {
    pub kind: TaskKind,
    pub n_samples: usize,
    /// One-vs-rest counts per output (class 1 only for binary tasks).
    pub counts_per_class: Vec<BinaryCounts>,
    /// Per class (both classes for binary tasks) and averages.
    pub report: ClassificationReport,
    /// AUC per output (class 1's only for binary tasks); `None` where undefined.
    #[serde(default)]
    pub auc_per_class: Vec<Option<f64>>,
    /// The labels flattened into one binary vector; absent for multi-class
    /// tasks and in files written before it was recorded.
    #[serde(default)]
    pub flat: Option<FlatSummary>,
}

impl SplitSummary {
    pub(crate) fn from_metrics(metrics: &Value, split: Split) -> Result<SplitSummary, String> {
        let part = metrics
            .get(split.name())
            .ok_or_else(|| format!("metrics.json has no `{split}` summary"))?;
        serde_json::from_value(part.clone())
            .map_err(|e| format!("unreadable metrics.json `{split}` summary: {e}"))
    }

    /// One-vs-rest counts for every class of the report. A binary task
    /// records class 1 only; class 0's counts are the same cells mirrored.
    pub(crate) fn class_counts(&self) -> Vec<BinaryCounts> {
        match (self.kind, self.counts_per_class.as_slice()) {
            (TaskKind::Binary, [one]) => vec![
                BinaryCounts {
                    true_negatives: one.true_positives,
                    false_positives: one.false_negatives,
                    false_negatives: one.false_positives,
                    true_positives: one.true_negatives,
                },
                *one,
            ],
            _ => self.counts_per_class.clone(),
        }
    }

    /// AUC for every class of the report, `width` entries. A binary task
    /// records class 1's; class 0's is the same area (its scores are
    /// `1 - p`). Entries missing from older files are `None`.
    pub(crate) fn class_aucs(&self, width: usize) -> Vec<Option<f64>> {
        let mut aucs = match (self.kind, self.auc_per_class.as_slice()) {
            (TaskKind::Binary, [one]) => vec![*one, *one],
            (_, all) => all.to_vec(),
        };
        aucs.resize(width, None);
        aucs
    }

    /// The summary of the labels flattened into one binary task (`y.ravel()`
    /// against `pred.ravel()`): classes 0 and 1, counts pooled over labels.
    /// Rebuilt from the per-label counts when the file predates `flat` (then
    /// without a multi-label AUC). `None` for multi-class tasks.
    pub(crate) fn flattened(&self) -> Option<SplitSummary> {
        if self.kind == TaskKind::MultiClass {
            return None;
        }
        let flat = self.flat.clone().unwrap_or_else(|| {
            // A binary task's AUC is already the flat one; a multi-label
            // flat AUC needs the scores.
            let auc = match (self.kind, self.auc_per_class.as_slice()) {
                (TaskKind::Binary, [one]) => *one,
                _ => None,
            };
            FlatSummary::from_label_counts(&self.counts_per_class, auc)
        });
        Some(SplitSummary {
            kind: TaskKind::Binary,
            n_samples: self.n_samples * self.counts_per_class.len(),
            counts_per_class: vec![flat.counts],
            report: flat.report.clone(),
            auc_per_class: vec![flat.auc],
            flat: Some(flat),
        })
    }
}

/// Names of the report's classes (or labels) for `dataset`; "class i" when
/// the catalog does not know the dataset or the count differs.
pub(crate) fn class_names(dataset: &str, count: usize) -> Vec<String> {
    match DatasetRef::parse(dataset) {
        Ok(r) if r.info.labels.len() == count => {
            r.info.labels.iter().map(|s| s.to_string()).collect()
        }
        _ => (0..count).map(|i| format!("class {i}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_counts_are_mirrored_for_class_zero() {
        let one = BinaryCounts {
            true_negatives: 10,
            false_positives: 2,
            false_negatives: 3,
            true_positives: 5,
        };
        let s = SplitSummary {
            kind: TaskKind::Binary,
            n_samples: 20,
            counts_per_class: vec![one],
            report: serde_json::from_value(serde_json::json!({
                "per_class": [], "accuracy": 0.75, "micro_avg": null,
                "macro_avg": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 20},
                "weighted_avg": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 20},
                "samples_avg": null
            }))
            .unwrap(),
            auc_per_class: vec![Some(0.8)],
            flat: None,
        };
        assert_eq!(s.class_aucs(2), [Some(0.8), Some(0.8)]);
        // Flattening a binary task keeps its counts and its AUC.
        let flat = s.flattened().unwrap();
        assert_eq!(flat.counts_per_class, [one]);
        assert_eq!(flat.auc_per_class, [Some(0.8)]);
        let c = s.class_counts();
        assert_eq!(c[1], one);
        assert_eq!(
            (
                c[0].true_negatives,
                c[0].false_positives,
                c[0].false_negatives,
                c[0].true_positives
            ),
            (5, 3, 2, 10)
        );
    }

    #[test]
    fn flattening_pools_the_labels_into_one_binary_task() {
        use sweep_metrics::{Labels, evaluate};
        let y = [1, 0, 0, 1, 1, 0, 0, 0, 1];
        let p = [0.9, 0.2, 0.6, 0.4, 0.7, 0.1, 0.55, 0.3, 0.2];
        let m = evaluate(TaskKind::MultiLabel, &Labels::Indicators(&y), &p, 3).unwrap();
        let mut json = serde_json::to_value(&m).unwrap();
        let s: SplitSummary = serde_json::from_value(json.clone()).unwrap();
        let flat = s.flattened().unwrap();
        assert_eq!(flat.kind, TaskKind::Binary);
        assert_eq!(flat.n_samples, 9);
        assert_eq!(flat.counts_per_class, [m.flat.as_ref().unwrap().counts]);
        assert_eq!(flat.class_aucs(2), [m.flat.as_ref().unwrap().auc; 2]);
        assert_eq!(s.class_aucs(3), m.auc_per_class);
        // A file written before `flat`: same report, no AUC.
        json.as_object_mut().unwrap().remove("flat");
        let old: SplitSummary = serde_json::from_value(json).unwrap();
        let rebuilt = old.flattened().unwrap();
        assert_eq!(rebuilt.report, flat.report);
        assert_eq!(rebuilt.auc_per_class, [None]);
        // Multi-class summaries have no flattened form.
        let mc = evaluate(
            TaskKind::MultiClass,
            &Labels::Classes(&[0, 1]),
            &[0.6, 0.4, 0.3, 0.7],
            2,
        )
        .unwrap();
        let mc: SplitSummary = serde_json::from_value(serde_json::to_value(&mc).unwrap()).unwrap();
        assert!(mc.flattened().is_none());
    }

    #[test]
    fn names_come_from_the_catalog() {
        let n = class_names("synthetic:dermamnist", 7);
        assert_eq!(n[5], "melanocytic nevi");
        assert_eq!(class_names("chestmnist_64", 14)[0], "atelectasis");
        assert_eq!(
            class_names("chestmnist", 3),
            ["class 0", "class 1", "class 2"]
        );
        assert_eq!(class_names("not-a-dataset", 1), ["class 0"]);
    }
}
