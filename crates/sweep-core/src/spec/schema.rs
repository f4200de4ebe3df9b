//! The schema of every settable field: how a YAML node becomes the canonical
//! JSON value of that field, and what is accepted.
//!
//! One table serves the `train:` block, grid axes, `include`/`exclude` entries
//! and the `smoke:` block, so `batch_size: 32` means the same thing wherever it
//! is written and produces the same JSON (and so the same run key) however it
//! is spelt: `1e-3` and `0.001` both become the number 0.001.

use serde_json::{Map, Value as Json, json};

use super::context::Context;
use super::diagnostic::{Sink, suggestion};
use super::node::{Node, Value};
use std::str::FromStr;

use crate::train_options::{Init, MonitorMetric, Normalize, Stem, TrainOptions};

/// Converts one YAML node at `path` into canonical JSON, reporting problems.
pub type Convert = fn(&Node, &str, &mut Sink) -> Option<Json>;

/// A [`Convert`] whose accepted values also depend on what the experiment
/// declares (the `dataset` field accepts its image folders).
pub type ConvertInContext = fn(&Node, &str, &Context, &mut Sink) -> Option<Json>;

/// Architectures the trainer knows. Kept here (not in the trainer crate) so
/// spec validation stays free of libtorch; a trainer test checks both lists agree.
pub const KNOWN_ARCHS: &[&str] = &[
    "chest_cnn",
    "retina_cnn",
    "derma_cnn",
    "small_cnn",
    "vanilla_cnn",
    "resnet18",
    "resnet50",
    "resnet152",
    "densenet121",
    "densenet161",
    "densenet201",
    "vit_b16",
    "vit_b16_lora",
];

/// A field that can be set in `train:` or varied in `grid:`.
pub struct FieldDef {
    /// Path inside the resolved run (`lr`, `train.batch_size`, `train.optimizer.name`).
    pub run_path: &'static str,
    converter: Converter,
    /// Whether the field is a grid-level run field (dataset, arch, …) rather than a train option.
    pub run_level: bool,
}

/// How a field's value is read: most fields need only the node; `dataset`
/// also needs the names in the [`Context`].
enum Converter {
    Plain(Convert),
    InContext(ConvertInContext),
}

impl FieldDef {
    /// Reads `node`, written at `path`, as this field's canonical JSON;
    /// `cx` holds the names the experiment declares.
    pub fn convert(&self, node: &Node, path: &str, cx: &Context, sink: &mut Sink) -> Option<Json> {
        match self.converter {
            Converter::Plain(convert) => convert(node, path, sink),
            Converter::InContext(convert) => convert(node, path, cx, sink),
        }
    }
}

macro_rules! field {
    ($path:literal, $conv:expr, $run:expr) => {
        FieldDef {
            run_path: $path,
            converter: Converter::Plain($conv),
            run_level: $run,
        }
    };
}

/// Every field by the name users write. Dotted names reach inside option groups.
pub fn lookup(name: &str) -> Option<FieldDef> {
    let name = name.strip_prefix("train.").unwrap_or(name);
    Some(match name {
        "dataset" => FieldDef {
            run_path: "dataset",
            converter: Converter::InContext(dataset),
            run_level: true,
        },
        "arch" => FieldDef {
            run_path: "arch",
            converter: Converter::InContext(arch),
            run_level: true,
        },
        "worker" => FieldDef {
            run_path: "worker",
            converter: Converter::InContext(super::worker::worker),
            run_level: true,
        },
        "lr" => field!("lr", positive, true),
        "class_weighting" => field!("class_weighting", class_weighting, true),
        "pos_weight" => field!("pos_weight", pos_weight, true),
        "folds" => field!("folds", folds, true),
        "seed" => field!("seed", seed, true),
        "epochs" => field!("train.epochs", count_1, false),
        "batch_size" => field!("train.batch_size", count_1, false),
        "eval_batch_size" => field!("train.eval_batch_size", count_1, false),
        "optimizer" => field!("train.optimizer", optimizer, false),
        "optimizer.name" => field!("train.optimizer.name", optimizer_name, false),
        "optimizer.weight_decay" => field!("train.optimizer.weight_decay", non_negative, false),
        "optimizer.momentum" => field!("train.optimizer.momentum", unit_interval_open_right, false),
        "optimizer.nesterov" => field!("train.optimizer.nesterov", boolean, false),
        "optimizer.beta1" => field!("train.optimizer.beta1", unit_interval_open_right, false),
        "optimizer.beta2" => field!("train.optimizer.beta2", unit_interval_open_right, false),
        "optimizer.eps" => field!("train.optimizer.eps", positive, false),
        "early_stopping" => field!("train.early_stopping", early_stopping, false),
        "reduce_lr_on_plateau" => field!("train.reduce_lr_on_plateau", reduce_lr, false),
        "schedule" => field!("train.schedule", schedule, false),
        "checkpoint" => field!("train.checkpoint", checkpoint, false),
        "augmentation" => field!("train.augmentation", augmentation, false),
        "normalize" => field!("train.normalize", normalize, false),
        "input_channels" => field!("train.input_channels", input_channels, false),
        "input_size" => field!("train.input_size", input_size, false),
        "threshold" => field!("train.threshold", open_unit_interval, false),
        "subset" => field!("train.subset", optional_count, false),
        "pretrained" => field!("train.pretrained", pretrained, false),
        "init" => field!("train.init", init, false),
        "batch_norm" => field!("train.batch_norm", batch_norm, false),
        "batch_norm.momentum" => field!(
            "train.batch_norm.momentum",
            open_unit_interval_closed_right,
            false
        ),
        "batch_norm.eps" => field!("train.batch_norm.eps", positive, false),
        "weighted_eval_loss" => field!("train.weighted_eval_loss", boolean, false),
        "stem" => field!("train.stem", stem, false),
        _ => return None,
    })
}

/// Names accepted inside `train:` (for "did you mean" hints).
pub const TRAIN_KEYS: &[&str] = &[
    "epochs",
    "batch_size",
    "eval_batch_size",
    "optimizer",
    "early_stopping",
    "reduce_lr_on_plateau",
    "schedule",
    "checkpoint",
    "augmentation",
    "normalize",
    "input_channels",
    "input_size",
    "threshold",
    "subset",
    "pretrained",
    "init",
    "batch_norm",
    "weighted_eval_loss",
    "stem",
];

/// Names accepted as grid axes besides the train options.
pub const RUN_KEYS: &[&str] = &[
    "dataset",
    "arch",
    "lr",
    "class_weighting",
    "pos_weight",
    "folds",
    "seed",
    "worker",
];

/// Names that reach inside an option group (`optimizer.weight_decay`),
/// accepted wherever the group's own name is.
pub const DOTTED_KEYS: &[&str] = &[
    "optimizer.name",
    "optimizer.weight_decay",
    "optimizer.momentum",
    "optimizer.nesterov",
    "optimizer.beta1",
    "optimizer.beta2",
    "optimizer.eps",
    "batch_norm.momentum",
    "batch_norm.eps",
];

/// Every field name, for suggestions.
pub fn all_names() -> impl Iterator<Item = &'static str> {
    RUN_KEYS.iter().chain(TRAIN_KEYS.iter()).copied()
}

// ---- scalar converters -------------------------------------------------

fn number(node: &Node, path: &str, sink: &mut Sink) -> Option<f64> {
    match node.as_f64() {
        Some(v) if v.is_finite() => Some(v),
        Some(v) => {
            sink.error(
                node.pos,
                path,
                format!("expected a finite number, found {v}"),
            );
            None
        }
        None => {
            // Accept numbers written as strings like "1e-3" only if they parse; YAML
            // 1.2 reads `1e-3` as a float already, so this is for quoted values.
            if let Some(s) = node.as_str()
                && let Ok(v) = s.trim().parse::<f64>()
                && v.is_finite()
            {
                return Some(v);
            }
            sink.error(
                node.pos,
                path,
                format!("expected a number, found {}", node.value.kind()),
            );
            None
        }
    }
}

fn checked(
    node: &Node,
    path: &str,
    sink: &mut Sink,
    ok: impl Fn(f64) -> bool,
    what: &str,
) -> Option<Json> {
    let v = number(node, path, sink)?;
    if ok(v) {
        Some(json!(v))
    } else {
        sink.error(node.pos, path, format!("expected {what}, found {v}"));
        None
    }
}

fn positive(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    checked(node, path, sink, |v| v > 0.0, "a number > 0")
}

fn non_negative(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    checked(node, path, sink, |v| v >= 0.0, "a number ≥ 0")
}

fn unit_interval_open_right(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    checked(
        node,
        path,
        sink,
        |v| (0.0..1.0).contains(&v),
        "a number in [0, 1)",
    )
}

fn open_unit_interval(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    checked(
        node,
        path,
        sink,
        |v| v > 0.0 && v < 1.0,
        "a number in (0, 1)",
    )
}

fn open_unit_interval_closed_right(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    checked(
        node,
        path,
        sink,
        |v| v > 0.0 && v <= 1.0,
        "a number in (0, 1]",
    )
}

fn probability(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    checked(
        node,
        path,
        sink,
        |v| (0.0..=1.0).contains(&v),
        "a probability in [0, 1]",
    )
}

fn integer(node: &Node, path: &str, sink: &mut Sink, min: i64, max: i64) -> Option<Json> {
    match node.value {
        Value::Int(i) if (min..=max).contains(&i) => Some(json!(i)),
        Value::Int(i) => {
            sink.error(
                node.pos,
                path,
                format!("expected an integer in {min}..={max}, found {i}"),
            );
            None
        }
        Value::Float(f) if f.fract() == 0.0 && f >= min as f64 && f <= max as f64 => {
            Some(json!(f as i64))
        }
        _ => {
            sink.error(
                node.pos,
                path,
                format!(
                    "expected an integer in {min}..={max}, found {}",
                    describe(node)
                ),
            );
            None
        }
    }
}

fn count_1(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    integer(node, path, sink, 1, 10_000_000)
}

fn count_0(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    integer(node, path, sink, 0, 10_000_000)
}

fn seed(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    match node.value {
        Value::Int(i) if i >= 0 => Some(json!(i)),
        _ => {
            sink.error(
                node.pos,
                path,
                format!(
                    "expected a non-negative integer seed, found {}",
                    describe(node)
                ),
            );
            None
        }
    }
}

fn optional_count(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    if is_off(node) {
        return Some(Json::Null);
    }
    count_1(node, path, sink)
}

fn boolean(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    match node.value {
        Value::Bool(b) => Some(json!(b)),
        _ => {
            sink.error(
                node.pos,
                path,
                format!("expected true or false, found {}", describe(node)),
            );
            None
        }
    }
}

fn optional_string(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    match &node.value {
        Value::Null => Some(Json::Null),
        Value::Str(s) if !s.is_empty() => Some(json!(s)),
        _ => {
            sink.error(
                node.pos,
                path,
                format!("expected a path, found {}", describe(node)),
            );
            None
        }
    }
}

/// `train.pretrained`: `null` (or `none`), a file path, `imagenet` (the catalogue's
/// default weights for each run's architecture, resolved when planning) or
/// `{weights: NAME}` (a name from `sweep weights list`).
fn pretrained(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    use sweep_data::weights::catalog;
    if is_off(node) {
        return Some(Json::Null);
    }
    match &node.value {
        Value::Str(s) if s == catalog::IMAGENET => Some(json!({ "weights": s })),
        Value::Map(entries) if entries.len() == 1 && entries[0].0.name == "weights" => {
            let inner = &entries[0].1;
            let inner_path = format!("{path}.weights");
            let Some(name) = inner.as_str().filter(|s| !s.is_empty()) else {
                sink.error(
                    inner.pos,
                    &inner_path,
                    format!("expected a weights name, found {}", describe(inner)),
                );
                return None;
            };
            let imported = || {
                sweep_data::weights::WeightsCache::from_env()
                    .read_record(name)
                    .is_ok_and(|r| r.is_some())
            };
            match catalog::from_env() {
                Ok(entries)
                    if name == catalog::IMAGENET
                        || entries.iter().any(|e| e.name == name)
                        || imported() =>
                {
                    Some(json!({ "weights": name }))
                }
                Ok(entries) => {
                    sink.error(
                        inner.pos,
                        &inner_path,
                        catalog::unknown_name(&entries, name),
                    );
                    None
                }
                Err(e) => {
                    sink.error(inner.pos, &inner_path, e.to_string());
                    None
                }
            }
        }
        Value::Map(_) => {
            sink.error(
                node.pos,
                path,
                "expected a path, `imagenet` or {weights: NAME}".to_string(),
            );
            None
        }
        _ => optional_string(node, path, sink),
    }
}

/// `null`, `false` and `none` all switch an optional feature off.
pub(super) fn is_off(node: &Node) -> bool {
    matches!(node.value, Value::Null | Value::Bool(false))
        || node
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("none"))
}

pub(super) fn describe(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => format!("\"{s}\""),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.kind().to_string(),
    }
}

/// One of a fixed set of words.
fn one_of(node: &Node, path: &str, sink: &mut Sink, options: &[&str]) -> Option<String> {
    let quoted = options
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match node.as_str() {
        Some(s) if options.contains(&s) => Some(s.to_string()),
        Some(s) => {
            sink.error(
                node.pos,
                path,
                format!(
                    "unknown value `{s}`; expected one of {quoted}{}",
                    suggestion(s, options.iter().copied())
                ),
            );
            None
        }
        None => {
            sink.error(
                node.pos,
                path,
                format!("expected one of {quoted}, found {}", describe(node)),
            );
            None
        }
    }
}

// ---- run-level fields --------------------------------------------------

fn dataset(node: &Node, path: &str, cx: &Context, sink: &mut Sink) -> Option<Json> {
    let Some(s) = node.as_str() else {
        sink.error(
            node.pos,
            path,
            format!(
                "expected a dataset name such as `chestmnist` or `retinamnist_128`, found {}",
                describe(node)
            ),
        );
        return None;
    };
    let folders = cx.image_folders();
    if folders
        .iter()
        .any(|f| f == s.strip_prefix("synthetic:").unwrap_or(s))
    {
        return Some(json!(s));
    }
    match sweep_data::catalog::DatasetRef::parse(s) {
        Ok(r) => Some(json!(r.to_string())),
        Err(e) => {
            let hint = match &e {
                sweep_data::catalog::DatasetRefError::UnknownName { name, .. } => {
                    let builtin = sweep_data::catalog::all().iter().map(|d| d.name);
                    suggestion(name, builtin.chain(folders.iter().map(String::as_str)))
                }
                _ => String::new(),
            };
            let declared = if folders.is_empty() {
                String::new()
            } else {
                format!(" (image folders: {})", folders.join(", "))
            };
            sink.error(node.pos, path, format!("{e}{declared}{hint}"));
            None
        }
    }
}

/// A zoo name, or `{torchscript: PATH}` (a module the user saved from
/// PyTorch), read as `{"torchscript": PATH}` and resolved against the
/// experiment file's folder by [`super::torchscript`]. `torchscript:NAME`,
/// the label such a run carries, is accepted where runs are selected
/// (`--only`, `--where`). In an experiment with training commands of its
/// own (`worker:`), also the name of a model such a command trains (which
/// runs without a command may not use: [`crate::expand::check`]).
fn arch(node: &Node, path: &str, cx: &Context, sink: &mut Sink) -> Option<Json> {
    use super::torchscript::{KEY, label_name};
    if cx.named_models()
        && let Some(name) = node.as_str()
        && is_model_name(name)
    {
        return Some(json!(name));
    }
    if let Value::Map(entries) = &node.value {
        let [(key, file)] = entries.as_slice() else {
            sink.error(
                node.pos,
                path,
                "expected an architecture name or {torchscript: PATH}",
            );
            return None;
        };
        let inner = format!("{path}.{}", key.name);
        if key.name != KEY {
            sink.error(
                key.pos,
                &inner,
                format!("unknown key `{}`; expected {{torchscript: PATH}}", key.name),
            );
            return None;
        }
        return match file.as_str().filter(|s| !s.trim().is_empty()) {
            Some(file) => Some(json!({ KEY: file })),
            None => {
                sink.error(
                    file.pos,
                    &inner,
                    format!(
                        "expected the path of a saved TorchScript module, found {}",
                        describe(file)
                    ),
                );
                None
            }
        };
    }
    if let Some(s) = node.as_str()
        && label_name(s).is_some_and(|name| !name.is_empty())
    {
        return Some(json!(s));
    }
    one_of(node, path, sink, KNOWN_ARCHS).map(Json::String)
}

/// Names a report can show as they are: 1-64 letters, digits, `_`, `-`, `.`.
pub fn is_model_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// The "unknown value" message `arch` gives for a name that is not built in.
pub fn unknown_arch(name: &str) -> String {
    format!(
        "unknown value `{name}`; expected one of {}{} (or a `worker:` command that trains it)",
        KNOWN_ARCHS
            .iter()
            .map(|o| format!("`{o}`"))
            .collect::<Vec<_>>()
            .join(", "),
        suggestion(name, KNOWN_ARCHS.iter().copied())
    )
}

fn positive_list(node: &Node, path: &str, sink: &mut Sink) -> Option<Vec<f64>> {
    let Value::Seq(items) = &node.value else {
        return None;
    };
    if items.is_empty() {
        sink.error(node.pos, path, "expected a non-empty list of weights");
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match checked(
            item,
            &format!("{path}[{i}]"),
            sink,
            |v| v > 0.0,
            "a weight > 0",
        ) {
            Some(v) => out.push(v.as_f64().unwrap_or(0.0)),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn class_weighting(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    if let Value::Seq(_) = node.value {
        return positive_list(node, path, sink).map(|w| json!({ "explicit": w }));
    }
    if is_off(node) {
        return Some(json!("none"));
    }
    one_of(node, path, sink, &["none", "balanced"]).map(Json::String)
}

fn pos_weight(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    match &node.value {
        Value::Seq(_) => positive_list(node, path, sink).map(|w| json!({ "perlabel": w })),
        Value::Int(_) | Value::Float(_) => {
            positive(node, path, sink).map(|v| json!({ "scalar": v }))
        }
        _ if is_off(node) => Some(json!("none")),
        _ => one_of(node, path, sink, &["auto", "none"]).map(Json::String),
    }
}

fn folds(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    if is_off(node) {
        return Some(json!("none"));
    }
    match &node.value {
        Value::Int(_) => integer(node, path, sink, 2, 1000)
            .map(|k| json!({ "kfold": { "k": k, "stratified": true, "split_seed": 0 } })),
        Value::Map(_) => {
            let obj = object(
                node,
                path,
                sink,
                json!({ "k": 5, "stratified": true, "split_seed": 0, "over": "train_val" }),
                &[
                    ("k", |n, p, s| integer(n, p, s, 2, 1000)),
                    ("stratified", boolean),
                    ("split_seed", seed),
                    ("over", |n, p, s| {
                        one_of(n, p, s, &["train_val", "all"]).map(Json::String)
                    }),
                ],
            )?;
            let mut obj = obj;
            // The default scope is left out, as `spec.json` leaves it out, so
            // that a selection such as `--where folds=5` compares equal.
            if obj["over"] == "train_val" {
                obj.as_object_mut()?.remove("over");
            }
            Some(json!({ "kfold": obj }))
        }
        _ => {
            sink.error(
                node.pos,
                path,
                format!(
                    "expected `none`, a fold count, or {{k, stratified, split_seed, over}}, found {}",
                    describe(node)
                ),
            );
            None
        }
    }
}

// ---- option groups -----------------------------------------------------

/// Builds an object from `defaults`, replacing the keys present in `node`.
fn object(
    node: &Node,
    path: &str,
    sink: &mut Sink,
    defaults: Json,
    keys: &[(&'static str, Convert)],
) -> Option<Json> {
    let Value::Map(entries) = &node.value else {
        sink.error(
            node.pos,
            path,
            format!(
                "expected a mapping with keys {}, found {}",
                keys.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "),
                describe(node)
            ),
        );
        return None;
    };
    let mut out: Map<String, Json> = match defaults {
        Json::Object(m) => m,
        _ => Map::new(),
    };
    let mut ok = true;
    for (key, value) in entries {
        let sub_path = format!("{path}.{}", key.name);
        match keys.iter().find(|(k, _)| *k == key.name) {
            Some((k, convert)) => match convert(value, &sub_path, sink) {
                Some(v) => {
                    out.insert((*k).to_string(), v);
                }
                None => ok = false,
            },
            None => {
                sink.error(
                    key.pos,
                    &sub_path,
                    format!(
                        "unknown key `{}`; expected one of {}{}",
                        key.name,
                        keys.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "),
                        suggestion(&key.name, keys.iter().map(|(k, _)| *k))
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(Json::Object(out))
}

fn default_train() -> Json {
    serde_json::to_value(TrainOptions::default()).unwrap_or(Json::Null)
}

fn optimizer_name(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    one_of(node, path, sink, &["adam", "adamw", "sgd"]).map(Json::String)
}

fn optimizer(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    let defaults = default_train()["optimizer"].clone();
    if node.as_str().is_some() {
        let name = optimizer_name(node, path, sink)?;
        let mut obj = defaults;
        obj["name"] = name;
        return Some(obj);
    }
    object(
        node,
        path,
        sink,
        defaults,
        &[
            ("name", optimizer_name),
            ("weight_decay", non_negative),
            ("momentum", unit_interval_open_right),
            ("nesterov", boolean),
            ("beta1", unit_interval_open_right),
            ("beta2", unit_interval_open_right),
            ("eps", positive),
        ],
    )
}

fn metric_name(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    let names = MonitorMetric::ALL.map(MonitorMetric::as_str);
    one_of(node, path, sink, &names).map(Json::String)
}

fn mode(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    one_of(node, path, sink, &["min", "max"]).map(Json::String)
}

/// The natural direction of a validated metric name, as JSON.
fn natural_mode(metric: &str) -> Json {
    let metric = metric.parse().unwrap_or(MonitorMetric::ValLoss);
    serde_json::to_value(MonitorMetric::natural_mode(metric)).unwrap_or_default()
}

/// Fills `mode` from the metric's natural direction when it was not written.
fn monitor_mode(node: &Node, obj: &mut Json) {
    if node.get("mode").is_none() {
        let metric = obj["monitor"]["metric"].as_str().unwrap_or("val_loss");
        obj["monitor"]["mode"] = natural_mode(metric);
    }
}

/// Moves flat `monitor`/`mode` keys into the nested `monitor` object.
fn nest_monitor(mut obj: Json) -> Json {
    let metric = obj.get("monitor").cloned().unwrap_or(json!("val_loss"));
    let mode = obj.get("mode").cloned();
    if let Json::Object(m) = &mut obj {
        m.remove("mode");
        let metric = metric.as_str().unwrap_or("val_loss").to_string();
        let mode = mode.unwrap_or_else(|| natural_mode(&metric));
        m.insert("monitor".into(), json!({ "metric": metric, "mode": mode }));
    }
    obj
}

fn early_stopping(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    if is_off(node) {
        return Some(Json::Null);
    }
    let obj = object(
        node,
        path,
        sink,
        json!({ "monitor": "val_loss", "patience": 5, "min_delta": 0.0, "restore_best": true }),
        &[
            ("monitor", metric_name),
            ("mode", mode),
            ("patience", count_0),
            ("min_delta", non_negative),
            ("restore_best", boolean),
        ],
    )?;
    let mut obj = nest_monitor(obj);
    monitor_mode(node, &mut obj);
    Some(obj)
}

fn reduce_lr(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    if is_off(node) {
        return Some(Json::Null);
    }
    let obj = object(
        node,
        path,
        sink,
        json!({ "monitor": "val_loss", "factor": 0.5, "patience": 2, "min_lr": 0.0,
                "cooldown": 0, "min_delta": 0.0 }),
        &[
            ("monitor", metric_name),
            ("mode", mode),
            ("factor", open_unit_interval),
            ("patience", count_0),
            ("min_lr", non_negative),
            ("cooldown", count_0),
            ("min_delta", non_negative),
        ],
    )?;
    let mut obj = nest_monitor(obj);
    monitor_mode(node, &mut obj);
    Some(obj)
}

fn schedule(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    if is_off(node) || node.as_str() == Some("constant") {
        return Some(json!("constant"));
    }
    match &node.value {
        Value::Map(entries) if entries.len() == 1 => {
            let (key, inner) = &entries[0];
            let inner_path = format!("{path}.{}", key.name);
            match key.name.as_str() {
                "step" => object(
                    inner,
                    &inner_path,
                    sink,
                    json!({ "step_size": 10, "gamma": 0.1 }),
                    &[("step_size", count_1), ("gamma", open_unit_interval)],
                )
                .map(|o| json!({ "step": o })),
                "cosine" => object(
                    inner,
                    &inner_path,
                    sink,
                    json!({ "t_max": 10, "eta_min": 0.0 }),
                    &[("t_max", count_1), ("eta_min", non_negative)],
                )
                .map(|o| json!({ "cosine": o })),
                "multistep" => {
                    multistep(inner, &inner_path, sink).map(|o| json!({ "multistep": o }))
                }
                other => {
                    sink.error(
                        key.pos,
                        &inner_path,
                        format!(
                            "unknown schedule `{other}`; expected `constant`, `step`, `cosine` or `multistep`{}",
                            suggestion(other, ["step", "cosine", "multistep"])
                        ),
                    );
                    None
                }
            }
        }
        _ => {
            sink.error(
                node.pos,
                path,
                format!(
                    "expected `constant`, {{step: {{step_size, gamma}}}}, {{cosine: {{t_max, eta_min}}}} or {{multistep: {{milestones, gamma}}}}, found {}",
                    describe(node)
                ),
            );
            None
        }
    }
}

/// `{milestones: [50, 75], gamma: 0.1}`: milestones are required, at least
/// 1 and strictly increasing (whether they fall before `epochs` is checked
/// once the run is resolved, since `epochs` may be a grid axis).
fn multistep(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    let obj = object(
        node,
        path,
        sink,
        json!({ "gamma": 0.1 }),
        &[("milestones", milestones), ("gamma", open_unit_interval)],
    )?;
    if obj.get("milestones").is_none() {
        sink.error(
            node.pos,
            format!("{path}.milestones"),
            "missing required key `milestones` (epochs after which the learning rate is multiplied by gamma)",
        );
        return None;
    }
    Some(json!({ "milestones": obj["milestones"], "gamma": obj["gamma"] }))
}

fn milestones(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    let Value::Seq(items) = &node.value else {
        sink.error(
            node.pos,
            path,
            format!(
                "expected a list of epochs such as [50, 75], found {}",
                describe(node)
            ),
        );
        return None;
    };
    if items.is_empty() {
        sink.error(node.pos, path, "expected at least one milestone epoch");
        return None;
    }
    let mut out: Vec<i64> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let Some(v) = integer(item, &item_path, sink, 1, 10_000_000).and_then(|v| v.as_i64())
        else {
            ok = false;
            continue;
        };
        if let Some(&prev) = out.last()
            && v <= prev
        {
            sink.error(
                item.pos,
                &item_path,
                format!("milestones must be strictly increasing: {v} follows {prev}"),
            );
            ok = false;
        }
        out.push(v);
    }
    ok.then(|| json!(out))
}

fn checkpoint(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    if node.as_str() == Some("last") {
        return Some(json!("last"));
    }
    if let Some(word) = node.as_str() {
        if MonitorMetric::from_str(word).is_err() {
            let names = MonitorMetric::ALL.map(MonitorMetric::as_str);
            let options: Vec<&str> = std::iter::once("last").chain(names).collect();
            one_of(node, path, sink, &options)?;
        }
        let metric = metric_name(node, path, sink)?;
        let mode = natural_mode(metric.as_str().unwrap_or_default());
        return Some(json!({ "metric": metric, "mode": mode }));
    }
    let obj = object(
        node,
        path,
        sink,
        json!({ "metric": "val_loss" }),
        &[("metric", metric_name), ("mode", mode)],
    )?;
    let metric = obj["metric"].as_str().unwrap_or("val_loss").to_string();
    let mode = obj
        .get("mode")
        .cloned()
        .unwrap_or_else(|| natural_mode(&metric));
    Some(json!({ "metric": metric, "mode": mode }))
}

fn augmentation(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    if is_off(node) {
        return Some(Json::Null);
    }
    object(
        node,
        path,
        sink,
        json!({ "rotation": 0.0, "shift": 0.0, "zoom": 0.0, "hflip": 0.0 }),
        &[
            ("rotation", |n, p, s| {
                checked(
                    n,
                    p,
                    s,
                    |v| (0.0..=180.0).contains(&v),
                    "degrees in [0, 180]",
                )
            }),
            ("shift", |n, p, s| {
                checked(
                    n,
                    p,
                    s,
                    |v| (0.0..0.5).contains(&v),
                    "a fraction in [0, 0.5)",
                )
            }),
            ("zoom", |n, p, s| {
                checked(
                    n,
                    p,
                    s,
                    |v| (0.0..0.9).contains(&v),
                    "a fraction in [0, 0.9)",
                )
            }),
            ("hflip", probability),
        ],
    )
}

fn normalize(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    // Accept the range spelt a few natural ways; store one canonical word.
    match node.as_str() {
        Some("0-1" | "[0,1]" | "[0, 1]" | "zero_one") => return Some(json!("0-1")),
        Some("-1-1" | "[-1,1]" | "[-1, 1]" | "minus_one_one") => return Some(json!("-1-1")),
        Some("imagenet") => {
            return Some(mean_std(
                &Normalize::IMAGENET_MEAN,
                &Normalize::IMAGENET_STD,
            ));
        }
        _ => {}
    }
    if let Value::Map(_) = node.value {
        return normalize_mean_std(node, path, sink);
    }
    let hint = node
        .as_str()
        .map(|s| suggestion(s, ["0-1", "-1-1", "imagenet"]))
        .unwrap_or_default();
    sink.error(
        node.pos,
        path,
        format!(
            "expected `0-1`, `-1-1` (pixel range), `imagenet` or {{mean: [..], std: [..]}} (per channel), found {}{hint}",
            describe(node)
        ),
    );
    None
}

fn mean_std(mean: &[f64], std: &[f64]) -> Json {
    json!({ "mean_std": { "mean": mean, "std": std } })
}

/// `{mean: [..], std: [..]}`: one value per channel (1 or 3), the same
/// count in both, every std > 0.
fn normalize_mean_std(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    let obj = object(
        node,
        path,
        sink,
        json!({}),
        &[
            ("mean", |n, p, s| channel_values(n, p, s, false)),
            ("std", |n, p, s| channel_values(n, p, s, true)),
        ],
    )?;
    let (Some(mean), Some(std)) = (obj.get("mean"), obj.get("std")) else {
        let missing = if obj.get("mean").is_none() {
            "mean"
        } else {
            "std"
        };
        sink.error(
            node.pos,
            format!("{path}.{missing}"),
            format!("missing required key `{missing}` (one value per channel)"),
        );
        return None;
    };
    let (m, s) = (
        mean.as_array().map_or(0, Vec::len),
        std.as_array().map_or(0, Vec::len),
    );
    if m != s {
        sink.error(
            node.pos,
            path,
            format!("mean has {m} values but std has {s}; give one of each per channel"),
        );
        return None;
    }
    Some(json!({ "mean_std": { "mean": mean, "std": std } }))
}

/// One value per channel (1 or 3 of them); standard deviations must be > 0.
fn channel_values(n: &Node, p: &str, s: &mut Sink, positive_only: bool) -> Option<Json> {
    let Value::Seq(items) = &n.value else {
        s.error(
            n.pos,
            p,
            format!(
                "expected a list with one number per channel, found {}",
                describe(n)
            ),
        );
        return None;
    };
    if items.len() != 1 && items.len() != 3 {
        s.error(
            n.pos,
            p,
            format!(
                "expected 1 or 3 values (one per channel), found {}",
                items.len()
            ),
        );
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{p}[{i}]");
        let v = if positive_only {
            checked(item, &ip, s, |v| v > 0.0, "a standard deviation > 0")
        } else {
            number(item, &ip, s).map(|v| json!(v))
        };
        out.push(v?);
    }
    Some(Json::Array(out))
}

fn init(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    let names = Init::ALL.map(Init::as_str);
    one_of(node, path, sink, &names).map(Json::String)
}

fn stem(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    let options = [Stem::Auto, Stem::Small, Stem::Standard].map(|s| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    });
    let names: Vec<&str> = options.iter().flatten().map(String::as_str).collect();
    one_of(node, path, sink, &names).map(Json::String)
}

fn batch_norm(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    object(
        node,
        path,
        sink,
        default_train()["batch_norm"].clone(),
        &[
            ("momentum", open_unit_interval_closed_right),
            ("eps", positive),
        ],
    )
}

fn input_channels(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    if is_off(node) {
        return Some(Json::Null);
    }
    match node.value {
        Value::Int(1) | Value::Int(3) => Some(json!(node.as_f64().unwrap_or(0.0) as u8)),
        _ => {
            sink.error(
                node.pos,
                path,
                format!("expected 1 or 3, found {}", describe(node)),
            );
            None
        }
    }
}

fn input_size(node: &Node, path: &str, sink: &mut Sink) -> Option<Json> {
    if is_off(node) {
        return Some(Json::Null);
    }
    integer(node, path, sink, 8, 1024)
}

/// The JSON of `TrainOptions::default()`, the base every run starts from.
pub fn train_defaults() -> Json {
    default_train()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::node::parse;
    use crate::train_options::Folds;

    fn conv(field: &str, yaml: &str) -> Result<Json, Vec<String>> {
        let doc = parse(&format!("v: {yaml}\n")).unwrap();
        let node = doc.get("v").unwrap();
        let mut sink = Sink::default();
        let out = lookup(field)
            .unwrap()
            .convert(node, field, &Context::default(), &mut sink);
        match out {
            Some(v) if sink.is_empty() => Ok(v),
            _ => Err(sink.diagnostics.into_iter().map(|d| d.message).collect()),
        }
    }

    #[test]
    fn pretrained_takes_a_path_imagenet_or_a_weights_name() {
        assert_eq!(
            conv("pretrained", "w/r50.safetensors").unwrap(),
            json!("w/r50.safetensors")
        );
        assert_eq!(conv("pretrained", "none").unwrap(), Json::Null);
        assert_eq!(
            conv("pretrained", "imagenet").unwrap(),
            json!({ "weights": "imagenet" })
        );
        assert_eq!(
            conv("pretrained", "{weights: vit_b16_in21k}").unwrap(),
            json!({ "weights": "vit_b16_in21k" })
        );
        let err = conv("pretrained", "{weights: resnet19}").unwrap_err();
        assert!(
            err[0].starts_with("unknown weights `resnet19`; known: resnet18_imagenet"),
            "{err:?}"
        );
        let err = conv("pretrained", "{file: x}").unwrap_err();
        assert!(err[0].contains("{weights: NAME}"), "{err:?}");
        // The resolved form reads back; a path keeps its old JSON (and keys).
        let path: crate::train_options::Pretrained =
            serde_json::from_value(json!("w/r50.safetensors")).unwrap();
        assert_eq!(
            path,
            crate::train_options::Pretrained::Path("w/r50.safetensors".into())
        );
        let named: crate::train_options::Pretrained =
            serde_json::from_value(json!({ "weights": "resnet18_imagenet" })).unwrap();
        assert_eq!(named.weights_name(), Some("resnet18_imagenet"));
    }

    #[test]
    fn numbers_are_canonical() {
        assert_eq!(conv("lr", "1e-3").unwrap(), conv("lr", "0.001").unwrap());
        assert!(conv("lr", "0").unwrap_err()[0].contains("> 0"));
        // NaN never reaches a field: the YAML reader rejects non-finite floats.
        assert!(
            parse("v: .nan\n")
                .unwrap_err()
                .message
                .contains("non-finite")
        );
        assert!(conv("lr", "-0.5").unwrap_err()[0].contains("found -0.5"));
    }

    #[test]
    fn option_groups_fill_defaults_and_natural_modes() {
        let es = conv("early_stopping", "{monitor: val_auc, patience: 3}").unwrap();
        assert_eq!(es["monitor"], json!({"metric": "val_auc", "mode": "max"}));
        assert_eq!(es["restore_best"], json!(true));
        let opt = conv("optimizer", "sgd").unwrap();
        assert_eq!(opt["name"], json!("sgd"));
        assert_eq!(opt["beta2"], json!(0.999));
        let err = conv("optimizer", "{name: adam, wd: 0.1}").unwrap_err();
        assert!(err[0].contains("unknown key `wd`"), "{err:?}");
    }

    #[test]
    fn monitors_accept_exactly_the_monitor_metrics() {
        for m in MonitorMetric::ALL {
            let mode = json!(m.natural_mode());
            assert_eq!(
                conv("checkpoint", m.as_str()).unwrap(),
                json!({"metric": m.as_str(), "mode": mode})
            );
            let es = conv("early_stopping", &format!("{{monitor: {m}}}")).unwrap();
            assert_eq!(es["monitor"], json!({"metric": m.as_str(), "mode": mode}));
            let plateau = conv("reduce_lr_on_plateau", &format!("{{monitor: {m}}}")).unwrap();
            assert_eq!(plateau["monitor"]["metric"], json!(m.as_str()));
        }
        for other in ["test_auc", "val_acc", "loss", "Val_Loss"] {
            let err = conv("checkpoint", other).unwrap_err();
            assert!(
                err[0].starts_with(&format!("unknown value `{other}`")),
                "{err:?}"
            );
        }
        let err = conv("early_stopping", "{monitor: val_acuracy}").unwrap_err();
        assert!(err[0].contains("did you mean `val_accuracy`"), "{err:?}");
    }

    #[test]
    fn datasets_include_the_declared_image_folders() {
        let doc = parse("v: medical_mnist\n").unwrap();
        let node = doc.get("v").unwrap();
        let dataset = lookup("dataset").unwrap();
        let mut sink = Sink::default();
        assert_eq!(
            dataset.convert(node, "grid.dataset", &Context::default(), &mut sink),
            None
        );
        assert!(
            !sink.diagnostics[0].message.contains("image folders"),
            "{:?}",
            sink.diagnostics
        );
        let cx = Context::with_image_folders(vec!["medical_mnist".into()]);
        let mut sink = Sink::default();
        assert_eq!(
            dataset.convert(node, "grid.dataset", &cx, &mut sink),
            Some(json!("medical_mnist"))
        );
        assert!(sink.is_empty());
        let doc = parse("v: medical_mnis\n").unwrap();
        let mut sink = Sink::default();
        dataset.convert(doc.get("v").unwrap(), "grid.dataset", &cx, &mut sink);
        let message = &sink.diagnostics[0].message;
        assert!(
            message.contains("(image folders: medical_mnist)"),
            "{message}"
        );
        assert!(
            message.contains("did you mean `medical_mnist`"),
            "{message}"
        );
    }

    #[test]
    fn weights_and_folds() {
        assert_eq!(conv("pos_weight", "auto").unwrap(), json!("auto"));
        assert_eq!(conv("pos_weight", "10").unwrap(), json!({"scalar": 10.0}));
        assert_eq!(
            conv("class_weighting", "[1, 2]").unwrap(),
            json!({"explicit": [1.0, 2.0]})
        );
        assert_eq!(
            conv("folds", "5").unwrap(),
            json!({"kfold": {"k": 5, "stratified": true, "split_seed": 0}})
        );
        assert!(conv("folds", "{k: 1}").unwrap_err()[0].contains("2..=1000"));
        assert_eq!(
            conv("folds", "{k: 3, over: all}").unwrap(),
            json!({"kfold": {"k": 3, "stratified": true, "split_seed": 0, "over": "all"}})
        );
        let wrong = conv("folds", "{k: 3, over: everything}").unwrap_err();
        assert!(wrong[0].contains("`train_val`, `all`"), "{wrong:?}");
    }

    #[test]
    fn folds_over_train_val_keep_the_keys_they_had_before_over_existed() {
        let folds =
            |text| -> Folds { serde_json::from_value(conv("folds", text).unwrap()).unwrap() };
        let default = folds("{k: 5, split_seed: 1}");
        assert_eq!(
            serde_json::to_value(&default).unwrap(),
            json!({"kfold": {"k": 5, "stratified": true, "split_seed": 1}})
        );
        let all = folds("{k: 5, split_seed: 1, over: all}");
        assert_eq!(
            serde_json::to_value(&all).unwrap(),
            json!({"kfold": {"k": 5, "stratified": true, "split_seed": 1, "over": "all"}})
        );
    }

    #[test]
    fn defaults_round_trip_through_the_typed_struct() {
        let v = train_defaults();
        let back: TrainOptions = serde_json::from_value(v).unwrap();
        assert_eq!(back, TrainOptions::default());
    }
}
