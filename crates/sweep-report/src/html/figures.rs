//! The figures of the HTML report, drawn with `sweep-plots` as SVG files
//! (which need no font on the machine that writes them):
//!
//! * per dataset: test AUC per configuration as bars with ±1 SD error bars;
//!   the test-set confusion of the configuration with the best mean
//!   validation AUC (a grid of 2×2 matrices for multi-label tasks, one k×k
//!   matrix otherwise); ROC curves on the test set, one per configuration
//!   for binary tasks and one per label or class of the best configuration
//!   otherwise; the train-set prevalence of each label or class as bars;
//!   the per-label validation numbers of every configuration (tables,
//!   worked out in `per_label`);
//! * per configuration: learning curves of loss, accuracy, AUC, sensitivity
//!   and specificity, train against validation, the mean over runs with the
//!   min–max band.
//!
//! A configuration's runs (folds, seeds) share the official test split, so
//! its confusion counts are averaged over them and its ROC curves use the
//! runs' averaged scores; those numbers are worked out in `figure_data`,
//! and this module lays them out and captions them. A figure that cannot be
//! drawn becomes a sentence saying why, never a failed report.

use std::path::{Path, PathBuf};

use sweep_metrics::TaskKind;
use sweep_plots::{
    Bar, Curve, LabelMatrix, PlotError, RocCurve, Split as CurveSplit, bar_chart, confusion_grid,
    confusion_matrix, learning_curves, roc_curves,
};

use crate::aggregate::{Stat, summarize};
use crate::html::figure_data::{
    RunConfusions, averaged_scores, best_row, column, confusion_counts, mean_counts,
    missing_summary, rows_by_dataset, train_prevalence,
};
use crate::html::per_label::{PerLabelTable, per_label_validation};
use crate::html::runs::{RowData, SplitNumbers};
use crate::report_table::Report;
use crate::split_metrics::class_names;

/// Panels per row of the multi-label confusion grid (ChestMNIST: 3 × 5).
const GRID_COLUMNS: usize = 5;

/// The metrics drawn as learning curves: `history.csv` column suffix, label.
pub(crate) const CURVE_METRICS: [(&str, &str); 5] = [
    ("loss", "Loss"),
    ("accuracy", "Accuracy"),
    ("auc", "AUC"),
    ("sensitivity", "Sensitivity"),
    ("specificity", "Specificity"),
];

/// A figure written to disk, as the page refers to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Figure {
    /// Path relative to the page, with `/` separators.
    pub src: String,
    /// Text alternative (what the figure shows).
    pub alt: String,
    /// What the reader needs to know to read it.
    pub caption: String,
}

/// A figure, or why there is none.
pub(crate) type Drawn = Result<Figure, String>;

/// The figures of one dataset.
#[derive(Debug)]
pub(crate) struct DatasetFigures {
    pub dataset: String,
    pub task: Option<TaskKind>,
    pub bars: Drawn,
    pub best: Result<Best, String>,
    pub roc: Drawn,
    /// Train-set prevalence per label or class.
    pub prevalence: Drawn,
    /// Validation accuracy, sensitivity, specificity and AUC per label.
    pub per_label: Result<PerLabelTable, String>,
}

/// The configuration with the highest mean validation AUC.
#[derive(Debug)]
pub(crate) struct Best {
    pub row: usize,
    pub val_auc: Stat,
    pub confusion: Drawn,
}

/// The learning curves of one configuration, one figure per metric.
#[derive(Debug)]
pub(crate) struct CurveFigures {
    pub row: usize,
    pub figures: Result<Vec<Drawn>, String>,
}

/// Everything drawn for one report.
#[derive(Debug)]
pub(crate) struct AllFigures {
    pub datasets: Vec<DatasetFigures>,
    pub curves: Vec<CurveFigures>,
    /// Files written, for the caller.
    pub written: Vec<PathBuf>,
    /// Rows left out of the per-dataset figures.
    pub notes: Vec<String>,
}

/// Writes SVG files into `dir` (the page's `figures/` folder, `src` prefix
/// `prefix`).
struct Writer<'a> {
    dir: &'a Path,
    prefix: &'a str,
    written: Vec<PathBuf>,
}

impl Writer<'_> {
    fn draw(
        &mut self,
        name: &str,
        alt: String,
        caption: String,
        draw: impl FnOnce(&Path) -> Result<(), PlotError>,
    ) -> Drawn {
        let path = self.dir.join(name);
        draw(&path).map_err(|e| format!("figure not drawn: {e}"))?;
        self.written.push(path);
        Ok(Figure {
            src: format!("{}/{name}", self.prefix),
            alt,
            caption,
        })
    }
}

/// Draws every figure of `report` into `dir`, referred to as `prefix/…`.
pub(crate) fn draw_all(report: &Report, rows: &[RowData], dir: &Path, prefix: &str) -> AllFigures {
    let mut w = Writer {
        dir,
        prefix,
        written: Vec::new(),
    };
    let (datasets, notes) = rows_by_dataset(rows);
    let datasets = datasets
        .iter()
        .enumerate()
        .map(|(d, (name, members))| dataset_figures(&mut w, d + 1, name, members, rows, report))
        .collect();
    let curves = (0..rows.len())
        .map(|i| CurveFigures {
            row: i,
            figures: curve_figures(&mut w, i, &rows[i], report),
        })
        .collect();
    AllFigures {
        datasets,
        curves,
        written: w.written,
        notes,
    }
}

fn dataset_figures(
    w: &mut Writer<'_>,
    number: usize,
    dataset: &str,
    members: &[usize],
    rows: &[RowData],
    report: &Report,
) -> DatasetFigures {
    let task = members
        .iter()
        .flat_map(|&i| &rows[i].runs)
        .find_map(|r| r.test.as_ref().ok().map(|t| t.kind));
    let bars = test_auc_bars(w, number, dataset, members, rows, report);
    let best = best_row(members, rows)
        .map(|(row, val_auc)| Best {
            row,
            val_auc,
            confusion: confusion(w, number, dataset, &rows[row]),
        })
        .ok_or_else(|| "no configuration of this dataset has a validation AUC".to_string());
    let roc = match (task, &best) {
        (Some(TaskKind::Binary), _) => roc_per_configuration(w, number, dataset, members, rows),
        (Some(kind), Ok(b)) => roc_per_output(w, number, dataset, &rows[b.row], kind),
        (None, _) => Err("no finished run has a test-set summary".into()),
        (Some(_), Err(why)) => Err(why.clone()),
    };
    DatasetFigures {
        dataset: dataset.to_string(),
        task,
        bars,
        best,
        roc,
        prevalence: prevalence_bars(w, number, dataset, members, rows),
        per_label: per_label_validation(dataset, members, rows),
    }
}

fn prevalence_bars(
    w: &mut Writer<'_>,
    number: usize,
    dataset: &str,
    members: &[usize],
    rows: &[RowData],
) -> Drawn {
    let p = train_prevalence(dataset, members, rows)?;
    let bars: Vec<Bar> = p
        .names
        .iter()
        .zip(&p.percent)
        .filter_map(|(name, stat)| {
            Some(Bar {
                label: name.clone(),
                mean: stat.mean?,
                std: stat.std.filter(|s| *s > 0.0),
            })
        })
        .collect();
    let what = if p.names.len() == 2 && p.names[0] == "0" {
        "in each class"
    } else {
        "positive for each label (multi-label) or in each class"
    };
    let runs = if p.runs == 1 {
        "from its one run".to_string()
    } else {
        format!(
            "mean over {} runs, error bars ±1 sample standard deviation where folds differ",
            p.runs
        )
    };
    w.draw(
        &format!("prevalence-{number}.svg"),
        format!("Bar chart of train-set prevalence per label, {dataset}"),
        format!(
            "Train-set prevalence of {dataset}: percent of the training samples {what} \
             ({runs}); the counts are in `sweep report --prevalence`."
        ),
        |path| bar_chart(&bars, &format!("Train prevalence (%), {dataset}"), path),
    )
}

fn test_auc_bars(
    w: &mut Writer<'_>,
    number: usize,
    dataset: &str,
    members: &[usize],
    rows: &[RowData],
    report: &Report,
) -> Drawn {
    let mut bars = Vec::new();
    let mut left_out = Vec::new();
    for &i in members {
        let values: Vec<f64> = rows[i]
            .runs
            .iter()
            .filter_map(|r| r.test.as_ref().ok()?.auc)
            .filter(|v| v.is_finite())
            .collect();
        let stat = summarize(&values);
        match stat.mean {
            Some(mean) => bars.push(Bar {
                label: rows[i].short.clone(),
                mean,
                std: stat.std,
            }),
            None if rows[i].runs.is_empty() => left_out.push(format!(
                "{} (no finished run: {})",
                rows[i].short,
                missing_summary(report, i)
            )),
            None => left_out.push(format!("{} (test AUC undefined)", rows[i].short)),
        }
    }
    if bars.is_empty() {
        return Err(format!(
            "no configuration has a test AUC: {}",
            left_out.join("; ")
        ));
    }
    let mut caption = format!(
        "Test AUC of each configuration of {dataset}: mean over its runs, error bars ±1 sample \
         standard deviation (none for a single run)."
    );
    if !left_out.is_empty() {
        caption.push_str(&format!(" Not shown: {}.", left_out.join("; ")));
    }
    w.draw(
        &format!("test-auc-{number}.svg"),
        format!("Bar chart of test AUC per configuration, {dataset}"),
        caption,
        |p| bar_chart(&bars, &format!("Test AUC, {dataset}"), p),
    )
}

fn confusion(w: &mut Writer<'_>, number: usize, dataset: &str, row: &RowData) -> Drawn {
    let tests: Vec<&SplitNumbers> = row
        .runs
        .iter()
        .filter_map(|r| r.test.as_ref().ok())
        .collect();
    let RunConfusions { matrices, names } = confusion_counts(&tests, dataset)?;
    let multi_label = tests[0].kind == TaskKind::MultiLabel;
    let runs = matrices.len();
    let (mean, identical) = mean_counts(&matrices);
    let counts = if runs == 1 {
        "counts of its one run".to_string()
    } else if identical {
        format!("counts identical in its {runs} runs")
    } else {
        format!("mean counts over its {runs} runs, rounded to whole images")
    };
    let caption = format!(
        "Test-set confusion of {} ({counts}). Rows: true class; columns: predicted class; \
         shade: share of the row.",
        row.label
    );
    let alt = format!("Test-set confusion matrices of {}", row.label);
    let name = format!("confusion-{number}.svg");
    if multi_label {
        // `mean` holds the 2×2 blocks of the labels one under the other.
        let labels: Vec<LabelMatrix> = names
            .iter()
            .enumerate()
            .map(|(j, n)| {
                let (a, b) = (&mean[2 * j], &mean[2 * j + 1]);
                LabelMatrix::new(n.clone(), a[0], a[1], b[0], b[1])
            })
            .collect();
        let columns = labels.len().min(GRID_COLUMNS);
        w.draw(&name, alt, caption, |p| confusion_grid(&labels, columns, p))
    } else {
        w.draw(&name, alt, caption, |p| confusion_matrix(&mean, &names, p))
    }
}

fn roc_per_configuration(
    w: &mut Writer<'_>,
    number: usize,
    dataset: &str,
    members: &[usize],
    rows: &[RowData],
) -> Drawn {
    let mut curves = Vec::new();
    let mut sources = Vec::new();
    let mut left_out = Vec::new();
    for &i in members {
        let row = &rows[i];
        if row.runs.is_empty() {
            left_out.push(format!("{} (no finished run)", row.short));
            continue;
        }
        match averaged_scores(&row.runs) {
            Ok(a) if a.outputs == 1 => {
                curves.push(RocCurve::from_scores(row.short.clone(), &a.y, &a.scores));
                sources.push(format!("{}: {}", row.short, a.describe()));
            }
            Ok(a) => left_out.push(format!("{} ({} outputs, not binary)", row.short, a.outputs)),
            Err(e) => left_out.push(format!("{} ({e})", row.short)),
        }
    }
    if curves.is_empty() {
        return Err(format!(
            "no configuration has test-set predictions: {}",
            left_out.join("; ")
        ));
    }
    let mut caption = format!(
        "ROC curves on the test set of {dataset}, one per configuration ({}).",
        sources.join("; ")
    );
    if !left_out.is_empty() {
        caption.push_str(&format!(" Not shown: {}.", left_out.join("; ")));
    }
    w.draw(
        &format!("roc-{number}.svg"),
        format!("ROC curves per configuration on the test set, {dataset}"),
        caption,
        |p| roc_curves(&curves, p),
    )
}

fn roc_per_output(
    w: &mut Writer<'_>,
    number: usize,
    dataset: &str,
    row: &RowData,
    kind: TaskKind,
) -> Drawn {
    let a = averaged_scores(&row.runs)?;
    let names = class_names(dataset, a.outputs);
    let curves: Vec<RocCurve> = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            RocCurve::from_scores(
                name.clone(),
                &column(&a.y, a.outputs, j),
                &column(&a.scores, a.outputs, j),
            )
        })
        .collect();
    let each = if kind == TaskKind::MultiLabel {
        "label"
    } else {
        "class (one-vs-rest)"
    };
    let caption = format!(
        "ROC curves on the test set for each {each} of the best configuration, {} ({}); \
         a label or class without positives in the test set has no curve (AUC n/a).",
        row.label,
        a.describe()
    );
    w.draw(
        &format!("roc-{number}.svg"),
        format!("ROC curves per {each} on the test set, {}", row.label),
        caption,
        |p| roc_curves(&curves, p),
    )
}

fn curve_figures(
    w: &mut Writer<'_>,
    i: usize,
    row: &RowData,
    report: &Report,
) -> Result<Vec<Drawn>, String> {
    if row.runs.is_empty() {
        return Err(format!("no finished run ({})", missing_summary(report, i)));
    }
    let histories: Vec<_> = row
        .runs
        .iter()
        .filter_map(|r| r.history.as_ref().ok())
        .collect();
    if histories.is_empty() {
        let why = row
            .runs
            .iter()
            .find_map(|r| r.history.as_ref().err())
            .cloned()
            .unwrap_or_default();
        return Err(format!("no readable history: {why}"));
    }
    let epochs = histories
        .iter()
        .filter_map(|h| h.column("epoch"))
        .map(<[f64]>::len)
        .max()
        .unwrap_or(0);
    if epochs < 2 {
        // A single point per curve draws no line: say so instead of
        // showing empty axes.
        let recorded = if epochs == 1 { "one epoch" } else { "no epoch" };
        return Err(format!(
            "history.csv records {recorded} per run: learning curves need at least two"
        ));
    }
    let runs = histories.len();
    let band = if runs > 1 {
        format!("mean over {runs} runs, band min–max")
    } else {
        "one run".to_string()
    };
    Ok(CURVE_METRICS
        .iter()
        .map(|(metric, label)| {
            let curves: Vec<Curve> = [(CurveSplit::Train, "train"), (CurveSplit::Val, "val")]
                .iter()
                .map(|&(split, prefix)| Curve {
                    config: row.label.clone(),
                    split,
                    folds: histories
                        .iter()
                        .filter_map(|h| h.column(&format!("{prefix}_{metric}")))
                        .map(<[f64]>::to_vec)
                        .collect(),
                })
                .filter(|c| c.folds.iter().flatten().any(|v| v.is_finite()))
                .collect();
            if curves.is_empty() {
                return Err(format!("{label}: no value in history.csv"));
            }
            w.draw(
                &format!("curves-{}-{metric}.svg", i + 1),
                format!("{label} per epoch, train and validation, {}", row.label),
                format!("{label}: train dashed, validation solid; {band}."),
                |p| learning_curves(&curves, label, p),
            )
        })
        .collect())
}
