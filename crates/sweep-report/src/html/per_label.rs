//! The per-label validation tables of a dataset: accuracy, sensitivity,
//! specificity and AUC of every label (or class, one-vs-rest) for every
//! configuration, side by side. These are the numbers of the ChestMNIST
//! architecture study's per-label validation figure, which is where a reader
//! sees that a model's average sensitivity hides labels it never predicts.
//!
//! Values come from each run's validation summary in `metrics.json`
//! (`counts_per_class`, `auc_per_class`); a configuration's runs are pooled
//! as mean ± sample standard deviation, like every other table.

use crate::aggregate::{Stat, summarize};
use crate::html::runs::RowData;
use crate::split_metrics::{SplitSummary, class_names};

/// The four tables, in the order the page shows them.
pub(crate) const PER_LABEL_METRICS: [&str; 4] = ["accuracy", "sensitivity", "specificity", "AUC"];

/// One dataset's per-label validation numbers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PerLabelTable {
    /// Label (or class) names, one table row each.
    pub names: Vec<String>,
    /// The configurations shown (indices into the report's rows), one
    /// table column each.
    pub configurations: Vec<usize>,
    /// `values[metric][label][configuration]`, metrics as in
    /// [`PER_LABEL_METRICS`].
    pub values: Vec<Vec<Vec<Stat>>>,
    /// Configurations left out, and why.
    pub left_out: Vec<String>,
}

/// Per-label validation numbers of the configurations `members` of
/// `dataset`; an error when none of them has a readable validation summary.
pub(crate) fn per_label_validation(
    dataset: &str,
    members: &[usize],
    rows: &[RowData],
) -> Result<PerLabelTable, String> {
    let mut width = None;
    let mut configurations = Vec::new();
    let mut summaries: Vec<Vec<&SplitSummary>> = Vec::new();
    let mut left_out = Vec::new();
    for &i in members {
        let vals: Vec<&SplitSummary> = rows[i]
            .runs
            .iter()
            .filter_map(|r| r.val.as_ref().ok())
            .collect();
        let Some(first) = vals.first() else {
            left_out.push(format!("{} (no validation summary)", rows[i].short));
            continue;
        };
        let w = first.class_counts().len();
        if *width.get_or_insert(w) != w || vals.iter().any(|v| v.class_counts().len() != w) {
            left_out.push(format!("{} (a different number of labels)", rows[i].short));
            continue;
        }
        configurations.push(i);
        summaries.push(vals);
    }
    let Some(width) = width.filter(|_| !configurations.is_empty()) else {
        return Err(format!(
            "no configuration has a validation summary: {}",
            left_out.join("; ")
        ));
    };
    let values = (0..PER_LABEL_METRICS.len())
        .map(|metric| {
            (0..width)
                .map(|label| {
                    summaries
                        .iter()
                        .map(|runs| summarize(&label_values(runs, metric, label, width)))
                        .collect()
                })
                .collect()
        })
        .collect();
    let names = match summaries[0][0].kind {
        sweep_metrics::TaskKind::Binary => vec!["0".to_string(), "1".to_string()],
        _ => class_names(dataset, width),
    };
    Ok(PerLabelTable {
        names,
        configurations,
        values,
        left_out,
    })
}

/// One metric of one label over a configuration's runs (undefined AUCs left out).
fn label_values(runs: &[&SplitSummary], metric: usize, label: usize, width: usize) -> Vec<f64> {
    runs.iter()
        .filter_map(|s| {
            let c = s.class_counts()[label];
            match metric {
                0 => Some((c.true_positives + c.true_negatives) as f64 / c.total().max(1) as f64),
                1 => Some(c.sensitivity()),
                2 => Some(c.specificity()),
                _ => s.class_aucs(width)[label],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::runs::RunData;
    use sweep_metrics::{Labels, TaskKind, evaluate};

    fn summary(y: &[u8], p: &[f64]) -> SplitSummary {
        let m = evaluate(TaskKind::MultiLabel, &Labels::Indicators(y), p, 2).unwrap();
        serde_json::from_value(serde_json::to_value(m).unwrap()).unwrap()
    }

    fn row(short: &str, vals: Vec<Result<SplitSummary, String>>) -> RowData {
        RowData {
            label: short.into(),
            short: short.into(),
            dataset: Some("synthetic:chestmnist".into()),
            runs: vals
                .into_iter()
                .map(|val| RunData {
                    dir: Default::default(),
                    history: Err("not needed".into()),
                    val_auc: None,
                    test: Err("not needed".into()),
                    train: Err("not needed".into()),
                    val,
                    versions: Default::default(),
                })
                .collect(),
        }
    }

    #[test]
    fn every_label_gets_accuracy_sensitivity_specificity_and_auc() {
        // Four samples × two labels. Label 0: y 1,0,1,0 pred 1,0,0,0 ->
        // TP 1, TN 2, FN 1: accuracy 0.75, sensitivity 0.5, specificity 1.
        let y = [1, 1, 0, 1, 1, 1, 0, 1];
        let p = [0.9, 0.8, 0.2, 0.1, 0.4, 0.7, 0.3, 0.6];
        let other_p = [0.9, 0.8, 0.6, 0.1, 0.7, 0.7, 0.3, 0.6];
        let rows = [
            row("a", vec![Ok(summary(&y, &p)), Ok(summary(&y, &other_p))]),
            row("b", vec![Err("unreadable".into())]),
        ];
        let t = per_label_validation("synthetic:chestmnist", &[0, 1], &rows).unwrap();
        assert_eq!(t.configurations, [0]);
        assert_eq!(t.left_out, ["b (no validation summary)"]);
        assert_eq!(t.names.len(), 2);
        let (acc, sens, spec, auc) = (
            &t.values[0][0][0],
            &t.values[1][0][0],
            &t.values[2][0][0],
            &t.values[3][0][0],
        );
        // Second run: label 0 predictions 1,1,1,0 -> TP 2, FP 1, TN 1.
        assert_eq!(acc.mean, Some((0.75 + 0.75) / 2.0));
        assert_eq!(sens.mean, Some((0.5 + 1.0) / 2.0));
        assert_eq!(spec.mean, Some((1.0 + 0.5) / 2.0));
        assert_eq!(acc.n, 2);
        // Label 0 scores 0.9, 0.2 | 0.4, 0.3 for y 1, 0, 1, 0: AUC 1 in the
        // first run; 0.9, 0.6 | 0.7, 0.3 in the second: also 1.
        assert_eq!(auc.mean, Some(1.0));
        // Label 1 is positive in every sample: AUC undefined, left out.
        assert_eq!(t.values[3][1][0].n, 0);
    }

    #[test]
    fn no_validation_summary_anywhere_is_an_error() {
        let rows = [row("a", vec![Err("x".into())])];
        let err = per_label_validation("synthetic:chestmnist", &[0], &rows).unwrap_err();
        assert!(err.contains("a (no validation summary)"), "{err}");
    }
}
