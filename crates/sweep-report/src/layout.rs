//! How a [`Report`] is laid out as tables: the main table (fields, n, one
//! column per metric), the comparison table, the caption and the footnotes,
//! and the one-column-per-statistic CSV.

use crate::columns::Unit;
use crate::compare::Comparison;
use crate::document::{Align, Cell, Doc, Records, Section, csv_number};
use crate::format::{ColumnFormat, DASH, best_flags, p_with_holm, signed, stat_cell};
use crate::query::RenderOptions;
use crate::render::sealed::Tabular;
use crate::report_table::Report;

impl Tabular for Report {
    fn doc(&self, options: &RenderOptions) -> Doc {
        report_doc(self, options)
    }

    fn records(&self) -> Records {
        report_records(self)
    }
}

/// Missing runs listed per row before the rest are only counted.
const LISTED_MISSING: usize = 5;

pub(crate) fn report_doc(report: &Report, opts: &RenderOptions) -> Doc {
    let shown: Vec<String> = report
        .caption
        .iter()
        .filter(|c| !c.default)
        .map(|c| format!("{} = {}", c.field, c.value))
        .collect();
    let caption = (!shown.is_empty()).then(|| shown.join(", "));
    let mut sections = vec![main_table(report, opts)];
    if let Some(c) = &report.comparison {
        sections.push(comparison_table(report, c, opts));
    }
    Doc {
        title: None,
        caption,
        sections,
        notes: notes(report),
    }
}

fn main_table(report: &Report, opts: &RenderOptions) -> Section {
    let d = opts.decimals;
    let mut header: Vec<String> = report.columns.clone();
    header.push("n".into());
    header.extend(report.metrics.iter().map(|m| m.label.clone()));
    let mut align = vec![Align::Left; report.columns.len()];
    align.extend(std::iter::repeat_n(Align::Right, 1 + report.metrics.len()));
    let formats: Vec<ColumnFormat> = (0..report.metrics.len())
        .map(|m| {
            let means: Vec<Option<f64>> = report.rows.iter().map(|r| r.stats[m].mean).collect();
            ColumnFormat::of_column(report.metrics[m].unit, d, &means)
        })
        .collect();
    let best: Vec<Vec<bool>> = report
        .metrics
        .iter()
        .enumerate()
        .map(|(m, info)| {
            let means: Vec<Option<f64>> = report.rows.iter().map(|r| r.stats[m].mean).collect();
            best_flags(&means, info.better, formats[m])
        })
        .collect();
    let show_std: Vec<bool> = (0..report.metrics.len())
        .map(|m| report.rows.iter().any(|r| r.stats[m].n > 1))
        .collect();
    let rows = report
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut cells: Vec<Cell> = row.values.iter().map(Cell::plain).collect();
            cells.push(Cell::plain(if row.runs_loaded == row.runs_planned {
                row.runs_loaded.to_string()
            } else {
                format!("{}/{}", row.runs_loaded, row.runs_planned)
            }));
            for m in 0..report.metrics.len() {
                cells.push(Cell {
                    text: stat_cell(&row.stats[m], formats[m], show_std[m], row.runs_loaded),
                    best: best[m][i],
                });
            }
            cells
        })
        .collect();
    Section {
        title: None,
        header,
        align,
        rows,
    }
}

fn comparison_table(report: &Report, c: &Comparison, opts: &RenderOptions) -> Section {
    let with_delong = c.rows.iter().any(|r| r.delong.is_some());
    let mut header: Vec<String> = report.columns.clone();
    header.extend(
        [
            "metric",
            "Δ mean",
            "pairs",
            "t-test p (Holm)",
            "Wilcoxon p (Holm)",
        ]
        .map(String::from),
    );
    if with_delong {
        header.push("DeLong p (Holm)".into());
    }
    let mut align = vec![Align::Left; report.columns.len() + 1];
    align.resize(header.len(), Align::Right);
    let mut rows = Vec::new();
    for rc in &c.rows {
        let values = &report.rows[rc.row].values;
        for mc in &rc.metrics {
            let info = report
                .metrics
                .iter()
                .find(|m| m.name == mc.metric)
                .expect("compared metrics come from the report");
            let mut cells: Vec<Cell> = values.iter().map(Cell::plain).collect();
            cells.push(Cell::plain(info.label.clone()));
            cells.push(Cell::plain(
                mc.difference
                    .map_or(DASH.into(), |v| signed(v, info.unit, opts.decimals)),
            ));
            cells.push(Cell::plain(mc.pairs.to_string()));
            cells.push(Cell::plain(p_with_holm(
                mc.t_test.map(|t| t.p_value),
                mc.t_test_p_holm,
            )));
            cells.push(Cell::plain(p_with_holm(
                mc.wilcoxon.map(|w| w.p_value),
                mc.wilcoxon_p_holm,
            )));
            if with_delong {
                let text = match (&rc.delong, mc.metric == "test_auc") {
                    (Some(d), true) => p_with_holm(d.test.and_then(|t| t.p_value), d.p_holm),
                    _ => DASH.into(),
                };
                cells.push(Cell::plain(text));
            }
            rows.push(cells);
        }
    }
    let baseline = if report.columns.is_empty() {
        c.baseline.join(", ")
    } else {
        report.row_label(c.baseline_row)
    };
    Section {
        title: Some(format!("Difference to the baseline ({baseline})")),
        header,
        align,
        rows,
    }
}

fn notes(report: &Report) -> Vec<String> {
    let mut notes = Vec::new();
    if report.pooled.is_empty() {
        notes.push("One run per row.".to_string());
    } else {
        let pooled: Vec<String> = report
            .pooled
            .iter()
            .map(|p| format!("{} ({} values)", p.field, p.values))
            .collect();
        notes.push(format!(
            "Mean ± sample standard deviation (n − 1) over the runs of each row, \
             which differ in {}; n = runs with results; — = undefined (std of a single run).",
            pooled.join(", ")
        ));
    }
    if !report.also_differs.is_empty() {
        let f: Vec<String> = report
            .also_differs
            .iter()
            .map(|p| format!("{} ({} values)", p.field, p.values))
            .collect();
        notes.push(format!("Also differs between rows: {}.", f.join(", ")));
    }
    if report
        .rows
        .iter()
        .any(|r| r.stats.iter().any(|s| s.n < r.runs_loaded))
    {
        notes.push(
            "(n=k): the metric is undefined in the row's other runs \
             (e.g. an AUC on a split with a single class)."
                .to_string(),
        );
    }
    let defaults = report.caption.iter().filter(|c| c.default).count();
    if defaults > 0 {
        notes.push(format!(
            "{defaults} other training option(s) at their defaults in every run (spec.json of a run lists all)."
        ));
    }
    if report.metrics.iter().any(|m| m.unit == Unit::Seconds) {
        notes.push("Times: seconds (minutes).".to_string());
    }
    for (i, row) in report.rows.iter().enumerate() {
        let missing: Vec<_> = row.runs.iter().filter(|r| !r.is_done()).collect();
        if missing.is_empty() {
            continue;
        }
        let mut listed: Vec<String> = missing
            .iter()
            .take(LISTED_MISSING)
            .map(|r| {
                let what = if r.label.is_empty() { "run" } else { &r.label };
                format!(
                    "{what}: {} ({})",
                    r.status,
                    r.reason.as_deref().unwrap_or("")
                )
            })
            .collect();
        if missing.len() > LISTED_MISSING {
            listed.push(format!("and {} more", missing.len() - LISTED_MISSING));
        }
        notes.push(format!(
            "{}: {} of {} runs missing, n = {}: {}.",
            report.row_label(i),
            missing.len(),
            row.runs_planned,
            row.runs_loaded,
            listed.join("; ")
        ));
    }
    if let Some(c) = &report.comparison {
        let paired = if c.paired_on.is_empty() {
            "one run per row".to_string()
        } else {
            c.paired_on.join(", ")
        };
        notes.push(format!(
            "Δ mean = row − baseline. Paired tests over runs matched on {paired}; \
             two-sided p-values, Holm-adjusted across rows in parentheses. \
             Wilcoxon as scipy.stats.wilcoxon defaults."
        ));
        if c.rows.iter().any(|r| r.delong.is_some()) {
            notes.push(
                "DeLong: test AUC on the shared test set, each configuration's matched runs \
                 averaged; macro over outputs with at least two positives and two negatives."
                    .to_string(),
            );
            for rc in &c.rows {
                if let Some(why) = rc.delong.as_ref().and_then(|d| d.unavailable.as_ref()) {
                    notes.push(format!(
                        "DeLong not run for {}: {why}.",
                        report.row_label(rc.row)
                    ));
                }
            }
        }
    }
    notes.extend(report.notes.iter().cloned());
    notes
}

/// The CSV: one row per report row, one column per statistic.
pub(crate) fn report_records(report: &Report) -> Records {
    let mut header: Vec<String> = report.columns.clone();
    header.extend(["runs", "runs_missing"].map(String::from));
    for m in &report.metrics {
        for s in ["mean", "std", "n", "min", "max"] {
            header.push(format!("{}_{s}", m.name));
        }
    }
    let comparison = report.comparison.as_ref();
    let with_delong = comparison.is_some_and(|c| c.rows.iter().any(|r| r.delong.is_some()));
    if let Some(c) = comparison {
        header.push("baseline".into());
        for m in &c.metrics {
            for s in [
                "diff",
                "pairs",
                "t",
                "t_p",
                "t_p_holm",
                "wilcoxon",
                "wilcoxon_p",
                "wilcoxon_p_holm",
            ] {
                header.push(format!("{m}_{s}"));
            }
        }
        if with_delong {
            for s in ["auc_row", "auc_baseline", "z", "p", "p_holm"] {
                header.push(format!("test_auc_delong_{s}"));
            }
        }
    }
    let mut records = vec![header];
    for (i, row) in report.rows.iter().enumerate() {
        let mut rec: Vec<String> = row.values.clone();
        rec.push(row.runs_loaded.to_string());
        rec.push((row.runs_planned - row.runs_loaded).to_string());
        for s in &row.stats {
            rec.extend([
                csv_number(s.mean),
                csv_number(s.std),
                s.n.to_string(),
                csv_number(s.min),
                csv_number(s.max),
            ]);
        }
        if let Some(c) = comparison {
            rec.push((i == c.baseline_row).to_string());
            let rc = c.rows.iter().find(|r| r.row == i);
            for k in 0..c.metrics.len() {
                match rc.map(|r| &r.metrics[k]) {
                    Some(mc) => rec.extend([
                        csv_number(mc.difference),
                        mc.pairs.to_string(),
                        csv_number(mc.t_test.map(|t| t.statistic)),
                        csv_number(mc.t_test.map(|t| t.p_value)),
                        csv_number(mc.t_test_p_holm),
                        csv_number(mc.wilcoxon.map(|w| w.statistic)),
                        csv_number(mc.wilcoxon.map(|w| w.p_value)),
                        csv_number(mc.wilcoxon_p_holm),
                    ]),
                    None => rec.extend(std::iter::repeat_n(String::new(), 8)),
                }
            }
            if with_delong {
                let d = rc.and_then(|r| r.delong.as_ref());
                let t = d.and_then(|d| d.test);
                rec.extend([
                    csv_number(t.map(|t| t.auc_a)),
                    csv_number(t.map(|t| t.auc_b)),
                    csv_number(t.and_then(|t| t.z)),
                    csv_number(t.and_then(|t| t.p_value)),
                    csv_number(d.and_then(|d| d.p_holm)),
                ]);
            }
        }
        records.push(rec);
    }
    records
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use sweep_core::hash::KeyInput;
    use sweep_core::plan::{PlanStatus, PlannedRun};
    use sweep_core::store::{RunStatus, Store};

    use crate::collect::Missing;
    use crate::columns::resolve;
    use crate::group::group;
    use crate::query::{Format, RenderOptions};
    use crate::render::render;
    use crate::report_table::{Chosen, Report, RunNumbers, assemble};
    use crate::test_support::spec;
    use sweep_core::run_view::view;

    /// Three learning rates × two folds of `val_auc`, `val_loss`, `params`;
    /// the second fold of lr 0.1 failed.
    fn report(baseline: &[&str]) -> Report {
        let cases: [(f64, u32, Option<[f64; 3]>); 6] = [
            (0.001, 0, Some([0.70, 0.50, 1000.0])),
            (0.001, 1, Some([0.74, 0.46, 1000.0])),
            (0.01, 0, Some([0.80, 0.40, 1000.0])),
            (0.01, 1, Some([0.82, 0.44, 1000.0])),
            (0.1, 0, Some([0.60, 0.90, 1000.0])),
            (0.1, 1, None),
        ];
        let runs: Vec<PlannedRun> = cases
            .iter()
            .map(|(lr, fold, _)| {
                let s = spec(&format!(
                    r#"{{"lr": {lr}, "fold": {fold}, "arch": "chest_cnn"}}"#
                ));
                let input = KeyInput::new(s.clone(), "fp".into());
                PlannedRun {
                    key: Some(input.key()),
                    spec: s,
                    input: Some(input),
                    data_file: None,
                    status: PlanStatus::Store(RunStatus::Done),
                }
            })
            .collect();
        let loaded = cases
            .iter()
            .map(|(_, _, v)| match v {
                Some(v) => Ok(RunNumbers {
                    values: v.iter().map(|x| Some(*x)).collect(),
                    history_problem: None,
                }),
                None => Err(Missing {
                    status: "failed".into(),
                    reason: "diverged: loss is NaN at epoch 3 (1 attempt)".into(),
                }),
            })
            .collect();
        let views: Vec<Value> = runs.iter().map(|r| view(&r.spec)).collect();
        let refs: Vec<&Value> = views.iter().collect();
        let planned: Vec<&PlannedRun> = runs.iter().collect();
        let metrics = resolve(&["val_auc".into(), "val_loss".into(), "params".into()]).unwrap();
        let grouping = group(&refs, &[]).unwrap();
        let baseline: Vec<_> = baseline.iter().map(|b| b.parse().unwrap()).collect();
        assemble(
            &Store::new("/nonexistent"),
            Chosen {
                planned: &planned,
                views: &refs,
                filters: Vec::new(),
            },
            &grouping,
            loaded,
            &metrics,
            &baseline,
        )
        .unwrap()
    }

    fn opts(decimals: usize, color: bool) -> RenderOptions {
        RenderOptions { decimals, color }
    }

    #[test]
    fn aggregation_caption_and_footnotes() {
        let r = report(&[]);
        assert_eq!(r.columns, ["lr"]);
        assert_eq!(r.rows.len(), 3);
        assert_eq!((r.rows[2].runs_planned, r.rows[2].runs_loaded), (2, 1));
        assert!((r.rows[0].stats[0].mean.unwrap() - 0.72).abs() < 1e-12);
        assert!((r.rows[0].stats[0].std.unwrap() - 0.02 * 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(r.rows[2].stats[0].std, None);
        let md = render(&r, Format::Markdown, &opts(3, false));
        assert!(
            md.starts_with("*dataset = synthetic:chestmnist, arch = chest\\_cnn, "),
            "{md}"
        );
        assert!(
            !md.contains("eval\\_batch\\_size"),
            "defaults stay out of the caption: {md}"
        );
        assert!(
            md.contains("| 0.1 | 1/2 | 0.600 ± — | 0.900 ± — | 1,000 |"),
            "{md}"
        );
        assert!(
            md.contains("lr = 0.1: 1 of 2 runs missing, n = 1: fold 2, seed 0: failed (diverged: loss is NaN at epoch 3 (1 attempt))."),
            "{md}"
        );
    }

    #[test]
    fn best_values_are_bold_or_coloured() {
        let r = report(&[]);
        let md = render(&r, Format::Markdown, &opts(3, false));
        // Highest AUC and lowest loss are lr 0.01's; params have no direction.
        assert!(
            md.contains("| 0.01 | 2 | **0.810 ± 0.014** | **0.420 ± 0.028** | 1,000 |"),
            "{md}"
        );
        let tex = render(&r, Format::Latex, &opts(3, false));
        assert!(tex.contains(r"\textbf{0.810 $\pm$ 0.014}"), "{tex}");
        assert!(
            tex.contains(r"\toprule") && tex.contains(r"\bottomrule"),
            "{tex}"
        );
        assert!(tex.contains(r"arch = chest\_cnn"), "{tex}");
        let plain = render(&r, Format::Table, &opts(3, false));
        assert!(!plain.contains('\x1b'), "{plain}");
        let colour = render(&r, Format::Table, &opts(3, true));
        assert!(
            colour.contains("\x1b[1;32m0.810 ± 0.014\x1b[0m"),
            "{colour}"
        );
    }

    #[test]
    fn csv_has_one_column_per_statistic() {
        let r = report(&[]);
        let csv = render(&r, Format::Csv, &opts(3, false));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "lr,runs,runs_missing,val_auc_mean,val_auc_std,val_auc_n,val_auc_min,val_auc_max,\
             val_loss_mean,val_loss_std,val_loss_n,val_loss_min,val_loss_max,\
             params_mean,params_std,params_n,params_min,params_max"
        );
        assert_eq!(lines.len(), 4);
        assert!(
            lines[3].starts_with("0.1,1,1,0.6,,1,0.6,0.6,0.9,,1,"),
            "{}",
            lines[3]
        );
        assert!(csv.ends_with('\n'));
    }

    #[test]
    fn comparison_with_a_baseline() {
        let r = report(&["lr=1e-3"]);
        let c = r.comparison.as_ref().unwrap();
        assert_eq!(c.baseline_row, 0);
        assert_eq!(c.metrics, ["val_auc", "val_loss"]);
        assert_eq!(c.paired_on, ["fold"]);
        let row1 = &c.rows[0].metrics[0];
        assert!((row1.difference.unwrap() - 0.09).abs() < 1e-12);
        assert_eq!(row1.pairs, 2);
        // d = [0.10, 0.08]: mean 0.09, sd 0.01414, t = 9 on 1 df.
        assert!((row1.t_test.unwrap().statistic - 9.0).abs() < 1e-9);
        assert_eq!(c.rows[1].metrics[0].pairs, 1);
        assert!(c.rows[1].metrics[0].t_test.is_none());
        assert!(c.rows[0].delong.is_none());
        let md = render(&r, Format::Markdown, &opts(4, false));
        assert!(
            md.contains("**Difference to the baseline (lr = 0.001)**"),
            "{md}"
        );
        assert!(md.contains("| 0.01 | Val AUC | +0.0900 | 2 |"), "{md}");
        let err = crate::report_table::Report::row_label(&r, 1);
        assert_eq!(err, "lr = 0.01");
    }
}
