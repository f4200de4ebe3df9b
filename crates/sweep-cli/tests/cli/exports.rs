//! `sweep export`, end to end: a small sweep is exported in every format,
//! and pandas (in the torch virtualenv) reads each export back and finds
//! the numbers of every run's metrics.json and history.csv, with the grid
//! axes, fold and seed as columns.

use crate::common::{sweep_with_env as sweep, text};
use crate::tensorboard_curves::{python_with_data_tools, run_python};

const EXPORTED: &str = "
name: exported
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: [1e-3, 3e-3]
  folds: {k: 2, stratified: true, split_seed: 0}
train:
  epochs: 2
  batch_size: 64
  subset: 128
";

/// Reads the four exports with pandas and checks them against the run
/// folders; prints how many values it compared.
const CHECK: &str = r#"
import json, os, sys
import pandas as pd

results, final_csv, final_jsonl, epochs_csv, epochs_jsonl = sys.argv[1:6]
runs = {}
for key in os.listdir(results):
    path = os.path.join(results, key)
    if os.path.exists(os.path.join(path, "complete.json")):
        runs[key] = (
            json.load(open(os.path.join(path, "metrics.json"))),
            pd.read_csv(os.path.join(path, "history.csv")),
            json.load(open(os.path.join(path, "spec.json")))["input"]["run"],
        )
assert len(runs) == 4, runs.keys()
checked = 0

def identity(row, key):
    spec = runs[key][2]
    assert row["experiment"] == "exported"
    assert row["dataset"] == "synthetic:breastmnist"
    assert row["arch"] == "small_cnn"
    assert row["lr"] == spec["lr"], (row["lr"], spec["lr"])
    assert row["fold"] == spec["fold"] + 1
    assert row["seed"] == spec["seed"]

def final_values(key):
    m = runs[key][0]
    return {
        "params": m["params"], "epochs_run": m["epochs_run"], "test_loss": m["test_loss"],
        "val_auc": m["val"]["auc"], "test_accuracy": m["test"]["accuracy"],
        "test_f1_macro": m["test"]["f1_macro"], "train_time": m["train_seconds"],
    }

long = pd.read_csv(final_csv)
assert list(long.columns) == ["experiment", "key", "dataset", "arch", "lr", "folds", "fold", "seed", "metric", "value"], list(long.columns)
assert set(long["key"]) == set(runs)
for (key, metric), group in long.groupby(["key", "metric"]):
    assert len(group) == 1, (key, metric)
for key in runs:
    rows = long[long["key"] == key]
    identity(rows.iloc[0], key)
    for metric, want in final_values(key).items():
        got = rows[rows["metric"] == metric]["value"]
        if want is None:  # undefined (an AUC with one class present): no row
            assert got.empty, (key, metric)
            continue
        assert got.iloc[0] == want, (key, metric, got.iloc[0], want)
        checked += 1

wide = pd.read_json(final_jsonl, lines=True, precise_float=True, dtype=False)
assert len(wide) == 4 and set(wide["key"]) == set(runs)
for _, row in wide.iterrows():
    identity(row, row["key"])
    for metric, want in final_values(row["key"]).items():
        if want is None:
            assert pd.isna(row[metric]), (row["key"], metric)
            continue
        assert row[metric] == want, (row["key"], metric, row[metric], want)
        checked += 1

def history_values(key):
    history = runs[key][1]
    for _, h in history.iterrows():
        for column in history.columns:
            if column != "epoch" and not pd.isna(h[column]):
                yield int(h["epoch"]), ("epoch_lr" if column == "lr" else column), h[column]

epochs = pd.read_csv(epochs_csv)
assert list(epochs.columns)[-3:] == ["epoch", "metric", "value"]
indexed = epochs.set_index(["key", "epoch", "metric"])["value"]
assert indexed.index.is_unique
expected = 0
for key in runs:
    for epoch, metric, want in history_values(key):
        assert indexed[(key, epoch, metric)] == want, (key, epoch, metric)
        expected += 1
        checked += 1
assert len(epochs) == expected, (len(epochs), expected)

per_epoch = pd.read_json(epochs_jsonl, lines=True, precise_float=True, dtype=False)
assert len(per_epoch) == sum(len(r[1]) for r in runs.values())
for _, row in per_epoch.iterrows():
    identity(row, row["key"])
for key in runs:
    for epoch, metric, want in history_values(key):
        got = per_epoch[(per_epoch["key"] == key) & (per_epoch["epoch"] == epoch)][metric].iloc[0]
        assert got == want, (key, epoch, metric, got, want)
        checked += 1
print(checked)
"#;

#[test]
fn exports_read_back_with_pandas_equal_the_results() {
    let Some(python) = python_with_data_tools() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("exported.yaml");
    std::fs::write(&file, EXPORTED).unwrap();
    let results = tmp.path().join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    let trained = sweep(&["run", f, "--results", r, "--devices", "cpu"], &[]);
    assert!(trained.status.success(), "{}", text(&trained));

    // The final long CSV goes to stdout; the others to files.
    let stdout = sweep(&["export", f, "--results", r], &[]);
    assert!(stdout.status.success(), "{}", text(&stdout));
    assert!(
        String::from_utf8_lossy(&stdout.stderr).contains("exported: exported 4 runs"),
        "{}",
        text(&stdout)
    );
    let final_csv = tmp.path().join("final.csv");
    std::fs::write(&final_csv, &stdout.stdout).unwrap();
    let mut paths = vec![final_csv];
    for (name, args) in [
        ("final.jsonl", &["--format", "jsonl"][..]),
        ("epochs.csv", &["--per-epoch"][..]),
        ("epochs.jsonl", &["--per-epoch", "--format", "jsonl"][..]),
    ] {
        let path = tmp.path().join(name);
        let mut full = vec!["export", f, "--results", r, "-o", path.to_str().unwrap()];
        full.extend(args);
        let out = sweep(&full, &[]);
        assert!(out.status.success(), "{}", text(&out));
        paths.push(path);
    }
    let mut args = vec![r];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let checked: usize = run_python(&python, CHECK, &args).trim().parse().unwrap();
    // 7 final values × 4 runs in two formats, and ~20 history columns ×
    // 2 epochs × 4 runs in two formats.
    assert!(checked > 2 * 7 * 4 + 2 * 16 * 2 * 4, "{checked}");

    // A request the results cannot answer fails and leaves no file behind.
    let refused = tmp.path().join("refused.csv");
    let out = sweep(
        &[
            "export",
            f,
            "--results",
            r,
            "--metrics",
            "val_aucc",
            "-o",
            refused.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown metric `val_aucc`"),
        "{}",
        text(&out)
    );
    assert!(!refused.exists());
}
