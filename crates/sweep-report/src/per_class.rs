//! Per-class results of one configuration (or one run): the one-vs-rest
//! TN/FP/FN/TP table with each class's accuracy, sensitivity, specificity
//! and AUC (the per-label validation figure of the architecture study), and
//! the classification report (precision, recall, F1, support per class, then
//! accuracy / micro / macro / weighted / samples averages as scikit-learn
//! prints them). Flattened (`--flatten`), a binary or multi-label task is
//! read as one binary vector of every label decision, the layout of
//! `classification_report(y.ravel(), pred.ravel())`: classes 0 and 1.
//!
//! Numbers come from the chosen split's summary in `metrics.json`
//! (`counts_per_class`, `report`, `auc_per_class`, `flat`), class names from
//! the MedMNIST catalog.
//! With several runs (folds, seeds), every cell is the mean over the runs
//! ± the sample standard deviation, counts included: the runs share the
//! official test split, so summing their counts would count each test
//! image once per run.

use serde::Serialize;
use sweep_core::plan::PlannedRun;
use sweep_core::store::Store;
use sweep_metrics::{ClassificationReport, Prf, TaskKind};

use crate::aggregate::{Stat, summarize};
use crate::collect::{collect, read_metrics};
use crate::columns::Unit;
use crate::document::{Align, Cell, Doc, Records, Section, csv_number};
use crate::error::ReportError;
use crate::format::{DASH, compact_cell};
use crate::group::Shared;
use crate::query::{RenderOptions, Selection};
use crate::render::sealed::Tabular;
use crate::report_table::CaptionEntry;
use crate::selection::select;
use crate::split_metrics::{SplitSummary, class_names};
use sweep_data::medmnist::Split;

/// Fields shown in the caption of per-class and prevalence tables.
pub(crate) const HEADLINE: &[&str] = &[
    "dataset",
    "arch",
    "lr",
    "class_weighting",
    "pos_weight",
    "folds",
    "fold",
    "seed",
    "epochs",
    "batch_size",
    "optimizer.name",
];

/// A run that was selected but has no numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingRun {
    pub key: Option<String>,
    pub status: String,
    pub reason: String,
}

/// One class (or label) of a split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassRow {
    pub index: usize,
    pub name: String,
    pub tn: Stat,
    pub fp: Stat,
    #[serde(rename = "fn")]
    pub fn_: Stat,
    pub tp: Stat,
    /// (TP + TN) / all, from the counts.
    pub accuracy: Stat,
    /// TP / (TP + FN); equal to recall.
    pub sensitivity: Stat,
    /// TN / (TN + FP).
    pub specificity: Stat,
    /// One-vs-rest ROC AUC over the runs where it is defined.
    pub auc: Stat,
    pub precision: Stat,
    pub recall: Stat,
    pub f1: Stat,
    pub support: Stat,
}

/// An average row of the classification report (`accuracy` has only `f1`,
/// which holds the accuracy, as in scikit-learn's printout).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AverageRow {
    pub name: String,
    pub precision: Option<Stat>,
    pub recall: Option<Stat>,
    pub f1: Stat,
    pub support: Stat,
}

/// Per-class tables of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerClassReport {
    pub dataset: String,
    pub task: TaskKind,
    /// With `--flatten`: how many labels were pooled into classes 0 and 1.
    pub flattened_labels: Option<usize>,
    pub split: Split,
    pub configuration: Vec<CaptionEntry>,
    /// Keys of the runs the numbers come from.
    pub runs: Vec<String>,
    pub missing: Vec<MissingRun>,
    pub classes: Vec<ClassRow>,
    pub averages: Vec<AverageRow>,
}

/// Per-class tables for the runs `selection` picks (one configuration).
pub fn per_class(
    store: &Store,
    runs: &[PlannedRun],
    selection: &Selection,
    split: Split,
) -> Result<PerClassReport, ReportError> {
    per_class_report(store, runs, selection, split, false)
}

/// [`per_class`] on the labels flattened into one binary vector: classes 0
/// and 1, as `classification_report(y.ravel(), pred.ravel())`. Binary and
/// multi-label tasks only.
pub fn per_class_flattened(
    store: &Store,
    runs: &[PlannedRun],
    selection: &Selection,
    split: Split,
) -> Result<PerClassReport, ReportError> {
    per_class_report(store, runs, selection, split, true)
}

fn per_class_report(
    store: &Store,
    runs: &[PlannedRun],
    selection: &Selection,
    split: Split,
    flatten: bool,
) -> Result<PerClassReport, ReportError> {
    let selected = select(runs, selection)?;
    let grouping = selected.one_configuration()?;
    let loaded = collect(store, &selected.runs, |dir| {
        SplitSummary::from_metrics(&read_metrics(dir)?, split)
    });
    let mut summaries = Vec::new();
    let mut keys = Vec::new();
    let mut missing = Vec::new();
    for (run, outcome) in selected.runs.iter().zip(loaded) {
        let key = run.key.as_ref().map(|k| k.as_str().to_string());
        match outcome {
            Ok(s) => {
                summaries.push(s);
                keys.push(key.unwrap_or_default());
            }
            Err(m) => missing.push(MissingRun {
                key,
                status: m.status,
                reason: m.reason,
            }),
        }
    }
    let Some(first) = summaries.first() else {
        return Err(ReportError::NothingDone {
            selected: selected.runs.len(),
            reasons: missing
                .iter()
                .map(|m| format!("{}: {}", m.status, m.reason))
                .collect::<Vec<_>>()
                .join("; "),
        });
    };
    let (task, width) = (first.kind, first.report.per_class.len());
    let outputs = first.counts_per_class.len();
    if let Some((i, _)) = summaries
        .iter()
        .enumerate()
        .find(|(_, s)| s.kind != task || s.report.per_class.len() != width)
    {
        return Err(ReportError::UnreadableRun {
            key: keys[i].clone(),
            message: "its task or class count differs from the other runs".into(),
        });
    }
    let dataset = selected.runs[0].spec.dataset.clone();
    let (summaries, names) = if flatten {
        let flat: Option<Vec<SplitSummary>> =
            summaries.iter().map(SplitSummary::flattened).collect();
        let flat = flat.ok_or_else(|| ReportError::NotFlattenable {
            dataset: dataset.clone(),
            task: task.to_string(),
        })?;
        (flat, vec!["0".to_string(), "1".to_string()])
    } else {
        let names = class_names(&dataset, width);
        (summaries, names)
    };
    let width = names.len();
    let counts: Vec<_> = summaries.iter().map(SplitSummary::class_counts).collect();
    let aucs: Vec<_> = summaries.iter().map(|s| s.class_aucs(width)).collect();
    let over =
        |f: &dyn Fn(usize) -> f64| summarize(&(0..summaries.len()).map(f).collect::<Vec<_>>());
    let classes = (0..width)
        .map(|c| {
            let prf = |i: usize| -> &Prf { &summaries[i].report.per_class[c] };
            let cnt = |i: usize| counts[i].get(c).copied().unwrap_or_default();
            let defined_aucs: Vec<f64> = aucs.iter().filter_map(|a| a[c]).collect();
            ClassRow {
                index: c,
                name: names[c].clone(),
                tn: over(&|i| cnt(i).true_negatives as f64),
                fp: over(&|i| cnt(i).false_positives as f64),
                fn_: over(&|i| cnt(i).false_negatives as f64),
                tp: over(&|i| cnt(i).true_positives as f64),
                accuracy: over(&|i| {
                    let k = cnt(i);
                    (k.true_positives + k.true_negatives) as f64 / k.total().max(1) as f64
                }),
                sensitivity: over(&|i| cnt(i).sensitivity()),
                specificity: over(&|i| cnt(i).specificity()),
                auc: summarize(&defined_aucs),
                precision: over(&|i| prf(i).precision),
                recall: over(&|i| prf(i).recall),
                f1: over(&|i| prf(i).f1),
                support: over(&|i| prf(i).support as f64),
            }
        })
        .collect();
    let reports: Vec<&ClassificationReport> = summaries.iter().map(|s| &s.report).collect();
    Ok(PerClassReport {
        dataset,
        task,
        flattened_labels: flatten.then_some(outputs),
        split,
        configuration: headline(&grouping.caption),
        runs: keys,
        missing,
        classes,
        averages: averages(&reports),
    })
}

pub(crate) fn headline(caption: &[Shared]) -> Vec<CaptionEntry> {
    HEADLINE
        .iter()
        .filter_map(|h| {
            caption.iter().find(|c| c.name == *h).map(|c| CaptionEntry {
                field: c.name.clone(),
                value: c.value.clone(),
                default: c.default,
            })
        })
        .collect()
}

fn averages(reports: &[&ClassificationReport]) -> Vec<AverageRow> {
    let total: Vec<f64> = reports
        .iter()
        .map(|r| r.per_class.iter().map(|p| p.support as f64).sum())
        .collect();
    let mut out = Vec::new();
    let row =
        |name: &str, pick: &dyn Fn(&ClassificationReport) -> Option<Prf>| -> Option<AverageRow> {
            let rows: Vec<Prf> = reports.iter().filter_map(|r| pick(r)).collect();
            (rows.len() == reports.len()).then(|| AverageRow {
                name: name.to_string(),
                precision: Some(summarize(
                    &rows.iter().map(|p| p.precision).collect::<Vec<_>>(),
                )),
                recall: Some(summarize(
                    &rows.iter().map(|p| p.recall).collect::<Vec<_>>(),
                )),
                f1: summarize(&rows.iter().map(|p| p.f1).collect::<Vec<_>>()),
                support: summarize(&rows.iter().map(|p| p.support as f64).collect::<Vec<_>>()),
            })
        };
    let acc: Vec<f64> = reports.iter().filter_map(|r| r.accuracy).collect();
    if acc.len() == reports.len() {
        out.push(AverageRow {
            name: "accuracy".into(),
            precision: None,
            recall: None,
            f1: summarize(&acc),
            support: summarize(&total),
        });
    }
    out.extend(row("micro avg", &|r| r.micro_avg));
    out.extend(row("macro avg", &|r| Some(r.macro_avg)));
    out.extend(row("weighted avg", &|r| Some(r.weighted_avg)));
    out.extend(row("samples avg", &|r| r.samples_avg));
    out
}

impl Tabular for PerClassReport {
    fn doc(&self, options: &RenderOptions) -> Doc {
        let d = options.decimals;
        let n = self.runs.len();
        let score = |s: &Stat| compact_cell(s, Unit::Score, d);
        let count = |s: &Stat| compact_cell(s, Unit::Count, d);
        let mut caption: Vec<String> = self
            .configuration
            .iter()
            .map(|c| format!("{} = {}", c.field, c.value))
            .collect();
        caption.push(format!("{n} run{}", if n == 1 { "" } else { "s" }));
        let mut counts_align = vec![Align::Right, Align::Left];
        counts_align.extend([Align::Right; 8]);
        let counts = Section {
            title: Some(
                "Confusion counts, accuracy, sensitivity, specificity and AUC per class (one-vs-rest)"
                    .into(),
            ),
            header: [
                "#",
                "class",
                "TN",
                "FP",
                "FN",
                "TP",
                "accuracy",
                "sensitivity",
                "specificity",
                "AUC",
            ]
            .map(String::from)
            .to_vec(),
            align: counts_align,
            rows: self
                .classes
                .iter()
                .map(|c| {
                    vec![
                        Cell::plain(c.index.to_string()),
                        Cell::plain(c.name.clone()),
                        Cell::plain(count(&c.tn)),
                        Cell::plain(count(&c.fp)),
                        Cell::plain(count(&c.fn_)),
                        Cell::plain(count(&c.tp)),
                        Cell::plain(score(&c.accuracy)),
                        Cell::plain(score(&c.sensitivity)),
                        Cell::plain(score(&c.specificity)),
                        Cell::plain(score(&c.auc)),
                    ]
                })
                .collect(),
        };
        let mut rows: Vec<Vec<Cell>> = self
            .classes
            .iter()
            .map(|c| {
                vec![
                    Cell::plain(c.name.clone()),
                    Cell::plain(score(&c.precision)),
                    Cell::plain(score(&c.recall)),
                    Cell::plain(score(&c.f1)),
                    Cell::plain(count(&c.support)),
                ]
            })
            .collect();
        for a in &self.averages {
            let opt = |s: &Option<Stat>| s.as_ref().map_or(String::new(), &score);
            rows.push(vec![
                Cell::plain(a.name.clone()),
                Cell::plain(opt(&a.precision)),
                Cell::plain(opt(&a.recall)),
                Cell::plain(score(&a.f1)),
                Cell::plain(count(&a.support)),
            ]);
        }
        let report = Section {
            title: Some("Classification report".into()),
            header: ["class", "precision", "recall", "F1", "support"]
                .map(String::from)
                .to_vec(),
            align: vec![
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            rows,
        };
        let mut notes = Vec::new();
        if n > 1 {
            notes.push(format!(
                "Mean ± sample standard deviation over {n} runs (counts too: the runs share one test split)."
            ));
        }
        if let Some(labels) = self.flattened_labels {
            notes.push(format!(
                "Labels flattened: each of the {labels} labels of every sample is one binary decision \
                 (y.ravel() against pred.ravel()); class 1 is a positive label. The averages are the \
                 flat_* metrics of `sweep report --metrics`."
            ));
        } else if self.task == TaskKind::Binary {
            notes.push(
                "Binary task: class 1 is the positive class; class 0's counts are the same cells mirrored."
                    .into(),
            );
        }
        if self.task == TaskKind::MultiLabel && self.flattened_labels.is_none() {
            notes.push(
                "Multi-label task: each label is scored on its own (support = positives).".into(),
            );
        }
        for m in &self.missing {
            notes.push(format!(
                "Missing run {}: {} ({}).",
                m.key.as_deref().map_or(DASH, |k| &k[..k.len().min(12)]),
                m.status,
                m.reason
            ));
        }
        Doc {
            title: Some(format!(
                "Per-class results{}, {} split",
                if self.flattened_labels.is_some() {
                    " (labels flattened)"
                } else {
                    ""
                },
                self.split
            )),
            caption: Some(caption.join(", ")),
            sections: vec![counts, report],
            notes,
        }
    }

    fn records(&self) -> Records {
        let mut out = vec![
            [
                "row",
                "index",
                "class",
                "tn",
                "fp",
                "fn",
                "tp",
                "precision",
                "recall",
                "f1",
                "support",
                "accuracy",
                "sensitivity",
                "specificity",
                "auc",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for c in &self.classes {
            out.push(vec![
                "class".into(),
                c.index.to_string(),
                c.name.clone(),
                csv_number(c.tn.mean),
                csv_number(c.fp.mean),
                csv_number(c.fn_.mean),
                csv_number(c.tp.mean),
                csv_number(c.precision.mean),
                csv_number(c.recall.mean),
                csv_number(c.f1.mean),
                csv_number(c.support.mean),
                csv_number(c.accuracy.mean),
                csv_number(c.sensitivity.mean),
                csv_number(c.specificity.mean),
                csv_number(c.auc.mean),
            ]);
        }
        for a in &self.averages {
            out.push(vec![
                "average".into(),
                String::new(),
                a.name.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                csv_number(a.precision.and_then(|s| s.mean)),
                csv_number(a.recall.and_then(|s| s.mean)),
                csv_number(a.f1.mean),
                csv_number(a.support.mean),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        out
    }
}
