//! `--baseline FIELD=VALUE…`: each row against one baseline row.
//!
//! For every metric with a direction, a row gets the difference of its mean
//! to the baseline's mean and two paired tests over runs matched on their
//! pairing fields (fold and seed; with `--group-by`, also every pooled
//! field), so fold 3 / seed 1 of a row is compared with fold 3 / seed 1 of
//! the baseline: the paired t-test and the Wilcoxon signed-rank test
//! (see [`crate::stats`]). The tests use row − baseline, so a positive
//! statistic means the row is higher. Holm's correction is applied per
//! metric and per test across the compared rows.
//!
//! When `test_auc` is among the metrics, DeLong's test compares the two
//! configurations on the shared test set from `predictions.csv`. A
//! configuration with several matched runs (folds, seeds) is represented by
//! the mean of its runs' predicted probabilities (the fold ensemble, see
//! [`crate::ensemble`]), so the AUCs DeLong reports are those of the
//! ensembles, not the mean of per-run AUCs. Every run involved must have
//! the same test labels in the same order; otherwise the test is not run and
//! the reason is given. Multi-label and multi-class tasks are tested on the
//! macro AUC over outputs with at least two positives and two negatives,
//! with per-output tests in the JSON output (see [`crate::stats::delong`]).

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use sweep_core::plan::PlannedRun;
use sweep_core::select::FieldCondition;
use sweep_core::store::Store;

use crate::collect::run_dir;
use crate::columns::Better;
use crate::ensemble::Ensemble;
use crate::error::ReportError;
use crate::filter;
use crate::group::Grouping;
use crate::predictions::Predictions;
use crate::report_table::{Report, RunEntry};
use crate::stats::{
    DelongTest, TTest, Wilcoxon, delong_paired, holm, paired_t_test, wilcoxon_signed_rank,
};

/// The metric DeLong's test applies to.
const DELONG_METRIC: &str = "test_auc";

/// All rows against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The `--baseline` conditions.
    pub baseline: Vec<String>,
    /// Index of the baseline row in [`Report::rows`].
    pub baseline_row: usize,
    /// Fields that pair runs across rows.
    pub paired_on: Vec<String>,
    /// Metrics compared (those with a better direction).
    pub metrics: Vec<String>,
    /// One entry per row other than the baseline.
    pub rows: Vec<RowComparison>,
}

/// One row against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowComparison {
    pub row: usize,
    /// In [`Comparison::metrics`] order.
    pub metrics: Vec<MetricComparison>,
    /// Present when `test_auc` is compared.
    pub delong: Option<DelongSummary>,
}

/// One metric of one row against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricComparison {
    pub metric: String,
    /// Row mean − baseline mean (over all runs with a value).
    pub difference: Option<f64>,
    /// Matched pairs with a value on both sides.
    pub pairs: usize,
    pub t_test: Option<TTest>,
    pub t_test_p_holm: Option<f64>,
    pub wilcoxon: Option<Wilcoxon>,
    pub wilcoxon_p_holm: Option<f64>,
}

/// DeLong's test of one row's test AUC against the baseline's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DelongSummary {
    /// Matched run pairs whose predictions were averaged.
    pub pairs: usize,
    /// The macro (or binary) AUC test: `auc_a` is the row, `auc_b` the baseline.
    pub test: Option<DelongTest>,
    pub p_holm: Option<f64>,
    pub outputs: usize,
    /// Outputs that entered the macro average.
    pub outputs_used: Vec<usize>,
    pub per_output: Vec<Option<DelongTest>>,
    /// Why the test could not be run.
    pub unavailable: Option<String>,
}

pub(crate) fn compare(
    store: &Store,
    planned: &[&PlannedRun],
    views: &[&Value],
    grouping: &Grouping,
    report: &Report,
    baseline: &[FieldCondition],
) -> Result<Comparison, ReportError> {
    let conditions = filter::compile(baseline, views)?;
    let baseline_text = baseline
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    let matching: Vec<usize> = grouping
        .rows
        .iter()
        .enumerate()
        .filter(|(_, members)| members.iter().all(|&i| conditions.matches(views[i])))
        .map(|(r, _)| r)
        .collect();
    let base = match matching[..] {
        [r] => r,
        [] => {
            return Err(ReportError::BaselineNotFound {
                baseline: baseline_text,
                rows: (0..report.rows.len())
                    .map(|i| format!("[{}]", report.row_label(i)))
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
        _ => {
            let named: Vec<&str> = conditions.fields().map(|f| f.name.as_str()).collect();
            return Err(ReportError::AmbiguousBaseline {
                baseline: baseline_text,
                count: matching.len(),
                fields: report
                    .columns
                    .iter()
                    .filter(|c| !named.contains(&c.as_str()))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };

    let tested: Vec<usize> = (0..report.metrics.len())
        .filter(|&m| report.metrics[m].better != Better::Neither)
        .collect();
    let others: Vec<usize> = (0..report.rows.len()).filter(|&r| r != base).collect();
    let base_row = &report.rows[base];
    let mut rows: Vec<RowComparison> = others
        .iter()
        .map(|&r| {
            let row = &report.rows[r];
            let metrics = tested
                .iter()
                .map(|&m| {
                    let (x, y) = paired_values(&row.runs, &base_row.runs, m);
                    MetricComparison {
                        metric: report.metrics[m].name.clone(),
                        difference: row.stats[m]
                            .mean
                            .zip(base_row.stats[m].mean)
                            .map(|(a, b)| a - b),
                        pairs: x.len(),
                        t_test: paired_t_test(&x, &y),
                        t_test_p_holm: None,
                        wilcoxon: wilcoxon_signed_rank(&x, &y),
                        wilcoxon_p_holm: None,
                    }
                })
                .collect();
            RowComparison {
                row: r,
                metrics,
                delong: None,
            }
        })
        .collect();
    for k in 0..tested.len() {
        let t: Vec<Option<f64>> = rows
            .iter()
            .map(|r| r.metrics[k].t_test.map(|t| t.p_value))
            .collect();
        let w: Vec<Option<f64>> = rows
            .iter()
            .map(|r| r.metrics[k].wilcoxon.map(|w| w.p_value))
            .collect();
        for (row, (pt, pw)) in rows.iter_mut().zip(holm(&t).into_iter().zip(holm(&w))) {
            row.metrics[k].t_test_p_holm = pt;
            row.metrics[k].wilcoxon_p_holm = pw;
        }
    }

    if tested
        .iter()
        .any(|&m| report.metrics[m].name == DELONG_METRIC)
    {
        let summaries = delong_rows(store, planned, report, base, &others);
        let adjusted = holm(
            &summaries
                .iter()
                .map(|s| s.test.and_then(|t| t.p_value))
                .collect::<Vec<_>>(),
        );
        for ((row, mut s), p) in rows.iter_mut().zip(summaries).zip(adjusted) {
            s.p_holm = p;
            row.delong = Some(s);
        }
    }

    Ok(Comparison {
        baseline: baseline.iter().map(ToString::to_string).collect(),
        baseline_row: base,
        paired_on: grouping.pair_fields_varying(views),
        metrics: tested
            .iter()
            .map(|&m| report.metrics[m].name.clone())
            .collect(),
        rows,
    })
}

/// Runs of a row by pairing key (the first one, should keys repeat).
fn by_pair(runs: &[RunEntry]) -> HashMap<&str, &RunEntry> {
    let mut map = HashMap::with_capacity(runs.len());
    for r in runs {
        map.entry(r.pair.as_str()).or_insert(r);
    }
    map
}

/// Values of metric `m` for runs matched across the two rows: (row, baseline).
fn paired_values(row: &[RunEntry], base: &[RunEntry], m: usize) -> (Vec<f64>, Vec<f64>) {
    let row = by_pair(row);
    base.iter()
        .filter_map(|b| {
            let vb = b.numbers.as_ref()?[m]?;
            let vr = row.get(b.pair.as_str())?.numbers.as_ref()?[m]?;
            Some((vr, vb))
        })
        .unzip()
}

/// Done runs matched across two rows: (row run index, baseline run index).
fn matched_runs(row: &[RunEntry], base: &[RunEntry]) -> Vec<(usize, usize)> {
    let row = by_pair(row);
    base.iter()
        .filter(|b| b.is_done())
        .filter_map(|b| {
            let r = row.get(b.pair.as_str()).filter(|r| r.is_done())?;
            Some((r.index, b.index))
        })
        .collect()
}

fn delong_rows(
    store: &Store,
    planned: &[&PlannedRun],
    report: &Report,
    base: usize,
    others: &[usize],
) -> Vec<DelongSummary> {
    let pairs: Vec<Vec<(usize, usize)>> = others
        .iter()
        .map(|&r| matched_runs(&report.rows[r].runs, &report.rows[base].runs))
        .collect();
    let mut needed: Vec<usize> = pairs.iter().flatten().flat_map(|&(a, b)| [a, b]).collect();
    needed.sort_unstable();
    needed.dedup();
    let loaded: HashMap<usize, Result<Predictions, String>> = needed
        .par_iter()
        .map(|&i| {
            let p = run_dir(store, planned[i])
                .ok_or_else(|| "no run key".to_string())
                .and_then(|d| Predictions::read(&d));
            (i, p)
        })
        .collect();
    pairs
        .iter()
        .map(|p| {
            delong_row(p, &loaded).unwrap_or_else(|why| DelongSummary {
                pairs: p.len(),
                test: None,
                p_holm: None,
                outputs: 0,
                outputs_used: Vec::new(),
                per_output: Vec::new(),
                unavailable: Some(why),
            })
        })
        .collect()
}

fn delong_row(
    pairs: &[(usize, usize)],
    loaded: &HashMap<usize, Result<Predictions, String>>,
) -> Result<DelongSummary, String> {
    if pairs.is_empty() {
        return Err("no matched runs with results".into());
    }
    let get =
        |i: usize| -> Result<&Predictions, String> { loaded[&i].as_ref().map_err(|e| e.clone()) };
    let first = get(pairs[0].1)?;
    let mut row = Ensemble::on_test_set_of(first);
    let mut base = Ensemble::on_test_set_of(first);
    for &(r, b) in pairs {
        for (i, ensemble) in [(r, &mut row), (b, &mut base)] {
            if !ensemble.add(get(i)?) {
                return Err("runs were scored on different test sets".into());
            }
        }
    }
    let y = first.indicators()?;
    let result =
        delong_paired(&y, &row.mean(), &base.mean(), first.outputs).map_err(|e| e.to_string())?;
    if result.macro_avg.is_none() {
        return Err("no output has two positives and two negatives".into());
    }
    Ok(DelongSummary {
        pairs: pairs.len(),
        test: result.macro_avg,
        p_holm: None,
        outputs: first.outputs,
        outputs_used: result.used,
        per_output: result.per_output,
        unavailable: None,
    })
}
