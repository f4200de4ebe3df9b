//! What the figures of the HTML report show, worked out apart from drawing
//! them: the rows of each dataset, the configuration with the best
//! validation AUC, confusion counts averaged over a configuration's runs,
//! its test-set scores averaged over runs (the ensemble of
//! [`crate::ensemble`]), the train-set prevalence of each label or class,
//! and the sentences that say why something is missing. `figures` turns
//! these into SVG files and captions.

use sweep_metrics::TaskKind;

use crate::aggregate::{Stat, summarize};
use crate::ensemble::Ensemble;
use crate::html::runs::{RowData, RunData, SplitNumbers};
use crate::predictions::Predictions;
use crate::report_table::Report;
use crate::split_metrics::class_names;

/// The rows of each dataset, in order of first appearance, and a note for
/// each row that pools several datasets (it has no per-dataset figures).
pub(crate) fn rows_by_dataset(rows: &[RowData]) -> (Vec<(String, Vec<usize>)>, Vec<String>) {
    let mut datasets: Vec<(String, Vec<usize>)> = Vec::new();
    let mut notes = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match &row.dataset {
            Some(d) => match datasets.iter_mut().find(|(name, _)| name == d) {
                Some((_, members)) => members.push(i),
                None => datasets.push((d.clone(), vec![i])),
            },
            None => notes.push(format!(
                "{}: pools runs of several datasets, so it has no per-dataset figures.",
                row.label
            )),
        }
    }
    (datasets, notes)
}

/// Train-set prevalence of one dataset: the share of training samples (in
/// percent) of each class, or with each label positive, over the runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prevalence {
    pub names: Vec<String>,
    /// Percent per class or label, mean ± sample SD over the runs.
    pub percent: Vec<Stat>,
    pub runs: usize,
}

/// The train-set prevalence over every run of `members` that has a readable
/// train summary (folds change it slightly, so runs are averaged). For a
/// binary task both classes are shown, as `--prevalence` shows them.
pub(crate) fn train_prevalence(
    dataset: &str,
    members: &[usize],
    rows: &[RowData],
) -> Result<Prevalence, String> {
    let trains: Vec<_> = members
        .iter()
        .flat_map(|&i| &rows[i].runs)
        .filter_map(|r| r.train.as_ref().ok())
        .collect();
    let Some((width, kind)) = trains.first().map(|t| (t.report.per_class.len(), t.kind)) else {
        return Err("no finished run has a train-set summary".into());
    };
    let trains: Vec<_> = trains
        .into_iter()
        .filter(|t| t.report.per_class.len() == width && t.n_samples > 0)
        .collect();
    let percent = (0..width)
        .map(|c| {
            let values: Vec<f64> = trains
                .iter()
                .map(|t| 100.0 * t.report.per_class[c].support as f64 / t.n_samples as f64)
                .collect();
            summarize(&values)
        })
        .collect();
    let names = if kind == TaskKind::Binary {
        vec!["0".to_string(), "1".to_string()]
    } else {
        class_names(dataset, width)
    };
    Ok(Prevalence {
        names,
        percent,
        runs: trains.len(),
    })
}

/// Why row `i` has no finished run: "2 failed, 1 pending".
pub(crate) fn missing_summary(report: &Report, i: usize) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in report.rows[i].runs.iter().filter(|r| !r.is_done()) {
        match counts.iter_mut().find(|(s, _)| *s == r.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.status.clone(), 1)),
        }
    }
    if counts.is_empty() {
        return "its results could not be read".into();
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The row with the highest mean validation AUC, and that mean.
pub(crate) fn best_row(members: &[usize], rows: &[RowData]) -> Option<(usize, Stat)> {
    let mut best: Option<(usize, Stat)> = None;
    for &i in members {
        let values: Vec<f64> = rows[i]
            .runs
            .iter()
            .filter_map(|r| r.val_auc)
            .filter(|v| v.is_finite())
            .collect();
        let stat = summarize(&values);
        let Some(mean) = stat.mean else { continue };
        if best
            .as_ref()
            .is_none_or(|(_, b)| b.mean.is_some_and(|m| mean > m))
        {
            best = Some((i, stat));
        }
    }
    best
}

/// Cell-wise mean over the runs' matrices, rounded to whole images; whether
/// every run had the same counts.
pub(crate) fn mean_counts(matrices: &[Vec<Vec<usize>>]) -> (Vec<Vec<u64>>, bool) {
    let first = &matrices[0];
    let identical = matrices.iter().all(|m| m == first);
    let n = matrices.len() as f64;
    let mean = first
        .iter()
        .enumerate()
        .map(|(r, row)| {
            (0..row.len())
                .map(|c| {
                    let sum: usize = matrices.iter().map(|m| m[r][c]).sum();
                    (sum as f64 / n).round() as u64
                })
                .collect()
        })
        .collect();
    (mean, identical)
}

/// The test-set confusion counts of a configuration's runs.
#[derive(Debug)]
pub(crate) struct RunConfusions {
    /// One matrix per run shaped like the first run's: k×k, or for
    /// multi-label tasks the 2×2 blocks of the labels one under the other.
    pub matrices: Vec<Vec<Vec<usize>>>,
    /// The class or label names, in matrix order.
    pub names: Vec<String>,
}

/// The confusion counts of the runs whose test-set summaries are `tests`.
pub(crate) fn confusion_counts(
    tests: &[&SplitNumbers],
    dataset: &str,
) -> Result<RunConfusions, String> {
    let first = tests
        .first()
        .ok_or("no run of this configuration has a test-set summary")?;
    let (matrices, names): (Vec<Vec<Vec<usize>>>, Vec<String>) = match first.kind {
        TaskKind::MultiLabel => {
            let l = first.counts_per_class.len();
            let m = tests
                .iter()
                .filter(|t| t.counts_per_class.len() == l)
                .map(|t| {
                    t.counts_per_class
                        .iter()
                        .flat_map(|c| {
                            [
                                vec![c.true_negatives, c.false_positives],
                                vec![c.false_negatives, c.true_positives],
                            ]
                        })
                        .collect()
                })
                .collect();
            (m, class_names(dataset, l))
        }
        TaskKind::Binary | TaskKind::MultiClass => {
            let k = first
                .confusion_matrix
                .as_ref()
                .ok_or("metrics.json has no test confusion matrix")?
                .n_classes();
            let m = tests
                .iter()
                .filter_map(|t| t.confusion_matrix.as_ref())
                .filter(|c| c.n_classes() == k)
                .map(|c| c.counts.clone())
                .collect();
            (m, class_names(dataset, k))
        }
    };
    if matrices.is_empty() || names.is_empty() {
        return Err("the test-set summary has no classes".into());
    }
    Ok(RunConfusions { matrices, names })
}

/// Test-set labels (`n × outputs` indicators) and scores averaged over runs.
#[derive(Debug)]
pub(crate) struct AveragedScores {
    pub y: Vec<u8>,
    pub scores: Vec<f64>,
    pub outputs: usize,
    pub runs: usize,
    /// Runs left out: unreadable, or scored on another test set.
    pub skipped: usize,
}

impl AveragedScores {
    pub(super) fn describe(&self) -> String {
        let mut s = if self.runs == 1 {
            "scores of its one run".to_string()
        } else {
            format!("scores averaged over its {} runs", self.runs)
        };
        if self.skipped > 0 {
            s.push_str(&format!(
                "; {} run(s) left out (no readable predictions.csv on the same test set)",
                self.skipped
            ));
        }
        s
    }
}

/// The scores of `runs` averaged over those that are readable and scored on
/// the test set of the first readable one; the others are counted as
/// skipped.
pub(crate) fn averaged_scores(runs: &[RunData]) -> Result<AveragedScores, String> {
    let mut read = runs.iter().map(|run| Predictions::read(&run.dir));
    let mut skipped = 0;
    let mut first_error = None;
    let reference = loop {
        match read.next() {
            Some(Ok(p)) => break p,
            Some(Err(e)) => {
                skipped += 1;
                first_error.get_or_insert(e);
            }
            None => return Err(first_error.unwrap_or_else(|| "no finished run".into())),
        }
    };
    let mut ensemble = Ensemble::on_test_set_of(&reference);
    ensemble.add(&reference);
    for p in read {
        match p {
            Ok(p) if ensemble.add(&p) => {}
            _ => skipped += 1,
        }
    }
    Ok(AveragedScores {
        y: reference.indicators()?,
        scores: ensemble.mean(),
        outputs: reference.outputs,
        runs: ensemble.runs(),
        skipped,
    })
}

/// Output `j` of an `n × outputs` matrix.
pub(crate) fn column<T: Copy>(values: &[T], outputs: usize, j: usize) -> Vec<T> {
    values.iter().skip(j).step_by(outputs).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn mean_counts_round_and_tell_identical_runs_apart() {
        let a = vec![vec![10, 2], vec![3, 5]];
        let b = vec![vec![11, 1], vec![3, 5]];
        assert_eq!(
            mean_counts(&[a.clone(), a.clone()]),
            (vec![vec![10, 2], vec![3, 5]], true)
        );
        // 10.5 rounds away from zero, 1.5 too.
        assert_eq!(mean_counts(&[a, b]), (vec![vec![11, 2], vec![3, 5]], false));
    }

    #[test]
    fn train_prevalence_is_the_share_of_positives_per_label() {
        use crate::split_metrics::SplitSummary;
        use sweep_metrics::{Labels, evaluate};
        let summary = |y: &[u8]| -> SplitSummary {
            let p = vec![0.5; y.len()];
            let m = evaluate(TaskKind::MultiLabel, &Labels::Indicators(y), &p, 2).unwrap();
            serde_json::from_value(serde_json::to_value(m).unwrap()).unwrap()
        };
        let run = |y: &[u8]| RunData {
            dir: Default::default(),
            history: Err("not needed".into()),
            val_auc: None,
            test: Err("not needed".into()),
            train: Ok(summary(y)),
            val: Err("not needed".into()),
            versions: Default::default(),
        };
        // Label 0 positive in 1 of 4 samples, then 2 of 4; label 1 in 4 of 4.
        let rows = [RowData {
            label: "a".into(),
            short: "a".into(),
            dataset: Some("x".into()),
            runs: vec![
                run(&[1, 1, 0, 1, 0, 1, 0, 1]),
                run(&[1, 1, 1, 1, 0, 1, 0, 1]),
            ],
        }];
        let p = train_prevalence("x", &[0], &rows).unwrap();
        assert_eq!(p.runs, 2);
        assert_eq!(p.names, ["class 0", "class 1"]);
        assert_eq!(p.percent[0].mean, Some(37.5));
        assert_eq!(p.percent[0].min, Some(25.0));
        assert_eq!(p.percent[1].mean, Some(100.0));
        let none = [RowData {
            runs: vec![],
            ..rows[0].clone()
        }];
        assert!(train_prevalence("x", &[0], &none).is_err());
    }

    #[test]
    fn columns_of_a_row_major_matrix() {
        let m = [1, 2, 3, 4, 5, 6];
        assert_eq!(column(&m, 3, 0), [1, 4]);
        assert_eq!(column(&m, 3, 2), [3, 6]);
        assert_eq!(column(&m, 1, 0), m);
    }

    fn run(dir: &Path, predictions: &str) -> RunData {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("predictions.csv"), predictions).unwrap();
        let key = sweep_core::hash::RunKey::parse(&"0".repeat(64)).unwrap();
        sweep_core::store::Store::complete(dir, &key, &["predictions.csv"]).unwrap();
        RunData {
            dir: dir.to_path_buf(),
            history: Err("not needed".into()),
            val_auc: None,
            test: Err("not needed".into()),
            train: Err("not needed".into()),
            val: Err("not needed".into()),
            versions: Default::default(),
        }
    }

    #[test]
    fn scores_are_averaged_over_runs_on_the_same_test_set() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let runs = [
            run(&t.join("a"), "index,y_0,p_0\n0,1,0.9\n1,0,0.2\n"),
            run(&t.join("b"), "index,y_0,p_0\n0,1,0.7\n1,0,0.4\n"),
            // Another test set: left out, not averaged in.
            run(&t.join("c"), "index,y_0,p_0\n0,0,0.1\n1,0,0.1\n"),
        ];
        let a = averaged_scores(&runs).unwrap();
        assert_eq!((a.runs, a.skipped, a.outputs), (2, 1, 1));
        assert_eq!(a.y, [1, 0]);
        assert!((a.scores[0] - 0.8).abs() < 1e-12 && (a.scores[1] - 0.3).abs() < 1e-12);
        assert!(a.describe().contains("averaged over its 2 runs"));
        assert!(a.describe().contains("1 run(s) left out"));
        let none = averaged_scores(&[run(&t.join("d"), "index,y_0,p_0\n")]);
        assert!(none.unwrap_err().contains("no samples"));
    }

    fn row(label: &str, dataset: Option<&str>) -> RowData {
        RowData {
            label: label.to_string(),
            short: label.to_string(),
            dataset: dataset.map(str::to_string),
            runs: Vec::new(),
        }
    }

    #[test]
    fn rows_are_grouped_by_dataset_in_order_of_appearance() {
        let rows = [
            row("a", Some("breastmnist")),
            row("b", Some("chestmnist")),
            row("pooled", None),
            row("c", Some("breastmnist")),
        ];
        let (datasets, notes) = rows_by_dataset(&rows);
        assert_eq!(
            datasets,
            [
                ("breastmnist".to_string(), vec![0, 3]),
                ("chestmnist".to_string(), vec![1]),
            ]
        );
        assert_eq!(
            notes,
            ["pooled: pools runs of several datasets, so it has no per-dataset figures."]
        );
    }
}
