//! The tidy table behind every export: for each finished run, the columns
//! that say which run it is (experiment, key, each grid axis, fold, seed)
//! and its observations, either the final metrics or one set per epoch of
//! `history.csv`.

use std::path::Path;

use serde_json::Value;
use sweep_core::plan::PlannedRun;
use sweep_core::run_view::{self, Field, display};

use crate::collect::{Missing, collect, read_metrics};
use crate::columns::{MetricDef, complete_test_flat};
use crate::history::History;

/// One run's numbers at one point: the final metrics (`epoch` `None`) or
/// one epoch of its history. `None` values are undefined or empty.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observations {
    pub epoch: Option<u32>,
    pub values: Vec<(String, Option<f64>)>,
}

/// A finished run: its identifying cells, in the table's column order,
/// and its observations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TidyRun {
    pub id: Vec<Value>,
    pub observations: Vec<Observations>,
}

/// The identifying columns of a set of runs: `experiment`, `key`, one per
/// grid axis (named as the file names it), one per other field that varies
/// between the runs (a field only an `include:` entry sets; not the
/// definition of an image folder, which the dataset names), `fold` (from 1;
/// empty for the official split) and `seed`.
#[derive(Debug, Clone)]
pub(crate) struct IdColumns {
    pub names: Vec<String>,
    fields: Vec<Field>,
}

impl IdColumns {
    /// `axes`: (name as written, path in the resolved run) per grid axis.
    pub(crate) fn new(axes: &[(String, String)], views: &[&Value]) -> IdColumns {
        let mut names = vec!["experiment".to_string(), "key".to_string()];
        let mut fields: Vec<Field> = Vec::new();
        for (name, run_path) in axes {
            if matches!(run_path.as_str(), "seed" | "fold") {
                continue;
            }
            let field = Field::from_path(run_path.split('.').map(str::to_string).collect());
            if !fields.contains(&field) {
                names.push(name.clone());
                fields.push(field);
            }
        }
        let first_view = views.first().copied().unwrap_or(&Value::Null);
        for field in run_view::flatten(views) {
            let covered = fields
                .iter()
                .any(|f| f.contains(&field) || field.contains(f));
            // An image folder's definition follows from the dataset column.
            let follows_dataset = field.path.first().is_some_and(|p| p == "image_folder");
            if covered || follows_dataset || matches!(field.name.as_str(), "fold" | "seed") {
                continue;
            }
            let first = field.get(first_view);
            let varies = views.iter().any(|v| match (field.get(v), first) {
                (Some(a), Some(b)) => !run_view::same_value(a, b),
                (a, b) => a.is_some() != b.is_some(),
            });
            if varies {
                names.push(field.name.clone());
                fields.push(field);
            }
        }
        names.extend(["fold".to_string(), "seed".to_string()]);
        IdColumns { names, fields }
    }

    /// The identifying cells of one run.
    fn cells(&self, experiment: &str, key: &str, view: &Value) -> Vec<Value> {
        let mut cells = vec![Value::from(experiment), Value::from(key)];
        cells.extend(
            self.fields
                .iter()
                .map(|f| f.get(view).map_or(Value::Null, scalar)),
        );
        cells.push(view["fold"].clone());
        cells.push(view["seed"].clone());
        cells
    }
}

/// A cell value as one table cell: numbers, strings, booleans and nulls as
/// they are; lists and structures as the text `sweep plan` prints.
fn scalar(v: &Value) -> Value {
    match v {
        Value::Array(_) | Value::Object(_) => Value::from(display(v)),
        other => other.clone(),
    }
}

/// The name of `history.csv`'s `lr` column in per-epoch exports.
pub(crate) const EPOCH_LR: &str = "epoch_lr";

/// What to read from each finished run.
pub(crate) enum Reading<'a> {
    Final(&'a [MetricDef]),
    PerEpoch,
}

/// Loads every done run among `runs` (in plan order); the others come back
/// as `(run key or "-", why)`.
pub(crate) fn tidy_runs(
    store: &sweep_core::store::Store,
    experiment: &str,
    columns: &IdColumns,
    runs: &[(&PlannedRun, &Value)],
    reading: &Reading<'_>,
) -> (Vec<TidyRun>, Vec<(String, Missing)>) {
    let planned: Vec<&PlannedRun> = runs.iter().map(|(r, _)| *r).collect();
    let loaded = collect(store, &planned, |dir| observations(dir, reading));
    let mut done = Vec::new();
    let mut missing = Vec::new();
    for ((run, view), outcome) in runs.iter().zip(loaded) {
        let key = run.key.as_ref().map_or("-", |k| k.as_str());
        match outcome {
            Ok(observations) => done.push(TidyRun {
                id: columns.cells(experiment, key, view),
                observations,
            }),
            Err(why) => missing.push((key.to_string(), why)),
        }
    }
    (done, missing)
}

fn observations(dir: &Path, reading: &Reading<'_>) -> Result<Vec<Observations>, String> {
    match reading {
        Reading::Final(metrics) => {
            let mut json = read_metrics(dir)?;
            if metrics.iter().any(MetricDef::needs_test_scores) {
                complete_test_flat(&mut json, dir);
            }
            let history = if metrics.iter().any(MetricDef::needs_history) {
                Some(History::read(dir)?)
            } else {
                None
            };
            let values = metrics
                .iter()
                .map(|m| (m.info.name.clone(), m.value(&json, history.as_ref())))
                .collect();
            Ok(vec![Observations {
                epoch: None,
                values,
            }])
        }
        Reading::PerEpoch => per_epoch(&History::read(dir)?),
    }
}

/// One set of observations per row of `history.csv`, every column but
/// `epoch` (non-finite values as empty), named as the file names them,
/// except `lr`: that epoch's learning rate (after schedules and plateau
/// reductions) is `epoch_lr`, so it never clashes with an `lr` axis column.
fn per_epoch(history: &History) -> Result<Vec<Observations>, String> {
    let columns = history.columns();
    let epochs = columns
        .iter()
        .find(|(name, _)| name == "epoch")
        .map(|(_, values)| values)
        .ok_or("history.csv has no epoch column")?;
    epochs
        .iter()
        .enumerate()
        .map(|(row, epoch)| {
            let epoch = epoch
                .filter(|e| e.fract() == 0.0 && *e >= 0.0 && *e <= f64::from(u32::MAX))
                .ok_or_else(|| format!("history.csv row {}: no epoch number", row + 2))?;
            let values = columns
                .iter()
                .filter(|(name, _)| name != "epoch")
                .map(|(name, values)| {
                    let name = if name == "lr" { EPOCH_LR } else { name };
                    (name.to_string(), values[row].filter(|v| v.is_finite()))
                })
                .collect();
            Ok(Observations {
                epoch: Some(epoch as u32),
                values,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::spec;
    use serde_json::json;
    use sweep_core::run_view::view;

    #[test]
    fn axes_varying_fields_fold_and_seed_identify_a_run() {
        let specs = [
            spec(r#"{"lr": 0.001, "fold": 0}"#),
            spec(r#"{"lr": 0.0001, "fold": 1, "train": {"batch_size": 32}}"#),
        ];
        let views: Vec<Value> = specs.iter().map(view).collect();
        let refs: Vec<&Value> = views.iter().collect();
        let axes = [
            ("arch".to_string(), "arch".to_string()),
            ("lr".to_string(), "lr".to_string()),
            ("folds".to_string(), "folds".to_string()),
            ("seed".to_string(), "seed".to_string()),
        ];
        let columns = IdColumns::new(&axes, &refs);
        assert_eq!(
            columns.names,
            [
                "experiment",
                "key",
                "arch",
                "lr",
                "folds",
                "batch_size",
                "fold",
                "seed"
            ]
        );
        assert_eq!(
            columns.cells("e", "k", &views[1]),
            [
                json!("e"),
                json!("k"),
                json!("chest_cnn"),
                json!(0.0001),
                json!("kfold(k=2, split_seed=0, stratified=true)"),
                json!(32),
                json!(2),
                json!(0)
            ]
        );
    }

    #[test]
    fn each_history_row_is_one_epoch_of_observations() {
        let history = History::parse(b"epoch,lr,val_auc\n1,0.01,\n2,0.005,0.75\n").unwrap();
        let rows = per_epoch(&history).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].epoch, Some(1));
        assert_eq!(
            rows[0].values,
            [
                ("epoch_lr".to_string(), Some(0.01)),
                ("val_auc".to_string(), None)
            ]
        );
        assert_eq!(rows[1].values[1], ("val_auc".to_string(), Some(0.75)));
        let bad = History::parse(b"epoch,lr\n1.5,0.01\n").unwrap();
        assert_eq!(
            per_epoch(&bad).unwrap_err(),
            "history.csv row 2: no epoch number"
        );
    }
}
