//! The metrics a report can show: where each number comes from in a run's
//! results, what it is called in a table, and which direction is better.
//!
//! Names follow the `split_metric` pattern of the trainer's monitor names:
//!
//! | name | source |
//! |---|---|
//! | `params`, `trainable_params`, `epochs_run`, `best_epoch` | `metrics.json` |
//! | `train_time`, `wall_time` | `train_seconds`, `wall_seconds`, shown as "s (min)" |
//! | `{train,val,test}_loss` | loss at the kept ("best") epoch |
//! | `{split}_{accuracy,balanced_accuracy,auc,sensitivity,specificity}` | the split's summary |
//! | `{split}_{precision,recall,f1}` | macro averages (as `_macro`); `_micro`, `_weighted` exist too |
//! | `{split}_flat_{auc,accuracy,precision_macro,…,f1_weighted}` | the split's `flat` summary (labels flattened) |
//! | `final_{col}`, `best_{col}` | `history.csv`: last epoch, or best over epochs (min for losses) |
//!
//! Sensitivity and specificity are macro averages over outputs, AUC is the
//! macro AUC over outputs where it is defined, as `sweep-metrics` defines them.
//! Flattened metrics exist for binary and multi-label runs; a run trained
//! before they were recorded gets its threshold-based ones rebuilt exactly
//! from its per-label counts, and its test `flat_auc` from the scores in
//! `predictions.csv` (its train and validation `flat_auc` stay missing).

use serde::Serialize;
use serde_json::Value;
use sweep_core::spec::diagnostic::suggestion;
use sweep_metrics::{BinaryCounts, FlatSummary};

use crate::error::ReportError;
use crate::history::History;
use crate::predictions::Predictions;

/// Which way a metric improves (decides the highlighted "best" value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
    /// Descriptive numbers such as parameter counts: never highlighted.
    Neither,
}

/// How a metric's numbers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Whole numbers (parameters, epochs).
    Count,
    /// Scores and losses, printed with a fixed number of decimals.
    Score,
    /// Durations, printed as seconds with minutes in parentheses.
    Seconds,
}

/// A metric as shown in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricInfo {
    pub name: String,
    /// Column heading.
    pub label: String,
    pub better: Better,
    pub unit: Unit,
}

/// The default set: a typical architecture-comparison table.
pub const DEFAULT_METRICS: &[&str] = &[
    "params",
    "train_loss",
    "val_loss",
    "train_accuracy",
    "val_accuracy",
    "train_sensitivity",
    "val_sensitivity",
    "val_specificity",
    "val_auc",
    "train_time",
];

const SPLITS: &[(&str, &str)] = &[("train", "Train"), ("val", "Val"), ("test", "Test")];

/// Summary fields per split: (name, field in the summary, label).
const SUMMARY: &[(&str, &str, &str)] = &[
    ("accuracy", "accuracy", "accuracy"),
    (
        "balanced_accuracy",
        "balanced_accuracy",
        "balanced accuracy",
    ),
    ("auc", "auc", "AUC"),
    ("sensitivity", "sensitivity", "sensitivity"),
    ("specificity", "specificity", "specificity"),
    ("precision", "precision_macro", "precision"),
    ("recall", "recall_macro", "recall"),
    ("f1", "f1_macro", "F1"),
    ("precision_macro", "precision_macro", "precision (macro)"),
    ("precision_micro", "precision_micro", "precision (micro)"),
    (
        "precision_weighted",
        "precision_weighted",
        "precision (weighted)",
    ),
    ("recall_macro", "recall_macro", "recall (macro)"),
    ("recall_micro", "recall_micro", "recall (micro)"),
    ("recall_weighted", "recall_weighted", "recall (weighted)"),
    ("f1_macro", "f1_macro", "F1 (macro)"),
    ("f1_micro", "f1_micro", "F1 (micro)"),
    ("f1_weighted", "f1_weighted", "F1 (weighted)"),
];

/// Flattened metrics per split: (name after `flat_`, label).
const FLAT: &[(&str, &str)] = &[
    ("auc", "flat AUC"),
    ("accuracy", "flat accuracy"),
    ("precision_macro", "flat precision (macro)"),
    ("recall_macro", "flat recall (macro)"),
    ("f1_macro", "flat F1 (macro)"),
    ("precision_weighted", "flat precision (weighted)"),
    ("recall_weighted", "flat recall (weighted)"),
    ("f1_weighted", "flat F1 (weighted)"),
];

/// Top-level numbers of `metrics.json`: (name, key, label, better, unit).
const TOP: &[(&str, &str, &str, Better, Unit)] = &[
    ("params", "params", "Params", Better::Neither, Unit::Count),
    (
        "trainable_params",
        "trainable_params",
        "Trainable params",
        Better::Neither,
        Unit::Count,
    ),
    (
        "epochs_run",
        "epochs_run",
        "Epochs",
        Better::Neither,
        Unit::Count,
    ),
    (
        "best_epoch",
        "best_epoch",
        "Best epoch",
        Better::Neither,
        Unit::Count,
    ),
    (
        "train_time",
        "train_seconds",
        "Train time s (min)",
        Better::Lower,
        Unit::Seconds,
    ),
    (
        "wall_time",
        "wall_seconds",
        "Wall time s (min)",
        Better::Lower,
        Unit::Seconds,
    ),
];

/// History columns that `final_`/`best_` accept.
const HISTORY: &[(&str, &str)] = &[
    ("loss", "loss"),
    ("accuracy", "accuracy"),
    ("auc", "AUC"),
    ("sensitivity", "sensitivity"),
    ("specificity", "specificity"),
    ("f1", "F1"),
    ("flat_auc", "flat AUC"),
    ("flat_accuracy", "flat accuracy"),
    ("flat_f1_weighted", "flat F1 (weighted)"),
];

#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// A path into `metrics.json`.
    Json(Vec<String>),
    /// A field of a split's flattened summary (`split`, `field`).
    Flat(String, String),
    /// The last epoch's value of a history column.
    Final(String),
    /// The best epoch's value of a history column.
    Best(String),
}

/// A resolved metric: what to show and where to read it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MetricDef {
    pub info: MetricInfo,
    source: Source,
}

impl MetricDef {
    /// Whether the value comes from `history.csv` (so the file must be read).
    pub(crate) fn needs_history(&self) -> bool {
        matches!(self.source, Source::Final(_) | Source::Best(_))
    }

    /// Whether the value is the test split's flattened AUC, which a run
    /// recorded before `flat` existed has only as scores in `predictions.csv`
    /// (see [`complete_test_flat`]).
    pub(crate) fn needs_test_scores(&self) -> bool {
        matches!(&self.source, Source::Flat(split, field) if split == "test" && field == "auc")
    }

    /// The metric's value for one run (`None` when undefined or absent).
    pub(crate) fn value(&self, metrics: &Value, history: Option<&History>) -> Option<f64> {
        let v = match &self.source {
            Source::Json(path) => path
                .iter()
                .try_fold(metrics, |v, k| v.get(k))
                .and_then(Value::as_f64),
            Source::Flat(split, field) => flat_value(metrics.get(split)?, field),
            Source::Final(col) => history.and_then(|h| h.last(col)),
            Source::Best(col) => history.and_then(|h| match self.info.better {
                Better::Lower => h.min(col),
                _ => h.max(col),
            }),
        };
        v.filter(|x| x.is_finite())
    }
}

/// A flattened metric of one split's summary: recorded under `flat`, or
/// rebuilt from the per-label counts of a summary written before `flat`
/// existed (every threshold-based metric depends only on the pooled counts;
/// a multi-label AUC needs the scores, so it stays missing, and a binary
/// task's is its own AUC). Multi-class summaries have neither.
fn flat_value(summary: &Value, field: &str) -> Option<f64> {
    if let Some(flat) = summary.get("flat") {
        return flat.get(field).and_then(Value::as_f64);
    }
    let kind = summary.get("kind").and_then(Value::as_str)?;
    match (kind, field) {
        // A binary task's labels are already flat: its AUC is the flat one.
        ("binary", "auc") => return summary.get("auc").and_then(Value::as_f64),
        ("multi-label", "auc") => return None,
        ("binary" | "multi-label", _) => {}
        _ => return None,
    }
    let counts: Vec<BinaryCounts> =
        serde_json::from_value(summary.get("counts_per_class")?.clone()).ok()?;
    let rebuilt = serde_json::to_value(FlatSummary::from_label_counts(&counts, None)).ok()?;
    rebuilt.get(field).and_then(Value::as_f64)
}

/// Adds the flattened summary to the test split of a multi-label run's
/// `metrics` when it predates it: counts from the summary, the AUC from the
/// test scores in `dir`'s `predictions.csv` (written with every digit, so
/// the AUC is the one the trainer would have recorded). Leaves `metrics`
/// as it is when the summary has `flat`, is not multi-label, or the scores
/// cannot be read.
pub(crate) fn complete_test_flat(metrics: &mut Value, dir: &std::path::Path) {
    let Some(test) = metrics.get_mut("test") else {
        return;
    };
    if test.get("flat").is_some() || test.get("kind").and_then(Value::as_str) != Some("multi-label")
    {
        return;
    }
    let Some(counts) = test
        .get("counts_per_class")
        .and_then(|c| serde_json::from_value::<Vec<BinaryCounts>>(c.clone()).ok())
    else {
        return;
    };
    let Some(auc) = Predictions::read(dir).ok().and_then(|p| {
        let y = p.indicators().ok()?;
        (y.len() == p.scores.len()).then(|| sweep_metrics::roc_auc_binary(&y, &p.scores))?
    }) else {
        return;
    };
    if let Ok(flat) = serde_json::to_value(FlatSummary::from_label_counts(&counts, Some(auc))) {
        test["flat"] = flat;
    }
}

fn info(name: &str, label: String, better: Better, unit: Unit) -> MetricInfo {
    MetricInfo {
        name: name.to_string(),
        label,
        better,
        unit,
    }
}

fn lookup(name: &str) -> Option<MetricDef> {
    if let Some(&(_, key, label, better, unit)) = TOP.iter().find(|t| t.0 == name) {
        return Some(MetricDef {
            info: info(name, label.into(), better, unit),
            source: Source::Json(vec![key.into()]),
        });
    }
    if let Some(rest) = name.strip_prefix("final_").or(name.strip_prefix("best_")) {
        let best = name.starts_with("best_");
        let (split, metric) = rest.split_once('_')?;
        if !["train", "val"].contains(&split) {
            return None;
        }
        let &(_, label) = HISTORY.iter().find(|h| h.0 == metric)?;
        let split_label = if split == "train" { "train" } else { "val" };
        let better = if metric == "loss" {
            Better::Lower
        } else {
            Better::Higher
        };
        let label = format!(
            "{} {split_label} {label}",
            if best { "Best" } else { "Final" }
        );
        let col = rest.to_string();
        return Some(MetricDef {
            info: info(name, label, better, Unit::Score),
            source: if best {
                Source::Best(col)
            } else {
                Source::Final(col)
            },
        });
    }
    let (split, metric) = name.split_once('_')?;
    let &(_, split_label) = SPLITS.iter().find(|s| s.0 == split)?;
    if metric == "loss" {
        return Some(MetricDef {
            info: info(
                name,
                format!("{split_label} loss"),
                Better::Lower,
                Unit::Score,
            ),
            source: Source::Json(vec![name.into()]),
        });
    }
    if let Some(flat) = metric.strip_prefix("flat_") {
        let &(field, label) = FLAT.iter().find(|f| f.0 == flat)?;
        return Some(MetricDef {
            info: info(
                name,
                format!("{split_label} {label}"),
                Better::Higher,
                Unit::Score,
            ),
            source: Source::Flat(split.into(), field.into()),
        });
    }
    let &(_, field, label) = SUMMARY.iter().find(|s| s.0 == metric)?;
    Some(MetricDef {
        info: info(
            name,
            format!("{split_label} {label}"),
            Better::Higher,
            Unit::Score,
        ),
        source: Source::Json(vec![split.into(), field.into()]),
    })
}

/// Every metric name a report accepts.
pub fn metric_names() -> Vec<String> {
    let mut names: Vec<String> = TOP.iter().map(|t| t.0.to_string()).collect();
    for (split, _) in SPLITS {
        names.push(format!("{split}_loss"));
        names.extend(SUMMARY.iter().map(|s| format!("{split}_{}", s.0)));
        names.extend(FLAT.iter().map(|f| format!("{split}_flat_{}", f.0)));
    }
    for prefix in ["final", "best"] {
        for split in ["train", "val"] {
            names.extend(HISTORY.iter().map(|h| format!("{prefix}_{split}_{}", h.0)));
        }
    }
    names
}

/// Resolves metric names (empty = [`DEFAULT_METRICS`]); duplicates are kept once.
pub(crate) fn resolve(names: &[String]) -> Result<Vec<MetricDef>, ReportError> {
    let wanted: Vec<String> = if names.is_empty() {
        DEFAULT_METRICS.iter().map(|s| s.to_string()).collect()
    } else {
        names
            .iter()
            .flat_map(|n| n.split(','))
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    };
    let mut out: Vec<MetricDef> = Vec::new();
    for name in wanted {
        let def = lookup(&name).ok_or_else(|| {
            let known = metric_names();
            ReportError::UnknownMetric {
                hint: suggestion(&name, known.iter().map(String::as_str)),
                known: known.join(", "),
                name: name.clone(),
            }
        })?;
        if !out.iter().any(|d| d.info.name == def.info.name) {
            out.push(def);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_set_resolves_with_directions() {
        let defs = resolve(&[]).unwrap();
        assert_eq!(defs.len(), DEFAULT_METRICS.len());
        let by = |n: &str| defs.iter().find(|d| d.info.name == n).unwrap().info.clone();
        assert_eq!(by("params").better, Better::Neither);
        assert_eq!(by("val_loss").better, Better::Lower);
        assert_eq!(by("val_auc").better, Better::Higher);
        assert_eq!(by("val_auc").label, "Val AUC");
        assert_eq!(by("train_time").unit, Unit::Seconds);
        assert_eq!(by("train_time").better, Better::Lower);
    }

    #[test]
    fn every_listed_name_resolves_and_unknown_names_get_hints() {
        for n in metric_names() {
            assert!(lookup(&n).is_some(), "{n}");
        }
        let err = resolve(&["val_acuracy".into()]).unwrap_err();
        assert!(
            err.to_string().contains("did you mean `val_accuracy`"),
            "{err}"
        );
        assert!(resolve(&["final_test_loss".into()]).is_err());
    }

    #[test]
    fn comma_lists_and_duplicates() {
        let defs = resolve(&["val_auc, test_auc".into(), "val_auc".into()]).unwrap();
        let names: Vec<&str> = defs.iter().map(|d| d.info.name.as_str()).collect();
        assert_eq!(names, ["val_auc", "test_auc"]);
    }

    #[test]
    fn values_come_from_the_documented_places() {
        let m = json!({
            "params": 1234, "train_seconds": 61.5, "val_loss": 0.25,
            "test": {"f1_macro": 0.5, "f1_weighted": 0.7, "auc": null}
        });
        let v = |n: &str| lookup(n).unwrap().value(&m, None);
        assert_eq!(v("params"), Some(1234.0));
        assert_eq!(v("train_time"), Some(61.5));
        assert_eq!(v("val_loss"), Some(0.25));
        assert_eq!(v("test_f1"), Some(0.5));
        assert_eq!(v("test_f1_weighted"), Some(0.7));
        assert_eq!(v("test_auc"), None);
        assert_eq!(v("val_accuracy"), None);
    }

    #[test]
    fn an_older_multi_label_run_gets_its_test_flat_auc_from_its_scores() {
        use sweep_core::store::{PREDICTIONS_FILE, Store, write_atomic};
        use sweep_metrics::{Labels, TaskKind, evaluate};
        let y = [1u8, 0, 0, 1, 1, 0, 0, 0];
        let p = [0.9, 0.2, 0.6, 0.4, 0.7, 0.1, 0.55, 0.3];
        let summary = evaluate(TaskKind::MultiLabel, &Labels::Indicators(&y), &p, 2).unwrap();
        let mut test = serde_json::to_value(&summary).unwrap();
        test.as_object_mut().unwrap().remove("flat");
        let mut metrics = json!({ "test": test });

        let tmp = tempfile::tempdir().unwrap();
        let mut csv = String::from("index,y_0,y_1,p_0,p_1\n");
        for i in 0..4 {
            csv.push_str(&format!(
                "{i},{},{},{},{}\n",
                y[2 * i],
                y[2 * i + 1],
                p[2 * i],
                p[2 * i + 1]
            ));
        }
        write_atomic(&tmp.path().join(PREDICTIONS_FILE), csv.as_bytes()).unwrap();
        let key = sweep_core::hash::RunKey::parse(&"0".repeat(64)).unwrap();
        Store::complete(tmp.path(), &key, &[PREDICTIONS_FILE]).unwrap();

        let def = lookup("test_flat_auc").unwrap();
        assert!(def.needs_test_scores());
        assert!(!lookup("val_flat_auc").unwrap().needs_test_scores());
        assert_eq!(def.value(&metrics, None), None);
        complete_test_flat(&mut metrics, tmp.path());
        let flat = summary.flat.unwrap();
        assert_eq!(def.value(&metrics, None), flat.auc);
        assert_eq!(
            lookup("test_flat_f1_weighted")
                .unwrap()
                .value(&metrics, None),
            Some(flat.f1_weighted)
        );
        // A run without predictions keeps what it has.
        let mut no_scores = json!({ "test": metrics["test"].clone() });
        no_scores["test"].as_object_mut().unwrap().remove("flat");
        complete_test_flat(&mut no_scores, &tmp.path().join("missing"));
        assert!(no_scores["test"].get("flat").is_none());
    }

    #[test]
    fn flattened_metrics_are_read_or_rebuilt_from_counts() {
        let counts = json!([
            {"tn": 90, "fp": 0, "fn": 10, "tp": 0},
            {"tn": 50, "fp": 10, "fn": 10, "tp": 30}
        ]);
        let m = json!({
            "val": {"kind": "multi-label", "flat": {"auc": 0.8, "f1_weighted": 0.9}},
            "test": {"kind": "multi-label", "counts_per_class": counts},
            "train": {"kind": "multi-class", "counts_per_class": counts}
        });
        let v = |n: &str| lookup(n).unwrap().value(&m, None);
        assert_eq!(v("val_flat_auc"), Some(0.8));
        assert_eq!(v("val_flat_f1_weighted"), Some(0.9));
        assert_eq!(v("val_flat_accuracy"), None);
        // Pooled: TN 140, FP 10, FN 20, TP 30 over 200 decisions.
        assert_eq!(v("test_flat_accuracy"), Some(170.0 / 200.0));
        assert_eq!(
            v("test_flat_recall_macro"),
            Some((140.0 / 150.0 + 0.6) / 2.0)
        );
        assert_eq!(v("test_flat_auc"), None);
        assert_eq!(v("train_flat_accuracy"), None);
        let binary = json!({"test": {
            "kind": "binary", "auc": 0.7, "counts_per_class": [{"tn": 3, "fp": 1, "fn": 0, "tp": 4}]
        }});
        let b = |n: &str| lookup(n).unwrap().value(&binary, None);
        assert_eq!(b("test_flat_auc"), Some(0.7));
        assert_eq!(b("test_flat_accuracy"), Some(7.0 / 8.0));
        let def = lookup("test_flat_f1_weighted").unwrap();
        assert_eq!(def.info.label, "Test flat F1 (weighted)");
        assert_eq!(def.info.better, Better::Higher);
        assert!(lookup("final_val_flat_auc").unwrap().needs_history());
        assert!(lookup("test_flat_f1").is_none());
    }
}
