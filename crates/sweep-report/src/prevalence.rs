//! Class prevalence per split: how many samples of each class (or positives
//! of each label) the train, validation and test splits hold, and their
//! share. It explains, next to the per-class tables, why a rare class is
//! never predicted.
//!
//! Only the store is read: the counts are the supports of each split's
//! classification report in `metrics.json`, so the numbers describe exactly
//! the samples the run was trained and scored on (after folds and subsets).
//! With several runs (k folds) the train and validation splits differ per
//! run; cells are then mean ± sample standard deviation over the runs.

use serde::Serialize;
use sweep_core::plan::PlannedRun;
use sweep_core::store::Store;
use sweep_metrics::TaskKind;

use crate::aggregate::{Stat, summarize};
use crate::collect::{collect, read_metrics};
use crate::columns::Unit;
use crate::document::{Align, Cell, Doc, Records, Section, csv_number};
use crate::error::ReportError;
use crate::format::compact_cell;
use crate::group::group;
use crate::per_class::{MissingRun, headline};
use crate::query::{RenderOptions, Selection};
use crate::render::sealed::Tabular;
use crate::report_table::CaptionEntry;
use crate::selection::select;
use crate::split_metrics::{SplitSummary, class_names};
use sweep_data::medmnist::Split;

/// Decimals of percentages.
const PERCENT_DECIMALS: usize = 2;

/// Counts and shares of one class in each split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrevalenceRow {
    pub index: usize,
    pub name: String,
    /// Per split, in [`PrevalenceReport::splits`] order.
    pub count: Vec<Stat>,
    /// Percent of the split's samples.
    pub percent: Vec<Stat>,
}

/// Class prevalence of one dataset's splits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrevalenceReport {
    pub dataset: String,
    pub task: TaskKind,
    pub configuration: Vec<CaptionEntry>,
    pub splits: Vec<Split>,
    /// Samples per split.
    pub samples: Vec<Stat>,
    pub classes: Vec<PrevalenceRow>,
    pub runs: Vec<String>,
    pub missing: Vec<MissingRun>,
}

/// Prevalence table for the runs `selection` picks (one dataset).
pub fn prevalence(
    store: &Store,
    runs: &[PlannedRun],
    selection: &Selection,
) -> Result<PrevalenceReport, ReportError> {
    let selected = select(runs, selection)?;
    let dataset = selected.one_dataset()?;
    let loaded = collect(store, &selected.runs, |dir| {
        let m = read_metrics(dir)?;
        Split::ALL
            .iter()
            .map(|&s| SplitSummary::from_metrics(&m, s))
            .collect::<Result<Vec<_>, String>>()
    });
    let mut per_run: Vec<Vec<SplitSummary>> = Vec::new();
    let mut keys = Vec::new();
    let mut missing = Vec::new();
    for (run, outcome) in selected.runs.iter().zip(loaded) {
        let key = run.key.as_ref().map(|k| k.as_str().to_string());
        match outcome {
            Ok(s) => {
                per_run.push(s);
                keys.push(key.unwrap_or_default());
            }
            Err(m) => missing.push(MissingRun {
                key,
                status: m.status,
                reason: m.reason,
            }),
        }
    }
    let Some(first) = per_run.first() else {
        return Err(ReportError::NothingDone {
            selected: selected.runs.len(),
            reasons: missing
                .iter()
                .map(|m| format!("{}: {}", m.status, m.reason))
                .collect::<Vec<_>>()
                .join("; "),
        });
    };
    let task = first[0].kind;
    let width = first[0].report.per_class.len();
    if let Some(i) = per_run
        .iter()
        .position(|r| r.iter().any(|s| s.report.per_class.len() != width))
    {
        return Err(ReportError::UnreadableRun {
            key: keys[i].clone(),
            message: "its class count differs from the other runs".into(),
        });
    }
    let names = class_names(&dataset, width);
    let over = |f: &dyn Fn(&[SplitSummary]) -> f64| {
        summarize(&per_run.iter().map(|r| f(r)).collect::<Vec<_>>())
    };
    let samples = (0..3).map(|s| over(&|r| r[s].n_samples as f64)).collect();
    let classes = (0..width)
        .map(|c| PrevalenceRow {
            index: c,
            name: names[c].clone(),
            count: (0..3)
                .map(|s| over(&|r| r[s].report.per_class[c].support as f64))
                .collect(),
            percent: (0..3)
                .map(|s| {
                    over(&|r| {
                        100.0 * r[s].report.per_class[c].support as f64
                            / r[s].n_samples.max(1) as f64
                    })
                })
                .collect(),
        })
        .collect();
    // The caption shows what all selected runs share (the dataset at least).
    let configuration = headline(&group(&selected.view_refs(), &[])?.caption);
    Ok(PrevalenceReport {
        dataset,
        task,
        configuration,
        splits: Split::ALL.to_vec(),
        samples,
        classes,
        runs: keys,
        missing,
    })
}

impl Tabular for PrevalenceReport {
    fn doc(&self, _options: &RenderOptions) -> Doc {
        let n = self.runs.len();
        let count = |s: &Stat| compact_cell(s, Unit::Count, 1);
        let pct = |s: &Stat| compact_cell(s, Unit::Score, PERCENT_DECIMALS);
        let mut header = vec!["#".to_string(), "class".to_string()];
        let mut align = vec![Align::Right, Align::Left];
        for s in &self.splits {
            header.push(format!("{s} n"));
            header.push(format!("{s} %"));
            align.extend([Align::Right, Align::Right]);
        }
        let mut rows: Vec<Vec<Cell>> = self
            .classes
            .iter()
            .map(|c| {
                let mut cells = vec![
                    Cell::plain(c.index.to_string()),
                    Cell::plain(c.name.clone()),
                ];
                for (k, p) in c.count.iter().zip(&c.percent) {
                    cells.push(Cell::plain(count(k)));
                    cells.push(Cell::plain(pct(p)));
                }
                cells
            })
            .collect();
        let mut total = vec![Cell::plain(""), Cell::plain("samples")];
        for s in &self.samples {
            total.push(Cell::plain(count(s)));
            total.push(Cell::plain(""));
        }
        rows.push(total);
        let mut caption: Vec<String> = self
            .configuration
            .iter()
            .map(|c| format!("{} = {}", c.field, c.value))
            .collect();
        caption.push(format!("{n} run{}", if n == 1 { "" } else { "s" }));
        let mut notes = Vec::new();
        if self.task == TaskKind::MultiLabel {
            notes.push(
                "Multi-label task: % = samples carrying the label; a sample can carry several, so columns need not sum to 100."
                    .to_string(),
            );
        }
        if n > 1 {
            notes.push(format!(
                "Mean ± sample standard deviation over {n} runs (folds split train and validation differently)."
            ));
        }
        for m in &self.missing {
            notes.push(format!(
                "Missing run {}: {} ({}).",
                m.key.as_deref().map_or("-", |k| &k[..k.len().min(12)]),
                m.status,
                m.reason
            ));
        }
        Doc {
            title: Some("Class prevalence per split".into()),
            caption: Some(caption.join(", ")),
            sections: vec![Section {
                title: None,
                header,
                align,
                rows,
            }],
            notes,
        }
    }

    fn records(&self) -> Records {
        let mut header = vec!["index".to_string(), "class".to_string()];
        for s in &self.splits {
            header.push(format!("{s}_n"));
            header.push(format!("{s}_percent"));
        }
        let mut out = vec![header];
        for c in &self.classes {
            let mut r = vec![c.index.to_string(), c.name.clone()];
            for (k, p) in c.count.iter().zip(&c.percent) {
                r.push(csv_number(k.mean));
                r.push(csv_number(p.mean));
            }
            out.push(r);
        }
        out
    }
}
