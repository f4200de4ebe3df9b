//! A run's settings as named fields that can be compared, selected on and
//! printed: the vocabulary of `--only`, `--where`, `--group-by` and report
//! captions.
//!
//! A [`RunSpec`] is turned into a "view": its canonical JSON with `fold`
//! made 1-based (as `sweep plan` prints it). Fields are named the way an
//! experiment file names them (`lr`, `batch_size`, `optimizer.weight_decay`;
//! the `train.` prefix is optional). Flattening walks into objects that are
//! structs in every run (the training options, `optimizer`, …) and keeps
//! everything else whole: an enum such as `folds` or `pos_weight` is one
//! field, printed compactly (`kfold(k=5, stratified=true, split_seed=0)`,
//! `10`), and an optional group that is switched off in some runs
//! (`early_stopping`) is one field too. Working on the JSON rather than on
//! the struct means options added to the spec later appear here unchanged.

use crate::run_spec::{RunSpec, format_number};
use serde_json::{Map, Value};

/// The JSON view of a run: canonical spec JSON, `fold` 1-based.
pub fn view(spec: &RunSpec) -> Value {
    let mut v = serde_json::to_value(spec).expect("run specs serialise");
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "fold".into(),
            spec.fold.map_or(Value::Null, |f| Value::from(f + 1)),
        );
    }
    v
}

/// A flattened field: its user-facing name and its path in the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub path: Vec<String>,
}

impl Field {
    /// The field at `path` in a view (`["train", "epochs"]` is `epochs`).
    pub fn from_path(path: Vec<String>) -> Field {
        let shown: Vec<&str> = match path.first().map(String::as_str) {
            Some("train") if path.len() > 1 => path[1..].iter().map(String::as_str).collect(),
            _ => path.iter().map(String::as_str).collect(),
        };
        Field {
            name: shown.join("."),
            path,
        }
    }

    /// This field's value in a view (`None` when the path is absent).
    pub fn get<'a>(&self, view: &'a Value) -> Option<&'a Value> {
        get(view, &self.path)
    }

    /// Whether `other` is this field or lies inside it.
    pub fn contains(&self, other: &Field) -> bool {
        other.path.starts_with(&self.path)
    }
}

pub fn get<'a>(view: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(view, |v, k| v.get(k))
}

/// Every leaf field of the given views, in spec order.
pub fn flatten(views: &[&Value]) -> Vec<Field> {
    let mut out = Vec::new();
    let present: Vec<Option<&Value>> = views.iter().map(|v| Some(*v)).collect();
    walk(Vec::new(), &present, &mut out);
    out
}

fn walk(path: Vec<String>, values: &[Option<&Value>], out: &mut Vec<Field>) {
    let struct_like = |v: &Value| match v {
        Value::Object(m) => m.len() > 1 || path.is_empty() || path == ["train"],
        _ => false,
    };
    let any_present = values.iter().any(Option::is_some);
    let all_structs = values.iter().flatten().all(|v| struct_like(v));
    if !(any_present && all_structs) {
        out.push(Field::from_path(path));
        return;
    }
    let mut keys: Vec<&String> = Vec::new();
    for m in values.iter().flatten().filter_map(|v| v.as_object()) {
        for k in m.keys() {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    // serde_json keeps object keys sorted; restore the spec's field order.
    keys.sort_by_key(|k| spec_order(&path, k));
    for k in keys {
        let children: Vec<Option<&Value>> =
            values.iter().map(|v| v.and_then(|v| v.get(k))).collect();
        let mut child = path.clone();
        child.push(k.clone());
        walk(child, &children, out);
    }
}

/// Position of a key in the declaration order of the run spec and its
/// training options, so tables list fields the way the spec does.
fn spec_order(path: &[String], key: &str) -> (usize, String) {
    const RUN: &[&str] = &[
        "dataset",
        "arch",
        "lr",
        "class_weighting",
        "pos_weight",
        "folds",
        "fold",
        "seed",
        "train",
    ];
    // The spec's own list, so a new training option is known here too.
    const TRAIN: &[&str] = crate::spec::schema::TRAIN_KEYS;
    const OPTIMIZER: &[&str] = &[
        "name",
        "weight_decay",
        "momentum",
        "nesterov",
        "beta1",
        "beta2",
        "eps",
    ];
    const EARLY_STOPPING: &[&str] = &["monitor", "patience", "min_delta", "restore_best"];
    const PLATEAU: &[&str] = &[
        "monitor",
        "factor",
        "patience",
        "min_lr",
        "cooldown",
        "min_delta",
    ];
    const MONITOR: &[&str] = &["metric", "mode"];
    const AUGMENTATION: &[&str] = &["rotation", "shift", "zoom", "hflip"];
    let order: &[&str] = match path.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => RUN,
        ["train"] => TRAIN,
        ["train", "optimizer"] => OPTIMIZER,
        ["train", "early_stopping"] => EARLY_STOPPING,
        ["train", "reduce_lr_on_plateau"] => PLATEAU,
        ["train", "augmentation"] => AUGMENTATION,
        [.., "monitor"] | ["train", "checkpoint"] => MONITOR,
        _ => &[],
    };
    let pos = order.iter().position(|k| *k == key).unwrap_or(order.len());
    (pos, key.to_string())
}

/// Finds the field a user named (`lr`, `epochs`, `train.epochs`,
/// `optimizer`, `optimizer.name`) among paths present in `views`.
pub fn resolve(name: &str, views: &[&Value]) -> Option<Field> {
    let parts: Vec<String> = name.trim().split('.').map(str::to_string).collect();
    let exists = |path: &[String]| views.iter().any(|v| get(v, path).is_some());
    if parts[0] != "train" && exists(&parts) {
        return Some(Field::from_path(parts));
    }
    let in_train: Vec<String> = if parts[0] == "train" {
        parts
    } else {
        std::iter::once("train".to_string()).chain(parts).collect()
    };
    exists(&in_train).then(|| Field::from_path(in_train))
}

/// How a field value is printed in tables and captions.
pub fn display(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.to_string(),
            (_, Some(i)) => i.to_string(),
            _ => format_number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(display).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next().expect("one entry");
            match inner {
                Value::Object(fields) => format!("{k}({})", pairs(fields)),
                other => display(other),
            }
        }
        Value::Object(m) => format!("({})", pairs(m)),
    }
}

/// `k=v` pairs sorted by key, whatever order the JSON map keeps.
fn pairs(m: &Map<String, Value>) -> String {
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    entries.sort_by_key(|(k, _)| *k);
    entries
        .iter()
        .map(|(k, v)| format!("{k}={}", display(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Structural equality with numbers compared by value (`1` equals `1.0`).
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec_view(patch: Value) -> Value {
        let mut base = json!({
            "dataset": "chestmnist", "arch": "chest_cnn", "lr": 0.001,
            "class_weighting": "none", "pos_weight": {"scalar": 10.0},
            "folds": {"kfold": {"k": 5, "stratified": true, "split_seed": 0}},
            "fold": 1, "seed": 0,
            "train": {
                "epochs": 10,
                "optimizer": {"name": "adam", "weight_decay": 0.0},
                "early_stopping": null
            }
        });
        merge(&mut base, patch);
        base
    }

    fn merge(base: &mut Value, patch: Value) {
        if let (Some(b), Value::Object(p)) = (base.as_object_mut(), patch) {
            for (k, v) in p {
                match (b.get_mut(&k), v) {
                    (Some(slot @ Value::Object(_)), v @ Value::Object(_)) => merge(slot, v),
                    (_, v) => {
                        b.insert(k, v);
                    }
                }
            }
        }
    }

    #[test]
    fn flattening_keeps_enums_whole_and_walks_structs() {
        let a = spec_view(json!({}));
        let b = spec_view(json!({"train": {"early_stopping": {"patience": 3, "min_delta": 0.0}}}));
        let names: Vec<String> = flatten(&[&a, &b]).into_iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "dataset",
                "arch",
                "lr",
                "class_weighting",
                "pos_weight",
                "folds",
                "fold",
                "seed",
                "epochs",
                "optimizer.name",
                "optimizer.weight_decay",
                "early_stopping",
            ]
        );
        let es = resolve("early_stopping", &[&a, &b]).unwrap();
        assert_eq!(display(es.get(&a).unwrap()), "none");
        assert_eq!(display(es.get(&b).unwrap()), "(min_delta=0, patience=3)");
    }

    #[test]
    fn display_is_compact() {
        let v = spec_view(json!({}));
        let f = |n: &str| display(resolve(n, &[&v]).unwrap().get(&v).unwrap());
        assert_eq!(f("lr"), "0.001");
        assert_eq!(f("pos_weight"), "10");
        assert_eq!(f("folds"), "kfold(k=5, split_seed=0, stratified=true)");
        assert_eq!(f("train.epochs"), "10");
        assert_eq!(f("epochs"), "10");
        assert_eq!(display(&json!(1e-5)), "1e-5");
        assert_eq!(display(&json!([1.0, 2.5])), "[1, 2.5]");
    }

    #[test]
    fn resolution_and_value_equality() {
        let v = spec_view(json!({}));
        assert_eq!(
            resolve("optimizer.name", &[&v]).unwrap().path,
            ["train", "optimizer", "name"]
        );
        assert_eq!(resolve("seed", &[&v]).unwrap().path, ["seed"]);
        assert!(resolve("momentum", &[&v]).is_none());
        assert!(same_value(&json!(1), &json!(1.0)));
        assert!(!same_value(&json!(1), &json!("1")));
    }
}
