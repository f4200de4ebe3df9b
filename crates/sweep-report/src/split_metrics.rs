//! The part of a split's metric summary that per-class tables read
//! (`counts_per_class`, `report`), and the names of its classes.
//!
//! Only these fields are deserialised, so a `metrics.json` that gains fields
//! later still loads. Class names come from the MedMNIST catalog through the
//! run's dataset name.

use serde::Deserialize;
use serde_json::Value;
use sweep_data::catalog::DatasetRef;
use sweep_metrics::{BinaryCounts, ClassificationReport, TaskKind};

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
        };
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
