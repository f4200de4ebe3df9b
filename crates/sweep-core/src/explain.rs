//! Why two runs have different keys: the differences between their hashed
//! inputs, one reason per field, in the manner of cargo's "dirty" reasons.
//!
//! A key is the sha256 of a run's [`KeyInput`] (see [`crate::hash`]), so two
//! keys differ exactly when some field of their inputs does. `sweep explain`
//! lists those fields for a pending run against the nearest finished one, and
//! a planned run whose data changed since it finished is shown as stale with
//! the same words:
//!
//! ```text
//! lr 0.001 → 0.0003
//! train.epochs 10 → 50
//! data breastmnist.npz sha256 changed (4f2a91c0 → 0be17d3e)
//! trainer version 3 → 4
//! ```
//!
//! The comparison works on the JSON the two inputs serialise to, so a
//! `spec.json` written by another version of sweep (with fields this one no
//! longer has, or lacking ones it added) still compares: such a field reads
//! `(absent)` on the side that lacks it.

use std::fmt;

use serde_json::Value;

use crate::hash::KeyInput;
use crate::run_spec::format_number;

/// One way in which two runs' hashed inputs differ.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// A field of the resolved run (`lr`, `train.epochs`, `folds.k`), with
    /// its two values as written in `spec.json` (`None`: absent).
    Field {
        path: String,
        before: Option<String>,
        after: Option<String>,
    },
    /// The dataset's content fingerprint (file sha256, image-folder content,
    /// or the generator's description for synthetic data).
    Data {
        what: String,
        before: String,
        after: String,
    },
    /// The sha256 of the pretrained weights the run starts from.
    Weights {
        before: Option<String>,
        after: Option<String>,
    },
    /// The trainer's version (a new trainer gives new numbers).
    TrainerVersion { before: String, after: String },
    /// The cache format's version.
    CacheVersion { before: u32, after: u32 },
}

/// Characters of a digest shown in a reason.
const DIGEST_CHARS: usize = 8;

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(DIGEST_CHARS)]
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_absent = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
        match self {
            Difference::Field {
                path,
                before,
                after,
            } => write!(f, "{path} {} → {}", or_absent(before), or_absent(after)),
            Difference::Data {
                what,
                before,
                after,
            } => write!(
                f,
                "data {what} changed ({} → {})",
                short(before),
                short(after)
            ),
            Difference::Weights { before, after } => write!(
                f,
                "pretrained weights sha256 changed ({} → {})",
                before.as_deref().map_or("none", short),
                after.as_deref().map_or("none", short)
            ),
            Difference::TrainerVersion { before, after } => {
                write!(f, "trainer version {before} → {after}")
            }
            Difference::CacheVersion { before, after } => {
                write!(f, "cache version {before} → {after}")
            }
        }
    }
}

/// What a run's dataset fingerprint is the fingerprint of, in words:
/// `breastmnist.npz sha256`, `image folder my_xrays content`,
/// `synthetic:breastmnist generator`; from the `run` of an input's JSON.
fn data_description(run: &Value) -> String {
    let dataset = run
        .get("dataset")
        .and_then(Value::as_str)
        .unwrap_or("dataset");
    if dataset.starts_with("synthetic:") {
        return format!("{dataset} generator");
    }
    if let Some(name) = run
        .get("image_folder")
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str)
    {
        return format!("image folder {name} content");
    }
    match sweep_data::catalog::DatasetRef::parse(dataset) {
        Ok(dataset) => format!("{} sha256", dataset.file_name()),
        Err(_) => format!("{dataset} fingerprint"),
    }
}

/// A run's hashed inputs as JSON, the form [`differences`] compares.
pub fn input_json(input: &KeyInput) -> Value {
    serde_json::to_value(input).unwrap_or(Value::Null)
}

/// The differences from `before` to `after` (two inputs as [`input_json`]
/// gives them, or as read from `spec.json`'s `input`): versions first, then
/// the data, then the run's fields in the order `spec.json` lists them.
/// With `data_known: false` (the run's data could not be read, so its
/// fingerprint is unknown) the data and weights are not compared.
pub fn differences(before: &Value, after: &Value, data_known: bool) -> Vec<Difference> {
    let mut out = Vec::new();
    let field = |v: &Value, name: &str| v.get(name).cloned().unwrap_or(Value::Null);
    let text = |v: &Value, name: &str| field(v, name).as_str().map(str::to_string);
    let (b_cache, a_cache) = (
        field(before, "cache_version"),
        field(after, "cache_version"),
    );
    if b_cache != a_cache {
        out.push(Difference::CacheVersion {
            before: b_cache.as_u64().unwrap_or(0) as u32,
            after: a_cache.as_u64().unwrap_or(0) as u32,
        });
    }
    let (b_trainer, a_trainer) = (
        text(before, "trainer_version"),
        text(after, "trainer_version"),
    );
    if b_trainer != a_trainer {
        out.push(Difference::TrainerVersion {
            before: b_trainer.unwrap_or_else(|| "?".into()),
            after: a_trainer.unwrap_or_else(|| "?".into()),
        });
    }
    let run = |v: &Value| field(v, "run");
    if data_known {
        let (b_data, a_data) = (
            text(before, "dataset_fingerprint"),
            text(after, "dataset_fingerprint"),
        );
        if b_data != a_data {
            out.push(Difference::Data {
                what: data_description(&run(after)),
                before: b_data.unwrap_or_default(),
                after: a_data.unwrap_or_default(),
            });
        }
        let (b_weights, a_weights) = (
            text(before, "weights_sha256"),
            text(after, "weights_sha256"),
        );
        if b_weights != a_weights {
            out.push(Difference::Weights {
                before: b_weights,
                after: a_weights,
            });
        }
    }
    field_differences(&run(before), &run(after), "", &mut out);
    out
}

/// The differing leaves of two JSON trees, as dotted paths. Objects are
/// compared key by key (keys of `before` first, then those only `after`
/// has); anything else (lists, numbers, strings) is compared whole.
fn field_differences(before: &Value, after: &Value, path: &str, out: &mut Vec<Difference>) {
    let join = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (name, value) in b {
                let sub = a.get(name).unwrap_or(&Value::Null);
                if a.contains_key(name) {
                    field_differences(value, sub, &join(name), out);
                } else if !value.is_null() {
                    out.push(Difference::Field {
                        path: join(name),
                        before: Some(show(value)),
                        after: None,
                    });
                }
            }
            for (name, value) in a.iter().filter(|(n, _)| !b.contains_key(*n)) {
                if !value.is_null() {
                    out.push(Difference::Field {
                        path: join(name),
                        before: None,
                        after: Some(show(value)),
                    });
                }
            }
        }
        _ if before == after => {}
        _ => out.push(Difference::Field {
            path: path.to_string(),
            before: Some(show(before)),
            after: Some(show(after)),
        }),
    }
}

/// A value as people write it: numbers like the experiment file
/// (`0.001`, `3e-4`), strings bare, the rest as compact JSON.
fn show(value: &Value) -> String {
    match value {
        Value::Number(n) if n.is_f64() => n.as_f64().map_or(n.to_string(), format_number),
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        other => other.to_string(),
    }
}

/// The candidate closest to `target`: the fewest differences, ties broken
/// by the order of `candidates` (put the preferred ones first). `None` when
/// there is no candidate.
pub fn nearest<'a, T>(
    target: &Value,
    data_known: bool,
    candidates: impl IntoIterator<Item = (&'a Value, T)>,
) -> Option<(T, Vec<Difference>)> {
    let mut best: Option<(T, Vec<Difference>)> = None;
    for (input, tag) in candidates {
        let diff = differences(input, target, data_known);
        if best.as_ref().is_none_or(|(_, d)| diff.len() < d.len()) {
            best = Some((tag, diff));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_spec::RunSpec;
    use crate::train_options::{ClassWeighting, Folds, PosWeight, TrainOptions};

    fn input(lr: f64, epochs: u32) -> Value {
        input_json(&key_input(lr, epochs))
    }

    fn key_input(lr: f64, epochs: u32) -> KeyInput {
        let train = TrainOptions {
            epochs,
            ..TrainOptions::default()
        };
        let spec = RunSpec {
            dataset: "breastmnist".into(),
            arch: "small_cnn".into(),
            lr,
            class_weighting: ClassWeighting::None,
            pos_weight: PosWeight::None,
            folds: Folds::None,
            fold: None,
            seed: 0,
            train,
            image_folder: None,
            worker: None,
        };
        KeyInput::new(spec, "a".repeat(64))
    }

    fn texts(d: &[Difference]) -> Vec<String> {
        d.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_changed_field_reads_as_the_experiment_file_writes_it() {
        let d = differences(&input(1e-3, 10), &input(3e-4, 10), true);
        assert_eq!(texts(&d), ["lr 0.001 → 3e-4"]);
        let d = differences(&input(1e-3, 10), &input(1e-3, 50), true);
        assert_eq!(texts(&d), ["train.epochs 10 → 50"]);
        assert!(differences(&input(1e-3, 10), &input(1e-3, 10), true).is_empty());
    }

    #[test]
    fn data_weights_and_versions_each_give_their_reason() {
        let old = key_input(1e-3, 10);
        let mut new = old.clone();
        new.dataset_fingerprint = "b".repeat(64);
        new.weights_sha256 = Some("c".repeat(64));
        new.trainer_version = "5".into();
        new.cache_version += 1;
        let (old_json, new_json) = (input_json(&old), input_json(&new));
        let d = differences(&old_json, &new_json, true);
        assert_eq!(
            texts(&d),
            [
                format!(
                    "cache version {} → {}",
                    old.cache_version, new.cache_version
                ),
                format!("trainer version {} → 5", old.trainer_version),
                "data breastmnist.npz sha256 changed (aaaaaaaa → bbbbbbbb)".into(),
                "pretrained weights sha256 changed (none → cccccccc)".into(),
            ]
        );
        // Without the data, only what is known is compared.
        assert_eq!(differences(&old_json, &new_json, false).len(), 2);
    }

    #[test]
    fn a_field_one_side_lacks_reads_absent() {
        let mut out = Vec::new();
        field_differences(
            &serde_json::json!({"train": {"epochs": 3}}),
            &serde_json::json!({"train": {"epochs": 3, "init": "torch"}}),
            "",
            &mut out,
        );
        assert_eq!(texts(&out), ["train.init (absent) → torch"]);
    }

    #[test]
    fn the_nearest_candidate_differs_in_the_fewest_fields() {
        let target = input(3e-4, 50);
        let far = input(1e-2, 10);
        let near = input(3e-4, 10);
        let (tag, diff) = nearest(&target, true, [(&far, "far"), (&near, "near")]).unwrap();
        assert_eq!(
            (tag, texts(&diff)),
            ("near", vec!["train.epochs 10 → 50".to_string()])
        );
        assert!(nearest::<u8>(&target, true, []).is_none());
    }
}
