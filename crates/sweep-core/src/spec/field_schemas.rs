//! The JSON Schema of one value of each settable field, for editors.
//!
//! [`super::schema`] reads each field with a converter function; this module
//! states the same rules (types, ranges, known words) as JSON Schema, keyed by
//! the field's resolved name. The word lists come from the same constants the
//! converters use (architectures, monitor metrics, initialisations), and
//! tests feed one set of probe values to both the converters and the schema
//! (`tests/core/json_schema.rs`), so a range changed on one side only fails.

use serde_json::{Value as Json, json};

use super::schema::KNOWN_ARCHS;
use crate::train_options::{Init, MonitorMetric, Stem};

/// The schema of one value of the field whose resolved name is `run_path`
/// (`lr`, `train.batch_size`, `train.optimizer.momentum`), with a
/// description; `None` for a field this module does not describe yet.
pub fn value_schema(run_path: &str) -> Option<Json> {
    let (schema, about) = match run_path {
        "dataset" => (
            dataset(),
            "MedMNIST dataset (`_64`/`_128`/`_224` for MedMNIST+, `synthetic:` for generated data) or a declared image folder",
        ),
        "arch" => (
            json!({ "anyOf": [
                { "enum": KNOWN_ARCHS },
                single("torchscript", json!({ "type": "string", "minLength": 1 }))
            ] }),
            "network architecture: a zoo name, or {torchscript: PATH} for a saved TorchScript module",
        ),
        "lr" => (number_above(0.0), "learning rate"),
        "class_weighting" => (
            class_weighting(),
            "`none`, `balanced`, or one weight per class",
        ),
        "pos_weight" => (
            pos_weight(),
            "binary/multi-label only: a number, one weight per label, `auto` or `none`",
        ),
        "folds" => (
            folds(),
            "`none` (the official split), a fold count, or {k, stratified, split_seed, over}",
        ),
        "seed" => (integer(0, None), "random seed of the run"),
        "train.epochs" => (count_1(), "training epochs (default 10)"),
        "train.batch_size" => (count_1(), "training batch size (default 128)"),
        "train.eval_batch_size" => (count_1(), "evaluation batch size"),
        "train.optimizer" => (
            optimizer(),
            "`adam`, `adamw`, `sgd`, or {name, weight_decay, …}",
        ),
        "train.optimizer.name" => (optimizer_name(), "optimizer"),
        "train.optimizer.weight_decay" => (number_from(0.0), "weight decay (≥ 0)"),
        "train.optimizer.momentum" => (unit_open_right(), "SGD momentum in [0, 1)"),
        "train.optimizer.nesterov" => (boolean(), "SGD Nesterov momentum"),
        "train.optimizer.beta1" => (unit_open_right(), "Adam beta1 in [0, 1)"),
        "train.optimizer.beta2" => (unit_open_right(), "Adam beta2 in [0, 1)"),
        "train.optimizer.eps" => (number_above(0.0), "Adam epsilon (> 0)"),
        "train.early_stopping" => (
            early_stopping(),
            "stop when the monitored metric stops improving; `none` to switch off",
        ),
        "train.reduce_lr_on_plateau" => (
            reduce_lr(),
            "lower the learning rate on a plateau; `none` to switch off",
        ),
        "train.schedule" => (
            schedule(),
            "learning-rate schedule: `constant`, {step}, {cosine} or {multistep}",
        ),
        "train.checkpoint" => (
            checkpoint(),
            "the epoch kept as best: a monitor metric, {metric, mode}, or `last`",
        ),
        "train.augmentation" => (
            augmentation(),
            "on-device augmentation per batch; `none` to switch off",
        ),
        "train.normalize" => (
            normalize(),
            "pixel range `0-1`/`-1-1`, `imagenet`, or {mean, std} per channel",
        ),
        "train.input_channels" => (
            off_or(json!({ "enum": [1, 3] })),
            "1 or 3 channels; default: the dataset's own",
        ),
        "train.input_size" => (
            off_or(integer(8, Some(1024))),
            "resize on the device; default: the file's size",
        ),
        "train.threshold" => (
            open_unit(),
            "sigmoid threshold for binary/multi-label predictions",
        ),
        "train.subset" => (
            off_or(count_1()),
            "cap on training samples (val/test in proportion)",
        ),
        "train.pretrained" => (
            pretrained(),
            "a safetensors/.ot file, `imagenet`, or {weights: NAME} (`sweep weights list`)",
        ),
        "train.init" => (
            json!({ "enum": Init::ALL.map(Init::as_str) }),
            "starting weights' initialisation",
        ),
        "train.batch_norm" => (
            batch_norm(),
            "batch-norm settings, PyTorch's momentum convention",
        ),
        "train.batch_norm.momentum" => (open_unit_closed_right(), "batch-norm momentum in (0, 1]"),
        "train.batch_norm.eps" => (number_above(0.0), "batch-norm epsilon (> 0)"),
        "train.weighted_eval_loss" => (
            boolean(),
            "false: class weights weigh the training loss only",
        ),
        "train.stem" => (
            json!({ "enum": stems() }),
            "ResNet/DenseNet stem: auto, small or standard",
        ),
        "worker" => (
            off_or(json!({
                "type": "object",
                "properties": {
                    "command": { "type": "array", "minItems": 1, "items": { "type": "string", "minLength": 1 } },
                    "code": { "type": "array", "items": { "type": "string", "minLength": 1 } }
                },
                "required": ["command"],
                "additionalProperties": false
            })),
            "a training command of your own (argument vector, never a shell) and the code its results depend on; none: sweep's trainer",
        ),
        _ => return None,
    };
    Some(described(schema, about))
}

/// `schema` with a `description` added (kept when it has one).
pub(crate) fn described(mut schema: Json, about: &str) -> Json {
    if let Some(map) = schema.as_object_mut() {
        map.entry("description").or_insert_with(|| json!(about));
    }
    schema
}

pub(crate) fn integer(min: i64, max: Option<i64>) -> Json {
    let mut schema = json!({ "type": "integer", "minimum": min });
    if let Some(max) = max {
        schema["maximum"] = json!(max);
    }
    schema
}

fn count_1() -> Json {
    integer(1, Some(10_000_000))
}

fn count_0() -> Json {
    integer(0, Some(10_000_000))
}

fn number_above(min: f64) -> Json {
    json!({ "type": "number", "exclusiveMinimum": min })
}

fn number_from(min: f64) -> Json {
    json!({ "type": "number", "minimum": min })
}

fn unit_open_right() -> Json {
    json!({ "type": "number", "minimum": 0, "exclusiveMaximum": 1 })
}

fn open_unit() -> Json {
    json!({ "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1 })
}

fn open_unit_closed_right() -> Json {
    json!({ "type": "number", "exclusiveMinimum": 0, "maximum": 1 })
}

fn boolean() -> Json {
    json!({ "type": "boolean" })
}

/// `null`, `false` and `none` (any case) switch an optional feature off.
pub(crate) fn off() -> Json {
    json!({ "anyOf": [
        { "type": "null" },
        { "const": false },
        { "type": "string", "pattern": "^[Nn][Oo][Nn][Ee]$" }
    ] })
}

fn off_or(schema: Json) -> Json {
    json!({ "anyOf": [off(), schema] })
}

/// A mapping with only `properties`, none of them required.
fn object(properties: Json) -> Json {
    json!({ "type": "object", "properties": properties, "additionalProperties": false })
}

fn metric_names() -> Vec<&'static str> {
    MonitorMetric::ALL.map(MonitorMetric::as_str).to_vec()
}

fn stems() -> Vec<String> {
    [Stem::Auto, Stem::Small, Stem::Standard]
        .iter()
        .filter_map(|s| serde_json::to_value(s).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The built-in names, for completion; any name an image folder could
/// have is accepted too (the file declares those).
fn dataset() -> Json {
    let mut names = Vec::new();
    for prefix in ["", "synthetic:"] {
        for info in sweep_data::catalog::all() {
            names.push(format!("{prefix}{}", info.name));
            for size in sweep_data::catalog::SIZES {
                names.push(format!("{prefix}{}_{size}", info.name));
            }
        }
    }
    json!({ "type": "string", "anyOf": [
        { "enum": names },
        { "pattern": "^(synthetic:)?[a-z][a-z0-9_]*$", "description": "an image folder declared under data.image_folders" }
    ] })
}

fn positive_weights() -> Json {
    json!({ "type": "array", "minItems": 1, "items": number_above(0.0) })
}

fn class_weighting() -> Json {
    json!({ "anyOf": [off(), { "enum": ["none", "balanced"] }, positive_weights()] })
}

fn pos_weight() -> Json {
    json!({ "anyOf": [off(), { "enum": ["auto", "none"] }, number_above(0.0), positive_weights()] })
}

fn folds() -> Json {
    let kfold = json!({
        "type": "object",
        "properties": {
            "k": integer(2, Some(1000)),
            "stratified": boolean(),
            "split_seed": integer(0, None),
            "over": { "enum": ["train_val", "all"] }
        },
        "additionalProperties": false
    });
    off_or(json!({ "anyOf": [integer(2, Some(1000)), kfold] }))
}

fn optimizer_name() -> Json {
    json!({ "enum": ["adam", "adamw", "sgd"] })
}

fn optimizer() -> Json {
    json!({ "anyOf": [optimizer_name(), object(json!({
        "name": optimizer_name(),
        "weight_decay": number_from(0.0),
        "momentum": unit_open_right(),
        "nesterov": boolean(),
        "beta1": unit_open_right(),
        "beta2": unit_open_right(),
        "eps": number_above(0.0)
    }))] })
}

fn mode() -> Json {
    json!({ "enum": ["min", "max"] })
}

fn early_stopping() -> Json {
    off_or(object(json!({
        "monitor": { "enum": metric_names() },
        "mode": mode(),
        "patience": count_0(),
        "min_delta": number_from(0.0),
        "restore_best": boolean()
    })))
}

fn reduce_lr() -> Json {
    off_or(object(json!({
        "monitor": { "enum": metric_names() },
        "mode": mode(),
        "factor": open_unit(),
        "patience": count_0(),
        "min_lr": number_from(0.0),
        "cooldown": count_0(),
        "min_delta": number_from(0.0)
    })))
}

/// A mapping with the single key `name` holding `inner`.
fn single(name: &str, inner: Json) -> Json {
    json!({
        "type": "object",
        "properties": { name: inner },
        "required": [name],
        "additionalProperties": false
    })
}

fn schedule() -> Json {
    let mut multistep = object(json!({
        "milestones": { "type": "array", "minItems": 1, "items": count_1() },
        "gamma": open_unit()
    }));
    multistep["required"] = json!(["milestones"]);
    json!({ "anyOf": [
        off(),
        { "const": "constant" },
        single("step", object(json!({ "step_size": count_1(), "gamma": open_unit() }))),
        single("cosine", object(json!({ "t_max": count_1(), "eta_min": number_from(0.0) }))),
        single("multistep", multistep)
    ] })
}

fn checkpoint() -> Json {
    let mut words = vec!["last"];
    words.extend(metric_names());
    json!({ "anyOf": [
        { "enum": words },
        object(json!({ "metric": { "enum": metric_names() }, "mode": mode() }))
    ] })
}

fn augmentation() -> Json {
    off_or(object(json!({
        "rotation": { "type": "number", "minimum": 0, "maximum": 180 },
        "shift": { "type": "number", "minimum": 0, "exclusiveMaximum": 0.5 },
        "zoom": { "type": "number", "minimum": 0, "exclusiveMaximum": 0.9 },
        "hflip": { "type": "number", "minimum": 0, "maximum": 1 }
    })))
}

fn normalize() -> Json {
    let words = [
        "0-1",
        "[0,1]",
        "[0, 1]",
        "zero_one",
        "-1-1",
        "[-1,1]",
        "[-1, 1]",
        "minus_one_one",
        "imagenet",
    ];
    // One value per channel: one or three.
    let per_channel = |item: Json| {
        json!({ "type": "array", "items": item, "anyOf": [
            { "minItems": 1, "maxItems": 1 },
            { "minItems": 3, "maxItems": 3 }
        ] })
    };
    let mut mean_std = object(json!({
        "mean": per_channel(json!({ "type": "number" })),
        "std": per_channel(number_above(0.0))
    }));
    mean_std["required"] = json!(["mean", "std"]);
    json!({ "anyOf": [{ "enum": words }, mean_std] })
}

fn pretrained() -> Json {
    off_or(json!({ "anyOf": [
        { "type": "string", "minLength": 1 },
        single("weights", json!({ "type": "string", "minLength": 1 }))
    ] }))
}

fn batch_norm() -> Json {
    object(json!({
        "momentum": open_unit_closed_right(),
        "eps": number_above(0.0)
    }))
}
