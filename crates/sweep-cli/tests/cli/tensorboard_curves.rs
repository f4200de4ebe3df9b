//! Live TensorBoard curves, end to end: runs killed mid-way and resumed
//! leave one event file each, under `tb/<label>/`, and TensorBoard's own
//! reader (the `tensorboard` package in the torch virtualenv) finds every
//! `history.csv` value there, once per epoch, as a 32-bit float.

use std::path::{Path, PathBuf};

use crate::common::{skip, sweep_with_env as sweep, text, torch_finder};

/// Why a test that reads results with Python's data tools was skipped.
pub(crate) const NO_PY_TOOLS: &str = "no python with tensorboard and pandas (scripts/test \
     installs them into the torch venv)";

/// The torch venv's python when it also has `tensorboard` and `pandas`;
/// else `None`, the test recorded as skipped with why.
pub(crate) fn python_with_data_tools() -> Option<PathBuf> {
    let Some(python) = torch_finder::find_torch_python() else {
        skip(torch_finder::NO_TORCH);
        return None;
    };
    let has_tools = std::process::Command::new(&python)
        .args(["-c", "import tensorboard, pandas"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_tools {
        skip(NO_PY_TOOLS);
        return None;
    }
    Some(python)
}

/// Runs `script` with `args`; its stdout, or a panic with everything it said.
pub(crate) fn run_python(python: &Path, script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "python failed:\n{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

const CURVES: &str = "
name: curves
grid:
  dataset: [synthetic:breastmnist, synthetic:dermamnist]
  arch: small_cnn
  lr: 1e-3
  folds: {k: 2, stratified: true, split_seed: 0}
train:
  epochs: 3
  batch_size: 64
  subset: 128
";

/// For every finished run: the events TensorBoard reads, against its
/// history.csv. Prints `runs scalars` and the run folders' labels.
const COMPARE: &str = r#"
import csv, os, struct, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]

def tag(column):
    for split in ("train", "val"):
        if column.startswith(split + "_"):
            return column[len(split) + 1:] + "/" + split
    return column

results = sys.argv[1]
runs = scalars = 0
labels = []
for key in sorted(os.listdir(results)):
    run = os.path.join(results, key)
    if not os.path.exists(os.path.join(run, "complete.json")):
        continue
    folders = os.listdir(os.path.join(run, "tb"))
    assert len(folders) == 1, folders
    labels.append(folders[0])
    event_dir = os.path.join(run, "tb", folders[0])
    files = [f for f in os.listdir(event_dir) if "tfevents" in f]
    assert len(files) == 1, files
    acc = EventAccumulator(event_dir, size_guidance={"scalars": 0})
    acc.Reload()
    with open(os.path.join(run, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    want_tags = set()
    for column in rows[0]:
        if column == "epoch":
            continue
        want = [(int(r["epoch"]), f32(float(r[column]))) for r in rows if r[column] != ""]
        if not want:
            continue
        want_tags.add(tag(column))
        got = [(e.step, e.value) for e in acc.Scalars(tag(column))]
        assert got == want, (run, column, got, want)
        scalars += len(got)
    assert set(acc.Tags()["scalars"]) == want_tags, (acc.Tags()["scalars"], want_tags)
    runs += 1
print(runs, scalars)
for label in sorted(labels):
    print(label)
"#;

#[test]
fn curves_of_interrupted_and_resumed_runs_equal_their_history() {
    let Some(python) = python_with_data_tools() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("curves.yaml");
    std::fs::write(&file, CURVES).unwrap();
    let results = tmp.path().join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    // Every run dies as epoch 3 starts, after writing the curves of 1 and 2.
    let crashed = sweep(
        &[
            "run",
            f,
            "--results",
            r,
            "--devices",
            "cpu",
            "--max-retries",
            "0",
        ],
        &[("SWEEP_TEST_ABORT_AT_EPOCH", "3")],
    );
    assert_eq!(crashed.status.code(), Some(1), "{}", text(&crashed));
    let resumed = sweep(&["run", f, "--results", r, "--retry-failed"], &[]);
    assert!(resumed.status.success(), "{}", text(&resumed));

    let out = run_python(&python, COMPARE, &[r]);
    let mut lines = out.lines();
    let counts: Vec<usize> = lines
        .next()
        .unwrap()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(counts[0], 4, "every run read back:\n{out}");
    // Per run and epoch: lr, seconds and 6 scores per split at least (the
    // flattened ones exist for the binary BreastMNIST only).
    assert!(counts[1] >= 4 * 3 * 14, "{out}");
    // Each run's folder is named by its label: dataset and fold, the slash
    // of `fold 1/2` spelled out so it does not nest folders.
    let labels: Vec<&str> = lines.collect();
    assert_eq!(labels.len(), 4);
    for dataset in ["breastmnist", "dermamnist"] {
        for fold in ["fold 1 of 2", "fold 2 of 2"] {
            let named = labels
                .iter()
                .filter(|l| l.contains(dataset) && l.contains(fold))
                .count();
            assert_eq!(named, 1, "{dataset} {fold} in {labels:?}");
        }
    }
}
