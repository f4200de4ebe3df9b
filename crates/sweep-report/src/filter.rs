//! `--where FIELD=VALUE` (and `--baseline`): which runs a statement is about.
//!
//! A value is read the way the experiment file reads that field, through the
//! spec's own field table, so `lr=1e-3` matches a run written with
//! `lr: 0.001`, `folds=5` matches `folds: {k: 5}` with its defaults filled in,
//! and `dataset=chestmnist_28` matches `chestmnist`. Fields the spec table
//! does not know (`fold`, nested options such as `early_stopping.patience`)
//! are read as plain YAML scalars and compared by value; `none` also matches
//! an option that is switched off. Conditions on different fields must all
//! hold; repeating a field accepts any of its values.

use serde_json::Value;
use sweep_core::spec::Context;
use sweep_core::spec::diagnostic::{Sink, suggestion};
use sweep_core::spec::fields::lookup;
use sweep_core::spec::node::{self, Node, Value as Yaml};

use crate::error::ReportError;
use crate::fields::{Field, display, flatten, resolve, same_value};
use crate::options::Assignment;

/// Compiled conditions: per field, the accepted values.
#[derive(Debug, Clone)]
pub(crate) struct Conditions {
    terms: Vec<Term>,
}

#[derive(Debug, Clone)]
struct Term {
    field: Field,
    accepted: Vec<(Value, String)>,
}

impl Conditions {
    /// Resolves field names against `views` and parses every value.
    pub fn compile(assignments: &[Assignment], views: &[&Value]) -> Result<Self, ReportError> {
        let mut terms: Vec<Term> = Vec::new();
        for a in assignments {
            let field = resolve(&a.field, views).ok_or_else(|| unknown_field(&a.field, views))?;
            let value = parse_value(&a.field, &a.value)?;
            match terms.iter_mut().find(|t| t.field == field) {
                Some(t) => t.accepted.push((value, a.value.clone())),
                None => terms.push(Term {
                    field,
                    accepted: vec![(value, a.value.clone())],
                }),
            }
        }
        Ok(Conditions { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether one run's view satisfies every condition.
    pub fn matches(&self, view: &Value) -> bool {
        self.terms.iter().all(|t| {
            let actual = t.field.get(view);
            t.accepted
                .iter()
                .any(|(want, raw)| value_matches(want, raw, actual))
        })
    }

    /// The fields the conditions mention.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.terms.iter().map(|t| &t.field)
    }

    /// For "no run matches" messages: the values each field does take.
    pub fn seen_values(&self, views: &[&Value]) -> String {
        self.terms
            .iter()
            .map(|t| {
                let mut seen: Vec<String> = Vec::new();
                for v in views {
                    let d = t.field.get(v).map_or("absent".into(), display);
                    if !seen.contains(&d) {
                        seen.push(d);
                    }
                }
                format!("{}: {}", t.field.name, seen.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn value_matches(want: &Value, raw: &str, actual: Option<&Value>) -> bool {
    let Some(actual) = actual else {
        return false;
    };
    if same_value(want, actual) {
        return true;
    }
    let off = matches!(
        raw.to_ascii_lowercase().as_str(),
        "none" | "null" | "off" | "~"
    );
    (off && actual.is_null()) || display(actual) == raw
}

pub(crate) fn unknown_field(name: &str, views: &[&Value]) -> ReportError {
    let names: Vec<String> = flatten(views).into_iter().map(|f| f.name).collect();
    ReportError::UnknownField {
        name: name.to_string(),
        hint: suggestion(name, names.iter().map(String::as_str)),
        known: names.join(", "),
    }
}

/// Reads `text` as the experiment file would read it for `field`.
fn parse_value(field: &str, text: &str) -> Result<Value, ReportError> {
    let bad = |message: String| ReportError::BadValue {
        field: field.to_string(),
        value: text.to_string(),
        message,
    };
    let node = node::parse(text).map_err(|e| bad(e.message))?;
    match lookup(field) {
        Some(def) => {
            let mut sink = Sink::default();
            let converted = def.convert(&node, field, &Context::default(), &mut sink);
            match converted {
                Some(v) if sink.is_empty() => Ok(v),
                _ => Err(bad(sink
                    .diagnostics
                    .iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "))),
            }
        }
        None => Ok(plain(&node, text)),
    }
}

/// A YAML scalar as JSON; anything else as its text.
fn plain(node: &Node, text: &str) -> Value {
    match &node.value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Int(i) => Value::from(*i),
        Yaml::Float(f) => Value::from(*f),
        Yaml::Str(s) => Value::String(s.clone()),
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn views() -> Vec<Value> {
        let run = |lr: f64, fold: u32, arch: &str| {
            json!({
                "dataset": "chestmnist", "arch": arch, "lr": lr,
                "folds": {"kfold": {"k": 5, "stratified": true, "split_seed": 0}},
                "fold": fold, "seed": 0,
                "train": {"epochs": 10, "early_stopping": null,
                          "optimizer": {"name": "adam", "weight_decay": 0.0}}
            })
        };
        vec![
            run(0.001, 1, "chest_cnn"),
            run(0.0001, 2, "chest_cnn"),
            run(0.001, 1, "resnet18"),
        ]
    }

    fn keep(filters: &[&str]) -> Vec<usize> {
        let vs = views();
        let refs: Vec<&Value> = vs.iter().collect();
        let a: Vec<Assignment> = filters.iter().map(|s| s.parse().unwrap()).collect();
        let c = Conditions::compile(&a, &refs).unwrap();
        (0..vs.len()).filter(|&i| c.matches(&vs[i])).collect()
    }

    #[test]
    fn values_are_read_like_the_spec() {
        assert_eq!(keep(&["lr=1e-3"]), [0, 2]);
        assert_eq!(keep(&["lr=0.0001"]), [1]);
        assert_eq!(keep(&["folds=5"]), [0, 1, 2]);
        assert_eq!(keep(&["dataset=chestmnist_28"]), [0, 1, 2]);
        assert_eq!(keep(&["optimizer.weight_decay=0"]), [0, 1, 2]);
        assert_eq!(keep(&["fold=2"]), [1]);
        assert_eq!(keep(&["early_stopping=none"]), [0, 1, 2]);
        assert_eq!(keep(&["train.epochs=10", "arch=resnet18"]), [2]);
    }

    #[test]
    fn repeated_fields_are_alternatives() {
        assert_eq!(
            keep(&["arch=resnet18", "arch=chest_cnn", "lr=1e-3"]),
            [0, 2]
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let vs = views();
        let refs: Vec<&Value> = vs.iter().collect();
        let err = Conditions::compile(&["lrr=1".parse().unwrap()], &refs).unwrap_err();
        assert!(err.to_string().contains("did you mean `lr`"), "{err}");
        let err = Conditions::compile(&["lr=-1".parse().unwrap()], &refs).unwrap_err();
        assert!(matches!(err, ReportError::BadValue { .. }), "{err}");
    }
}
