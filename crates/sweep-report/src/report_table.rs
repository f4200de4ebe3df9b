//! The comparison table as data: rows of configurations, per-metric
//! statistics over their runs, the runs themselves (done or not), and the
//! optional comparison with a baseline row. [`build_report`] assembles it
//! from the store; the renderers only print it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use sweep_core::plan::PlannedRun;
use sweep_core::select::FieldCondition;
use sweep_core::store::Store;

use crate::aggregate::{Stat, summarize};
use crate::collect::{Missing, collect, read_metrics};
use crate::columns::{MetricDef, MetricInfo, complete_test_flat, resolve};
use crate::compare::{Comparison, compare};
use crate::error::ReportError;
use crate::filter;
use crate::group::{Grouping, group};
use crate::history::History;
use crate::query::ReportOptions;
use sweep_core::run_view::view;

/// A field shared by every row, shown in the caption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaptionEntry {
    pub field: String,
    pub value: String,
    /// A training option left at its default (not printed in the caption).
    pub default: bool,
}

/// A field that takes several values: how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldValues {
    pub field: String,
    pub values: usize,
}

/// One planned run of a row, with its values or the reason it has none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunEntry {
    pub key: Option<String>,
    /// What sets it apart within its row: "fold 2, seed 0".
    pub label: String,
    /// `done`, or why it has no numbers: `pending`, `failed`, `stale`,
    /// `no-data`, `unreadable`.
    pub status: String,
    pub reason: Option<String>,
    /// Metric name → value (`null` when undefined); empty unless done.
    pub values: BTreeMap<String, Option<f64>>,
    /// Position in the selected runs (to find its folder again).
    #[serde(skip)]
    pub(crate) index: usize,
    #[serde(skip)]
    pub(crate) pair: String,
    /// Values in metric order.
    #[serde(skip)]
    pub(crate) numbers: Option<Vec<Option<f64>>>,
}

impl RunEntry {
    pub fn is_done(&self) -> bool {
        self.numbers.is_some()
    }
}

/// One configuration (or one `--group-by` group).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Values of [`Report::columns`].
    pub values: Vec<String>,
    pub runs_planned: usize,
    pub runs_loaded: usize,
    /// One per metric, in [`Report::metrics`] order.
    pub stats: Vec<Stat>,
    pub runs: Vec<RunEntry>,
}

/// A comparison table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The fields that tell rows apart (leading columns).
    pub columns: Vec<String>,
    /// Fields with one value in every selected run.
    pub caption: Vec<CaptionEntry>,
    /// Fields pooled within rows (fold and seed by default).
    pub pooled: Vec<FieldValues>,
    /// With `--group-by`: fields that differ between rows without being columns.
    pub also_differs: Vec<FieldValues>,
    pub metrics: Vec<MetricInfo>,
    pub rows: Vec<Row>,
    pub comparison: Option<Comparison>,
    /// The `--where` conditions applied.
    pub filters: Vec<String>,
    pub runs_selected: usize,
    pub runs_loaded: usize,
    /// Problems that did not stop the report (an unreadable history).
    pub notes: Vec<String>,
}

impl Report {
    /// "arch = resnet18, lr = 0.001" for row `i` (or "all runs").
    pub fn row_label(&self, i: usize) -> String {
        if self.columns.is_empty() {
            return "all runs".into();
        }
        self.columns
            .iter()
            .zip(&self.rows[i].values)
            .map(|(c, v)| format!("{c} = {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What one done run contributes.
pub(crate) struct RunNumbers {
    /// In metric order.
    pub values: Vec<Option<f64>>,
    pub history_problem: Option<String>,
}

/// `read_history`: whether any column needs `history.csv` (most tables need
/// `metrics.json` alone, so the second file is read only then).
fn load_numbers(
    dir: &Path,
    metrics: &[MetricDef],
    read_history: bool,
) -> Result<RunNumbers, String> {
    let mut json = read_metrics(dir)?;
    if metrics.iter().any(MetricDef::needs_test_scores) {
        complete_test_flat(&mut json, dir);
    }
    let (history, history_problem) = if read_history {
        match History::read(dir) {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, None)
    };
    Ok(RunNumbers {
        values: metrics
            .iter()
            .map(|m| m.value(&json, history.as_ref()))
            .collect(),
        history_problem,
    })
}

/// Builds the comparison table for the planned `runs` from `store`.
pub fn build_report(
    store: &Store,
    runs: &[PlannedRun],
    options: &ReportOptions,
) -> Result<Report, ReportError> {
    if runs.is_empty() {
        return Err(ReportError::NoRuns);
    }
    let metrics = resolve(&options.metrics)?;
    let all_views: Vec<Value> = runs.iter().map(|r| view(&r.spec)).collect();
    let all_refs: Vec<&Value> = all_views.iter().collect();
    let conditions = filter::compile(&options.filters, &all_refs)?;
    let selected: Vec<usize> = (0..runs.len())
        .filter(|&i| conditions.matches(&all_views[i]))
        .collect();
    if selected.is_empty() {
        return Err(ReportError::NoMatch {
            filter: options
                .filters
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            seen: format!(" (values present: {})", conditions.seen_values(&all_refs)),
        });
    }
    let views: Vec<&Value> = selected.iter().map(|&i| &all_views[i]).collect();
    let planned: Vec<&PlannedRun> = selected.iter().map(|&i| &runs[i]).collect();
    let grouping = group(&views, &options.group_by)?;
    // Check the baseline's fields and values before reading any file.
    filter::compile(&options.baseline, &views)?;

    let read_history = metrics.iter().any(MetricDef::needs_history);
    let loaded = collect(store, &planned, |dir| {
        load_numbers(dir, &metrics, read_history)
    });
    let filters = options.filters.iter().map(ToString::to_string).collect();
    assemble(
        store,
        Chosen {
            planned: &planned,
            views: &views,
            filters,
        },
        &grouping,
        loaded,
        &metrics,
        &options.baseline,
    )
}

/// The selected runs, their views and the conditions that chose them.
pub(crate) struct Chosen<'a> {
    pub planned: &'a [&'a PlannedRun],
    pub views: &'a [&'a Value],
    pub filters: Vec<String>,
}

/// Builds the report from loaded numbers (the store is read again only for
/// DeLong's test).
pub(crate) fn assemble(
    store: &Store,
    chosen: Chosen<'_>,
    grouping: &Grouping,
    loaded: Vec<Result<RunNumbers, Missing>>,
    metrics: &[MetricDef],
    baseline: &[FieldCondition],
) -> Result<Report, ReportError> {
    let Chosen {
        planned,
        views,
        filters,
    } = chosen;
    let mut notes = Vec::new();
    let problems: Vec<String> = loaded
        .iter()
        .zip(planned)
        .filter_map(|(o, r)| {
            let p = o.as_ref().ok()?.history_problem.as_ref()?;
            let key = r.key.as_ref().map_or("-", |k| k.short());
            Some(format!("{key}: {p}"))
        })
        .collect();
    if !problems.is_empty() {
        notes.push(format!(
            "history.csv unreadable in {} run(s) (final_*/best_* metrics missing there): {}",
            problems.len(),
            problems.join("; ")
        ));
    }

    let rows = build_rows(grouping, views, planned, &loaded, metrics);
    let runs_loaded = rows.iter().map(|r| r.runs_loaded).sum();
    let mut report = Report {
        columns: grouping.columns.iter().map(|f| f.name.clone()).collect(),
        caption: grouping
            .caption
            .iter()
            .map(|c| CaptionEntry {
                field: c.name.clone(),
                value: c.value.clone(),
                default: c.default,
            })
            .collect(),
        pooled: field_values(&grouping.pooled),
        also_differs: field_values(&grouping.hidden),
        metrics: metrics.iter().map(|m| m.info.clone()).collect(),
        rows,
        comparison: None,
        filters,
        runs_selected: planned.len(),
        runs_loaded,
        notes,
    };
    if !baseline.is_empty() {
        report.comparison = Some(compare(store, planned, views, grouping, &report, baseline)?);
    }
    Ok(report)
}

fn field_values(v: &[(String, usize)]) -> Vec<FieldValues> {
    v.iter()
        .map(|(field, values)| FieldValues {
            field: field.clone(),
            values: *values,
        })
        .collect()
}

fn build_rows(
    grouping: &Grouping,
    views: &[&Value],
    planned: &[&PlannedRun],
    loaded: &[Result<RunNumbers, Missing>],
    metrics: &[MetricDef],
) -> Vec<Row> {
    grouping
        .rows
        .iter()
        .zip(&grouping.row_values)
        .map(|(members, values)| {
            let runs: Vec<RunEntry> = members
                .iter()
                .map(|&i| {
                    let (status, reason, numbers) = match &loaded[i] {
                        Ok(n) => ("done".to_string(), None, Some(n.values.clone())),
                        Err(m) => (m.status.clone(), Some(m.reason.clone()), None),
                    };
                    RunEntry {
                        key: planned[i].key.as_ref().map(|k| k.as_str().to_string()),
                        label: grouping.run_label(views[i]),
                        status,
                        reason,
                        values: numbers.as_ref().map_or_else(BTreeMap::new, |n| {
                            metrics
                                .iter()
                                .zip(n)
                                .map(|(m, v)| (m.info.name.clone(), *v))
                                .collect()
                        }),
                        index: i,
                        pair: grouping.pair_key(views[i]),
                        numbers,
                    }
                })
                .collect();
            let stats = (0..metrics.len())
                .map(|m| {
                    let vals: Vec<f64> =
                        runs.iter().filter_map(|r| r.numbers.as_ref()?[m]).collect();
                    summarize(&vals)
                })
                .collect();
            Row {
                values: values.clone(),
                runs_planned: runs.len(),
                runs_loaded: runs.iter().filter(|r| r.is_done()).count(),
                stats,
                runs,
            }
        })
        .collect()
}
