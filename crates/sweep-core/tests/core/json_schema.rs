//! The JSON Schema for editors (`sweep schema`): the committed copy in
//! docs/ is current, every shipped experiment validates against it, invalid
//! fixtures are rejected by it, and it agrees with the field readers on a
//! common set of probe values. The schema is checked with the `jsonschema`
//! Python package (installed in the test virtualenv by
//! scripts/torch-env.sh); without it those checks are recorded as skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value as Json, json};
use sweep_core::spec::Context;
use sweep_core::spec::diagnostic::Sink;
use sweep_core::spec::json_schema::{document_json, experiment_schema_text, field_names};
use sweep_core::spec::node::parse;
use sweep_core::spec::schema::lookup;

#[path = "../../../sweep-data/src/test_support/skip.rs"]
mod skip_record;

/// How to refresh the committed copy when the schema changes on purpose.
const BLESS: &str = "SWEEP_BLESS=1 cargo test -p sweep-core --test core json_schema \
                     (or: sweep schema > docs/experiment.schema.json)";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn committed_schema_is_current() {
    let path = repo().join("docs/experiment.schema.json");
    let generated = experiment_schema_text();
    if std::env::var_os("SWEEP_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/experiment.schema.json differs from the generated schema; regenerate it with\n  {BLESS}"
    );
}

#[test]
fn shipped_experiments_carry_the_schema_line() {
    for path in experiment_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("# yaml-language-server: $schema=../docs/experiment.schema.json"),
            "{} must start with the schema line",
            path.display()
        );
    }
}

fn experiment_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("experiments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    files
}

/// A python that can `import jsonschema`: the test virtualenv's, else any.
fn python_with_jsonschema() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut candidates = Vec::new();
    if let Some(venv) = std::env::var_os("SWEEP_TORCH_VENV") {
        candidates.push(Path::new(&venv).join("bin/python"));
    }
    candidates.push(home.join(".cache/sweep/torch-2.13.0-venv/bin/python"));
    candidates.push(PathBuf::from("python3"));
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import jsonschema"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Checks the schema itself, then validates each case (`{ref, instance}`:
/// `ref` names a definition, or null for the whole schema). Prints one
/// entry per case: null when valid, else the first error.
const CHECK: &str = r##"
import json, sys
from jsonschema import Draft7Validator
schema = json.load(open(sys.argv[1]))
Draft7Validator.check_schema(schema)
out = []
for case in json.load(open(sys.argv[2])):
    target = schema
    if case["ref"] is not None:
        target = {"$ref": "#/definitions/" + case["ref"], "definitions": schema["definitions"]}
    errors = sorted(Draft7Validator(target).iter_errors(case["instance"]), key=lambda e: list(e.path))
    out.append(errors[0].message[:300] if errors else None)
print(json.dumps(out))
"##;

/// Each case's first schema error (None when valid), or None when there is
/// no python with `jsonschema` (recorded as a skip).
fn schema_errors(cases: &[Json]) -> Option<Vec<Option<String>>> {
    let Some(python) = python_with_jsonschema() else {
        skip_record::skip(
            "no python with the `jsonschema` package (scripts/torch-env.sh installs it)",
        );
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let (schema, input) = (
        dir.path().join("schema.json"),
        dir.path().join("cases.json"),
    );
    std::fs::write(&schema, experiment_schema_text()).unwrap();
    std::fs::write(&input, serde_json::to_string(cases).unwrap()).unwrap();
    let out = Command::new(python)
        .arg("-c")
        .arg(CHECK)
        .arg(&schema)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn document(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap();
    document_json(&parse(&text).unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message)))
}

#[test]
fn shipped_experiments_validate_against_the_schema() {
    let files = experiment_files();
    let cases: Vec<Json> = files
        .iter()
        .map(|f| json!({ "ref": null, "instance": document(f) }))
        .collect();
    let Some(errors) = schema_errors(&cases) else {
        return;
    };
    for (file, error) in files.iter().zip(errors) {
        assert_eq!(error, None, "{}", file.display());
    }
}

/// Invalid fixtures the schema can see are wrong: a kind each, from the
/// name, the top level, the data, grid, train, include/exclude, zip,
/// resources, slurm and smoke blocks.
const REJECTED_FIXTURES: &[&str] = &[
    "name_with_slash",
    "unknown_top_key",
    "data_unknown_key",
    "unknown_arch",
    "empty_axis",
    "lr_not_positive",
    "grid_axis_in_train",
    "misspelt_train_option",
    "folds_unknown_key",
    "include_unknown_field",
    "zip_single_axis",
    "runs_per_gpu_zero",
    "slurm_bad_block",
    "smoke_epochs_zero",
];

#[test]
fn invalid_fixtures_are_rejected_by_the_schema() {
    let dir = repo().join("tests/fixtures/invalid");
    let cases: Vec<Json> = REJECTED_FIXTURES
        .iter()
        .map(|name| json!({ "ref": null, "instance": document(&dir.join(format!("{name}.yaml"))) }))
        .collect();
    let Some(errors) = schema_errors(&cases) else {
        return;
    };
    for (name, error) in REJECTED_FIXTURES.iter().zip(&errors) {
        assert!(
            error.is_some(),
            "the schema accepts the invalid fixture {name}.yaml"
        );
        // sweep rejects it too (the fixtures' own test checks how).
        assert!(sweep_core::spec::load(&dir.join(format!("{name}.yaml"))).is_err());
    }
    assert!(errors.len() >= 10);
}

/// Values every field is tried with: right and wrong types, range edges,
/// the words some fields take and the mappings option groups take.
const PROBES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "7",
    "8",
    "-1",
    "0.5",
    "1.0",
    "0.999",
    "1e-3",
    "180",
    "181",
    "1024",
    "1025",
    "10000001",
    "true",
    "false",
    "null",
    "none",
    "None",
    "auto",
    "balanced",
    "adam",
    "sgd",
    "adamw",
    "val_auc",
    "val_loss",
    "last",
    "imagenet",
    "0-1",
    "-1-1",
    "torch",
    "small",
    "resnet18",
    "chestmnist",
    "chestmnist_64",
    "synthetic:breastmnist",
    "chestmnist_65",
    "Chest",
    "w/r50.safetensors",
    "\"\"",
    "[]",
    "[1, 2]",
    "[0.5, -1]",
    "[[1, 2]]",
    "{}",
    "{name: adam}",
    "{name: adam, wd: 1}",
    "{k: 3}",
    "{k: 1}",
    "{k: 3, over: all}",
    "{monitor: val_auc, patience: 3}",
    "{monitor: val_acc}",
    "{metric: val_auc, mode: max}",
    "{step: {step_size: 3}}",
    "{cosine: {t_max: 5}}",
    "{multistep: {milestones: [2, 4]}}",
    "{multistep: {gamma: 0.5}}",
    "{mean: [0.5], std: [0.5]}",
    "{mean: [0.5, 0.5], std: [0.5, 0.5]}",
    "{mean: [0.5], std: [0]}",
    "{weights: imagenet}",
    "{rotation: 10, hflip: 0.5}",
    "{rotation: 200}",
    "{momentum: 0.1}",
    "{momentum: 0}",
];

/// Where the schema may accept what the field's reader rejects: a dataset
/// name may be an image folder the file declares (the reader here sees
/// none), and a whole number written with a decimal point is an integer to
/// JSON Schema.
fn known_gap(run_path: &str, probe: &str, sweep_accepts: bool) -> bool {
    if sweep_accepts {
        return false;
    }
    let folder_name = probe.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && probe
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_:".contains(c));
    (run_path == "dataset" && folder_name)
        || (probe == "1.0" && ["seed", "folds", "train.input_channels"].contains(&run_path))
}

#[test]
fn schema_and_field_readers_agree_on_probe_values() {
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for name in field_names() {
        let field = lookup(name).unwrap();
        for probe in PROBES {
            let doc = parse(&format!("v: {probe}\n")).unwrap();
            let node = doc.get("v").unwrap();
            let mut sink = Sink::default();
            let read = field.convert(node, name, &Context::default(), &mut sink);
            let accepts = read.is_some() && sink.is_empty();
            cases.push(json!({
                "ref": format!("value.{}", field.run_path),
                "instance": document_json(node)
            }));
            expected.push((name, field.run_path, *probe, accepts));
        }
    }
    let Some(errors) = schema_errors(&cases) else {
        return;
    };
    let mut disagreements = Vec::new();
    for ((name, run_path, probe, accepts), error) in expected.into_iter().zip(errors) {
        if accepts != error.is_none() && !known_gap(run_path, probe, accepts) {
            let verdict = if accepts {
                "sweep accepts, schema rejects"
            } else {
                "sweep rejects, schema accepts"
            };
            disagreements.push(format!("{name}: {probe}: {verdict} ({error:?})"));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// Sampled axes, right and wrong: the schema and `sweep validate` agree on
/// each (low < high is one thing only `sweep validate` can check).
const SAMPLED_AXES: &[(&str, bool)] = &[
    ("lr: {log_uniform: [1e-5, 1e-2], samples: 8, seed: 0}", true),
    ("batch_size: {int_uniform: [16, 64], samples: 3}", true),
    ("arch: {choice: [chest_cnn, resnet18], samples: 2}", true),
    ("optimizer.momentum: {uniform: [0, 0.9], samples: 2}", true),
    ("train.epochs: {int_uniform: [1, 5], samples: 2}", true),
    ("lr: {log_uniform: [1e-5, 1e-2]}", false),
    ("lr: {log_uniform: [0, 1e-2], samples: 2}", false),
    ("lr: {uniform: [1, 2], choice: [1], samples: 2}", false),
    ("lr: {log_uniform: [1e-5, 1e-2], samples: 2, sed: 1}", false),
    ("lr: {log_uniform: [1e-5, 1e-2], samples: 0}", false),
    ("lr: {log_uniform: [1e-5], samples: 2}", false),
    ("arch: {choice: [resnet19], samples: 2}", false),
    (
        "optimizer.momentum: {uniform: [0.5, 1.0], samples: 2}",
        false,
    ),
    ("batch_size: {int_uniform: [1.5, 8], samples: 2}", false),
];

#[test]
fn schema_and_validation_agree_on_sampled_axes() {
    let text = |axis: &str| {
        let axis = if axis.starts_with("arch:") {
            axis.to_string()
        } else {
            format!("{axis}\n  arch: chest_cnn")
        };
        format!("name: t\ngrid:\n  dataset: breastmnist\n  {axis}\n")
    };
    let cases: Vec<Json> = SAMPLED_AXES
        .iter()
        .map(|(axis, _)| json!({ "ref": null, "instance": document_json(&parse(&text(axis)).unwrap()) }))
        .collect();
    for (axis, valid) in SAMPLED_AXES {
        let loaded = sweep_core::spec::load_str(&text(axis), Path::new("t.yaml"));
        assert_eq!(
            loaded.is_ok(),
            *valid,
            "{axis}: {:?}",
            loaded.err().map(|e| e.lines())
        );
    }
    let Some(errors) = schema_errors(&cases) else {
        return;
    };
    for ((axis, valid), error) in SAMPLED_AXES.iter().zip(errors) {
        assert_eq!(error.is_none(), *valid, "{axis}: {error:?}");
    }
}
