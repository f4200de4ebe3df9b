//! `FIELD=VALUE` conditions: which runs `sweep run --only` trains and which
//! runs `sweep report --where` (and `--baseline`) describes. Both commands
//! read them the same way:
//!
//! * FIELD names a run setting as an experiment file does (`lr`, `arch`,
//!   `batch_size` or `train.batch_size`, `optimizer.weight_decay`), any other
//!   field a report prints (`early_stopping.patience`), or `fold`, counted
//!   from 1 as `sweep plan` prints it. A name that is none of these is an
//!   error that lists the fields of the runs, with a did-you-mean.
//! * VALUE is read the way the experiment file reads that field, its image
//!   folders included, so `lr=1e-3` selects runs written `lr: 0.001`,
//!   `folds=5` matches `folds: {k: 5}` with its defaults filled in, and
//!   `dataset=chestmnist_28` matches `chestmnist`; a value the file would
//!   reject is an error. Fields the file cannot set are read as plain YAML
//!   scalars and compared by value (`1` equals `1.0`). `none` also matches an
//!   option that is switched off, and a value written as a report prints it
//!   matches too.
//! * Conditions on different fields must all hold; repeating a field accepts
//!   any of its values (`--only arch=resnet18 --only arch=chest_cnn` keeps
//!   both architectures).
//! * One argument may hold several conditions separated by commas
//!   (`--baseline lr=1e-3,pos_weight=none` is `--baseline lr=1e-3
//!   --baseline pos_weight=none`). A comma starts a new condition only when
//!   `FIELD=` follows it, so a value may still contain commas.

use std::fmt;
use std::str::FromStr;

use serde_json::Value as Json;

use crate::experiment::Experiment;
use crate::run_spec::RunSpec;
use crate::run_view::{Field, display, flatten, resolve, same_value, view};
use crate::spec::Context;
use crate::spec::diagnostic::{Sink, suggestion};
use crate::spec::node::{self, Node, Value as Yaml};
use crate::spec::schema::lookup;

/// One `FIELD=VALUE` as written after `--only`, `--where` or `--baseline`,
/// not yet checked against any run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCondition {
    pub field: String,
    pub value: String,
}

impl FromStr for FieldCondition {
    type Err = SelectError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('=') {
            Some((field, value)) if !field.trim().is_empty() => Ok(FieldCondition {
                field: field.trim().to_string(),
                value: value.trim().to_string(),
            }),
            _ => Err(SelectError::NotFieldValue(s.to_string())),
        }
    }
}

impl FieldCondition {
    /// One command-line argument as its conditions: `lr=1e-3,pos_weight=none`
    /// is two, `lr=1e-3` one. A comma followed by text without `FIELD=`
    /// stays in the value before it.
    pub fn parse_list(text: &str) -> Result<Vec<FieldCondition>, SelectError> {
        let mut parts: Vec<&str> = Vec::new();
        let mut start = 0;
        for (i, _) in text.match_indices(',') {
            if starts_with_field_name(&text[i + 1..]) {
                parts.push(&text[start..i]);
                start = i + 1;
            }
        }
        parts.push(&text[start..]);
        parts.into_iter().map(str::parse).collect()
    }
}

/// Whether `text` opens with `FIELD=` (a dotted name, then `=`).
fn starts_with_field_name(text: &str) -> bool {
    let Some((name, _)) = text.split_once('=') else {
        return false;
    };
    let name = name.trim();
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

impl fmt::Display for FieldCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.field, self.value)
    }
}

/// Why a `FIELD=VALUE` cannot select runs; each names what was typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("`{0}` is not FIELD=VALUE")]
    NotFieldValue(String),
    #[error("unknown field `{name}`{hint}; fields of these runs: {known}")]
    UnknownField {
        name: String,
        hint: String,
        known: String,
    },
    #[error("{field}={value}: {message}")]
    BadValue {
        field: String,
        value: String,
        message: String,
    },
}

impl SelectError {
    /// `name` is no field of `views`: a did-you-mean and the fields there are.
    pub fn unknown_field(name: &str, views: &[&Json]) -> SelectError {
        let names: Vec<String> = flatten(views).into_iter().map(|f| f.name).collect();
        SelectError::UnknownField {
            name: name.to_string(),
            hint: suggestion(name, names.iter().map(String::as_str)),
            known: names.join(", "),
        }
    }
}

/// Conditions checked against the runs they will select from: per field,
/// the values it may take.
#[derive(Debug, Clone)]
pub struct Selector {
    terms: Vec<Term>,
}

#[derive(Debug, Clone)]
struct Term {
    field: Field,
    /// Each accepted value, read as the field, and as written.
    accepted: Vec<(Json, String)>,
}

impl Selector {
    /// Resolves every field against `views` (see [`crate::run_view::view`])
    /// and reads every value in `cx`.
    pub fn compile(
        conditions: &[FieldCondition],
        views: &[&Json],
        cx: &Context,
    ) -> Result<Selector, SelectError> {
        let mut terms: Vec<Term> = Vec::new();
        for c in conditions {
            let field = resolve_field(&c.field, views)
                .ok_or_else(|| SelectError::unknown_field(&c.field, views))?;
            let value = read_value(&c.field, &field, &c.value, cx)?;
            match terms.iter_mut().find(|t| t.field == field) {
                Some(t) => t.accepted.push((value, c.value.clone())),
                None => terms.push(Term {
                    field,
                    accepted: vec![(value, c.value.clone())],
                }),
            }
        }
        Ok(Selector { terms })
    }

    /// `sweep run --only`: `texts` read for the runs `specs` of `exp`.
    pub fn for_experiment<'a>(
        texts: &[String],
        exp: &Experiment,
        specs: impl IntoIterator<Item = &'a RunSpec>,
    ) -> Result<Selector, SelectError> {
        let mut conditions = Vec::new();
        for text in texts {
            conditions.extend(FieldCondition::parse_list(text)?);
        }
        let views: Vec<Json> = specs.into_iter().map(view).collect();
        let refs: Vec<&Json> = views.iter().collect();
        Selector::compile(&conditions, &refs, &Context::of_experiment(exp))
    }

    /// Whether there are no conditions (everything matches).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether one run's view satisfies every condition.
    pub fn matches(&self, view: &Json) -> bool {
        self.terms.iter().all(|t| {
            let actual = t.field.get(view);
            t.accepted
                .iter()
                .any(|(want, raw)| value_matches(want, raw, actual))
        })
    }

    /// [`Selector::matches`] for a run spec.
    pub fn matches_run(&self, spec: &RunSpec) -> bool {
        self.is_empty() || self.matches(&view(spec))
    }

    /// The fields the conditions mention.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.terms.iter().map(|t| &t.field)
    }

    /// For "no run matches" messages: the values each field does take.
    pub fn seen_values(&self, views: &[&Json]) -> String {
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

/// The field `name` among `views`, or the spec field of that name when no
/// view has it (so a plan without runs still accepts `lr`).
fn resolve_field(name: &str, views: &[&Json]) -> Option<Field> {
    resolve(name, views).or_else(|| {
        lookup(name).map(|def| Field::from_path(def.run_path.split('.').map(Into::into).collect()))
    })
}

fn value_matches(want: &Json, raw: &str, actual: Option<&Json>) -> bool {
    let Some(actual) = actual else {
        return false;
    };
    if same_value(want, actual) {
        return true;
    }
    (is_off_word(raw) && actual.is_null()) || display(actual) == raw
}

fn is_off_word(raw: &str) -> bool {
    matches!(
        raw.to_ascii_lowercase().as_str(),
        "none" | "null" | "off" | "~"
    )
}

/// Reads `text` as the experiment file reads `name`; other fields as plain scalars.
fn read_value(name: &str, field: &Field, text: &str, cx: &Context) -> Result<Json, SelectError> {
    let bad = |message: String| SelectError::BadValue {
        field: name.to_string(),
        value: text.to_string(),
        message,
    };
    let node = node::parse(text).map_err(|e| bad(e.message))?;
    if let Some(def) = lookup(name) {
        let mut sink = Sink::default();
        return match def.convert(&node, name, cx, &mut sink) {
            Some(v) if sink.is_empty() => Ok(v),
            _ => Err(bad(sink
                .diagnostics
                .iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
                .join("; "))),
        };
    }
    let value = plain(&node, text);
    let is_fold_number = |v: &Json| v.as_u64().is_some_and(|n| n >= 1);
    if field.path == ["fold"] && !(value.is_null() || is_off_word(text) || is_fold_number(&value)) {
        return Err(bad(
            "fold is a number from 1 (as `sweep plan` shows it)".into()
        ));
    }
    Ok(value)
}

/// A YAML scalar as JSON; anything else as its text.
fn plain(node: &Node, text: &str) -> Json {
    match &node.value {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Int(i) => Json::from(*i),
        Yaml::Float(f) => Json::from(*f),
        Yaml::Str(s) => Json::String(s.clone()),
        _ => Json::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::expand;
    use serde_json::json;
    use std::path::Path;

    fn views() -> Vec<Json> {
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

    fn compile(texts: &[&str], cx: &Context) -> Result<(Selector, Vec<Json>), SelectError> {
        let vs = views();
        let refs: Vec<&Json> = vs.iter().collect();
        let conditions: Vec<FieldCondition> = texts.iter().map(|s| s.parse().unwrap()).collect();
        Ok((Selector::compile(&conditions, &refs, cx)?, vs))
    }

    fn keep(texts: &[&str]) -> Vec<usize> {
        let (selector, vs) = compile(texts, &Context::default()).unwrap();
        (0..vs.len())
            .filter(|&i| selector.matches(&vs[i]))
            .collect()
    }

    fn error(texts: &[&str]) -> SelectError {
        compile(texts, &Context::default()).unwrap_err()
    }

    #[test]
    fn conditions_parse_and_print() {
        let a: FieldCondition = "lr = 1e-3".parse().unwrap();
        assert_eq!((a.field.as_str(), a.value.as_str()), ("lr", "1e-3"));
        assert_eq!(a.to_string(), "lr=1e-3");
        let b: FieldCondition = "dataset=synthetic:chestmnist".parse().unwrap();
        assert_eq!(b.value, "synthetic:chestmnist");
        for bad in ["lr", "=3", " = 3"] {
            assert_eq!(
                bad.parse::<FieldCondition>(),
                Err(SelectError::NotFieldValue(bad.into()))
            );
        }
        assert_eq!(
            SelectError::NotFieldValue("lr".into()).to_string(),
            "`lr` is not FIELD=VALUE"
        );
    }

    #[test]
    fn one_argument_may_hold_several_conditions() {
        let list = |text: &str| -> Vec<String> {
            FieldCondition::parse_list(text)
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            list("lr=1e-3,pos_weight=none"),
            ["lr=1e-3", "pos_weight=none"]
        );
        assert_eq!(
            list("lr=1e-3, optimizer.weight_decay = 0"),
            ["lr=1e-3", "optimizer.weight_decay=0"]
        );
        assert_eq!(list("lr=1e-3"), ["lr=1e-3"]);
        // A comma not followed by FIELD= belongs to the value.
        assert_eq!(list("input_size=[1,2],lr=1"), ["input_size=[1,2]", "lr=1"]);
        assert_eq!(list("lr=1e-3,=2"), ["lr=1e-3,=2"]);
        assert_eq!(
            FieldCondition::parse_list("lr"),
            Err(SelectError::NotFieldValue("lr".into()))
        );
        assert_eq!(
            keep_list("arch=chest_cnn,lr=1e-3"),
            keep(&["arch=chest_cnn", "lr=1e-3"])
        );
    }

    fn keep_list(text: &str) -> Vec<usize> {
        let vs = views();
        let refs: Vec<&Json> = vs.iter().collect();
        let conditions = FieldCondition::parse_list(text).unwrap();
        let selector = Selector::compile(&conditions, &refs, &Context::default()).unwrap();
        (0..vs.len())
            .filter(|&i| selector.matches(&vs[i]))
            .collect()
    }

    #[test]
    fn values_are_read_like_the_spec() {
        assert_eq!(keep(&["lr=1e-3"]), [0, 2]);
        assert_eq!(keep(&["lr=0.0001"]), [1]);
        assert_eq!(keep(&["train.lr=1e-4"]), [1]);
        assert_eq!(keep(&["folds=5"]), [0, 1, 2]);
        assert_eq!(keep(&["folds=3"]), Vec::<usize>::new());
        assert_eq!(keep(&["dataset=chestmnist_28"]), [0, 1, 2]);
        assert_eq!(keep(&["dataset=synthetic:chestmnist"]), Vec::<usize>::new());
        assert_eq!(keep(&["optimizer.weight_decay=0"]), [0, 1, 2]);
        assert_eq!(keep(&["fold=2"]), [1]);
        assert_eq!(keep(&["early_stopping=none"]), [0, 1, 2]);
        assert_eq!(keep(&["train.epochs=10", "arch=resnet18"]), [2]);
        assert_eq!(keep(&[]), [0, 1, 2]);
    }

    #[test]
    fn different_fields_must_all_hold_and_repeated_fields_are_alternatives() {
        assert_eq!(keep(&["arch=chest_cnn", "lr=1e-3"]), [0]);
        assert_eq!(
            keep(&["arch=resnet18", "arch=chest_cnn", "lr=1e-3"]),
            [0, 2]
        );
        assert_eq!(keep(&["fold=1", "fold=2"]), [0, 1, 2]);
    }

    #[test]
    fn errors_name_the_field_and_value() {
        let err = error(&["lrr=1"]);
        assert!(
            matches!(&err, SelectError::UnknownField { name, .. } if name == "lrr"),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with("unknown field `lrr`; did you mean `lr`?"),
            "{text}"
        );
        assert!(
            text.contains("fields of these runs: dataset, arch, lr,"),
            "{text}"
        );
        let err = error(&["lr=-1"]);
        assert!(
            matches!(&err, SelectError::BadValue { field, value, .. } if field == "lr" && value == "-1")
        );
        assert!(
            err.to_string().starts_with("lr=-1: expected a number > 0"),
            "{err}"
        );
        let err = error(&["arch=resnet19"]);
        assert!(err.to_string().contains("did you mean `resnet18`"), "{err}");
        for fold in ["0", "banana", "1.5"] {
            let err = error(&[format!("fold={fold}").as_str()]);
            assert!(err.to_string().contains("fold is a number from 1"), "{err}");
        }
    }

    #[test]
    fn datasets_include_the_context_image_folders() {
        let mut vs = views();
        vs[1]["dataset"] = json!("medical_mnist");
        let refs: Vec<&Json> = vs.iter().collect();
        let only: Vec<FieldCondition> = vec!["dataset=medical_mnist".parse().unwrap()];
        let err = Selector::compile(&only, &refs, &Context::default()).unwrap_err();
        assert!(matches!(err, SelectError::BadValue { .. }), "{err}");
        let cx = Context::with_image_folders(vec!["medical_mnist".into()]);
        let selector = Selector::compile(&only, &refs, &cx).unwrap();
        let kept: Vec<usize> = (0..vs.len())
            .filter(|&i| selector.matches(&vs[i]))
            .collect();
        assert_eq!(kept, [1]);
    }

    #[test]
    fn selects_the_runs_of_an_experiment() {
        let exp = crate::spec::load_str(
            "name: t\ngrid:\n  dataset: breastmnist\n  arch: [chest_cnn, small_cnn]\n  lr: [0.001, 0.01]\n  folds: 3\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        let runs = expand(&exp, false);
        let only = |texts: &[&str]| {
            let texts: Vec<String> = texts.iter().map(|s| s.to_string()).collect();
            Selector::for_experiment(&texts, &exp, &runs)
        };
        let selector = only(&["lr=1e-3", "arch=small_cnn", "fold=2"]).unwrap();
        let picked: Vec<&RunSpec> = runs.iter().filter(|r| selector.matches_run(r)).collect();
        assert_eq!(picked.len(), 1);
        assert_eq!(
            (picked[0].arch.as_str(), picked[0].fold),
            ("small_cnn", Some(1))
        );
        assert_eq!(
            only(&["lr"]).unwrap_err(),
            SelectError::NotFieldValue("lr".into())
        );
        assert!(matches!(
            only(&["colour=red"]).unwrap_err(),
            SelectError::UnknownField { .. }
        ));
        let none = Selector::for_experiment(&["lr=1e-3".into()], &exp, std::iter::empty()).unwrap();
        assert!(!none.is_empty());
    }
}
