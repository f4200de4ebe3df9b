//! Rows of a comparison table: which runs are pooled together, which fields
//! become leading columns, which move into the caption.
//!
//! By default a row is one configuration: every field except `fold` and
//! `seed` (so folds and seeds are aggregated). `--group-by` names the fields
//! that define rows instead; runs differing in anything else are pooled.
//! Fields with one value across every run are not columns but caption
//! entries ("dataset = chestmnist, epochs = 10, …"). Rows keep the order in
//! which their first run appears in the plan, which is the expansion order.
//! The values of a column are written in one [`Notation`].

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use serde_json::Value;

use crate::error::ReportError;
use sweep_core::spec::schema::train_defaults;

use crate::filter::unknown_field;
use sweep_core::notation::Notation;
use sweep_core::run_view::{Field, display, flatten, resolve, same_value};

/// A field with one value in every run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shared {
    pub name: String,
    pub value: String,
    /// A training option at the experiment file's default value.
    pub default: bool,
}

/// How a set of runs is laid out in rows.
#[derive(Debug, Clone)]
pub(crate) struct Grouping {
    /// Leading columns, in spec order.
    pub columns: Vec<Field>,
    /// Fields with a single value across all runs.
    pub caption: Vec<Shared>,
    /// Fields pooled inside at least one row: (name, distinct values overall).
    pub pooled: Vec<(String, usize)>,
    /// Fields that differ between rows without being columns (with
    /// `--group-by` only): (name, distinct values).
    pub hidden: Vec<(String, usize)>,
    /// Run indices per row.
    pub rows: Vec<Vec<usize>>,
    /// Displayed column values per row.
    pub row_values: Vec<Vec<String>>,
    /// Fields that identify matching runs across rows (fold, seed, and with
    /// `--group-by` every other field that is not a row field).
    pub pair_fields: Vec<Field>,
}

impl Grouping {
    /// The key that pairs a run with its counterpart in another row.
    pub(crate) fn pair_key(&self, view: &Value) -> String {
        self.pair_fields
            .iter()
            .map(|f| canonical(f.get(view)))
            .collect::<Vec<_>>()
            .join("\u{1}")
    }

    /// Names of the pairing fields that take more than one value in `views`.
    pub(crate) fn pair_fields_varying(&self, views: &[&Value]) -> Vec<String> {
        self.pair_fields
            .iter()
            .filter(|f| {
                let first = canonical(views.first().and_then(|v| f.get(v)));
                views.iter().any(|v| canonical(f.get(v)) != first)
            })
            .map(|f| f.name.clone())
            .collect()
    }

    /// How a run is told apart from the others of its row, for footnotes:
    /// "fold 2, seed 0" or "lr=0.001, fold 2, seed 0".
    pub(crate) fn run_label(&self, view: &Value) -> String {
        let varying: Vec<&str> = self.pooled.iter().map(|(n, _)| n.as_str()).collect();
        let mut parts: Vec<String> = self
            .pair_fields
            .iter()
            .filter(|f| varying.contains(&f.name.as_str()) || f.name == "fold" || f.name == "seed")
            .filter_map(|f| {
                let v = f.get(view)?;
                match f.name.as_str() {
                    "fold" if v.is_null() => None,
                    "fold" | "seed" => Some(format!("{} {}", f.name, display(v))),
                    _ => Some(format!("{}={}", f.name, display(v))),
                }
            })
            .collect();
        // Other pooled fields first, then fold and seed.
        parts.sort_by_key(|p| p.starts_with("fold ") || p.starts_with("seed "));
        parts.join(", ")
    }
}

fn overlaps(a: &Field, b: &Field) -> bool {
    a.contains(b) || b.contains(a)
}

/// Groups `views` into rows. `group_by` empty = one row per configuration.
pub(crate) fn group(views: &[&Value], group_by: &[String]) -> Result<Grouping, ReportError> {
    let all = flatten(views);
    // The canonical text of every field of every view, computed once (fields
    // in parallel): grouping 10,000 runs asks for each many times over.
    let canon: Vec<Vec<String>> = all
        .par_iter()
        .map(|f| views.iter().map(|v| canonical(f.get(v))).collect())
        .collect();
    let values_of = |f: &Field| -> Cow<'_, [String]> {
        match all.iter().position(|a| a == f) {
            Some(i) => Cow::Borrowed(canon[i].as_slice()),
            None => Cow::Owned(views.iter().map(|v| canonical(f.get(v))).collect()),
        }
    };
    let distinct = |values: &[String], members: &mut dyn Iterator<Item = usize>| -> usize {
        members
            .map(|i| values[i].as_str())
            .collect::<HashSet<&str>>()
            .len()
    };
    let n = views.len();
    let total = |f: &Field| distinct(&values_of(f), &mut (0..n));

    let row_fields: Vec<Field> = if group_by.is_empty() {
        all.iter()
            .filter(|f| f.name != "fold" && f.name != "seed")
            .cloned()
            .collect()
    } else {
        let mut out: Vec<Field> = Vec::new();
        for name in group_by.iter().flat_map(|g| g.split(',')).map(str::trim) {
            if name.is_empty() {
                continue;
            }
            let f = resolve(name, views).ok_or_else(|| unknown_field(name, views))?;
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    };

    let row_values_text: Vec<Cow<'_, [String]>> = row_fields.iter().map(values_of).collect();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut rows: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let key: String = row_values_text
            .iter()
            .map(|values| values[i].as_str())
            .collect::<Vec<_>>()
            .join("\u{1}");
        let r = *index.entry(key).or_insert_with(|| {
            rows.push(Vec::new());
            rows.len() - 1
        });
        rows[r].push(i);
    }

    let columns: Vec<Field> = if group_by.is_empty() {
        row_fields
            .iter()
            .filter(|f| total(f) > 1)
            .cloned()
            .collect()
    } else {
        row_fields.clone()
    };
    // One notation per column: `1e-3` above `1e-4`, never `0.001` above `1e-4`.
    let column_texts: Vec<Vec<String>> = columns
        .iter()
        .map(|f| {
            let values: Vec<Option<&Value>> = rows
                .iter()
                .map(|members| f.get(views[members[0]]))
                .collect();
            Notation::display_column(&values, "—")
        })
        .collect();
    let row_values = (0..rows.len())
        .map(|r| column_texts.iter().map(|texts| texts[r].clone()).collect())
        .collect();

    let outside: Vec<&Field> = all
        .iter()
        .filter(|f| !row_fields.iter().any(|g| overlaps(f, g)))
        .collect();
    let defaults = serde_json::json!({ "train": train_defaults() });
    let caption = all
        .iter()
        .filter(|f| !columns.iter().any(|c| overlaps(f, c)))
        .filter(|f| total(f) == 1)
        .filter_map(|f| {
            let v = f.get(views[0]);
            if f.name == "fold" && v.is_none_or(Value::is_null) {
                return None;
            }
            let default = f.path.first().is_some_and(|p| p == "train")
                && match (v, f.get(&defaults)) {
                    (Some(v), Some(d)) => same_value(v, d),
                    _ => false,
                };
            Some(Shared {
                name: f.name.clone(),
                value: v.map_or("—".into(), display),
                default,
            })
        })
        .collect();
    let mut pooled = Vec::new();
    let mut hidden = Vec::new();
    for f in &outside {
        let count = total(f);
        if count < 2 {
            continue;
        }
        let values = values_of(f);
        if rows
            .iter()
            .any(|m| distinct(&values, &mut m.iter().copied()) > 1)
        {
            pooled.push((f.name.clone(), count));
        } else {
            hidden.push((f.name.clone(), count));
        }
    }
    Ok(Grouping {
        columns,
        caption,
        pooled,
        hidden,
        rows,
        row_values,
        pair_fields: outside.into_iter().cloned().collect(),
    })
}

/// A canonical text for a field value, for grouping (numbers by value).
pub(crate) fn canonical(v: Option<&Value>) -> String {
    match v {
        None => "\u{0}absent".into(),
        Some(Value::Number(n)) => format!("n:{}", n.as_f64().unwrap_or(f64::NAN)),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::spec;
    use serde_json::json;
    use sweep_core::run_view::view;
    use sweep_core::select::SelectError;

    fn views(patches: &[&str]) -> Vec<Value> {
        patches.iter().map(|p| view(&spec(p))).collect()
    }

    #[test]
    fn a_column_reads_in_one_notation() {
        let vs = views(&[r#"{"lr": 0.001}"#, r#"{"lr": 0.0001}"#, r#"{"lr": 0.0003}"#]);
        let refs: Vec<&Value> = vs.iter().collect();
        let g = group(&refs, &[]).unwrap();
        assert_eq!(g.row_values, vec![vec!["1e-3"], vec!["1e-4"], vec!["3e-4"]]);
    }

    #[test]
    fn default_rows_pool_folds_and_seeds() {
        let vs = views(&[
            r#"{"lr": 0.001, "fold": 0}"#,
            r#"{"lr": 0.001, "fold": 1}"#,
            r#"{"lr": 0.003, "fold": 0}"#,
            r#"{"lr": 0.003, "fold": 1}"#,
        ]);
        let refs: Vec<&Value> = vs.iter().collect();
        let g = group(&refs, &[]).unwrap();
        assert_eq!(g.rows, vec![vec![0, 1], vec![2, 3]]);
        let cols: Vec<&str> = g.columns.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(cols, ["lr"]);
        assert_eq!(g.row_values, vec![vec!["0.001"], vec!["0.003"]]);
        assert_eq!(g.pooled, vec![("fold".to_string(), 2)]);
        let cap: Vec<String> = g
            .caption
            .iter()
            .map(|c| format!("{} = {}", c.name, c.value))
            .collect();
        assert_eq!(
            &cap[..3],
            [
                "dataset = synthetic:chestmnist",
                "arch = chest_cnn",
                "class_weighting = none"
            ]
        );
        assert!(cap.contains(&"seed = 0".to_string()), "{cap:?}");
        assert!(cap.contains(&"epochs = 10".to_string()), "{cap:?}");
        assert!(
            cap.contains(&"optimizer.name = adam".to_string()),
            "{cap:?}"
        );
        assert!(
            !cap.iter()
                .any(|c| c.starts_with("lr") || c.starts_with("fold "))
        );
        let default = |n: &str| g.caption.iter().find(|c| c.name == n).unwrap().default;
        assert!(default("epochs") && default("optimizer.name") && default("threshold"));
        assert!(!default("dataset") && !default("seed"));
        assert_eq!(g.pair_key(&vs[0]), g.pair_key(&vs[2]));
        assert_ne!(g.pair_key(&vs[0]), g.pair_key(&vs[1]));
        assert_eq!(g.run_label(&vs[1]), "fold 2, seed 0");
    }

    #[test]
    fn group_by_pools_other_fields_and_pairs_on_them() {
        let vs = views(&[
            r#"{"arch": "chest_cnn", "lr": 0.001}"#,
            r#"{"arch": "chest_cnn", "lr": 0.003}"#,
            r#"{"arch": "small_cnn", "lr": 0.001}"#,
            r#"{"arch": "small_cnn", "lr": 0.003}"#,
        ]);
        let refs: Vec<&Value> = vs.iter().collect();
        let g = group(&refs, &["arch".into()]).unwrap();
        assert_eq!(g.rows, vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(g.pooled, vec![("lr".to_string(), 2)]);
        assert_eq!(g.pair_key(&vs[0]), g.pair_key(&vs[2]));
        assert_ne!(g.pair_key(&vs[0]), g.pair_key(&vs[1]));
        assert_eq!(g.run_label(&vs[1]), "lr=0.003, fold 1, seed 0");
        assert!(matches!(
            group(&refs, &["archh".into()]),
            Err(ReportError::Select(SelectError::UnknownField { .. }))
        ));
    }

    #[test]
    fn group_by_reports_fields_that_differ_between_rows_only() {
        let vs = views(&[
            r#"{"arch": "chest_cnn", "lr": 0.001}"#,
            r#"{"arch": "small_cnn", "lr": 0.003}"#,
        ]);
        let refs: Vec<&Value> = vs.iter().collect();
        let g = group(&refs, &["arch".into()]).unwrap();
        assert!(g.pooled.is_empty());
        assert_eq!(g.hidden, vec![("lr".to_string(), 2)]);
    }

    #[test]
    fn nested_group_fields_leave_the_caption() {
        let vs = views(&[
            r#"{"train": {"optimizer": {"name": "adam", "weight_decay": 0.0, "momentum": 0.0, "nesterov": false, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}}}"#,
        ]);
        let refs: Vec<&Value> = vs.iter().collect();
        let g = group(&refs, &["optimizer".into()]).unwrap();
        assert_eq!(g.columns.len(), 1);
        assert!(!g.caption.iter().any(|c| c.name.starts_with("optimizer")));
        assert!(
            g.row_values[0][0].contains("name=adam"),
            "{:?}",
            g.row_values
        );
    }

    #[test]
    fn grouping_compares_numbers_by_value() {
        assert_eq!(canonical(Some(&json!(1))), canonical(Some(&json!(1.0))));
        assert_ne!(canonical(Some(&json!(1))), canonical(Some(&json!("1"))));
        assert_ne!(canonical(None), canonical(Some(&Value::Null)));
    }
}
