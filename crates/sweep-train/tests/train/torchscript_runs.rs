//! `arch: {torchscript: PATH}` against PyTorch: the venv's torch scripts a
//! small squeeze-excitation network with a batch norm, saves it, and trains
//! it for five steps (`torchscript_reference.py`); sweep plans an experiment
//! naming the saved file, stages it, and its worker trains it for five
//! epochs of one full batch each. Every parameter, and the batch norm's
//! running statistics, must then agree to 1e-5, with SGD and with Adam.
//! Modules written for other images or another number of outputs fail
//! before training, naming the file and both shapes.
//!
//! A test binary of its own (see Cargo.toml): the worker it runs in-process
//! sets libtorch's inter-op thread count, which must happen before any
//! other torch work. Without a python that imports torch the tests are
//! recorded as skipped, with why.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sweep_core::expand::Variant;
use sweep_core::fingerprints::DataFingerprints;
use sweep_core::plan::{PlanStatus, plan};
use sweep_core::scheduler::job::Job;
use sweep_core::stage_modules::stage_pending;
use sweep_core::store::{CHECKPOINT_FILE, FailureKind, Store};
use sweep_train::worker::{self, WorkerError};
use tch::Tensor;

#[path = "torch_python.rs"]
mod torch_python;

#[path = "../../../sweep-data/src/test_support/skip.rs"]
mod skip_record;

/// A folder holding what `torchscript_reference.py` wrote (`None`, the
/// test recorded as skipped, without torch).
fn reference() -> Option<tempfile::TempDir> {
    let Some(python) = torch_python::find_torch_python() else {
        skip_record::skip(torch_python::NO_TORCH);
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/train/torchscript_reference.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(dir)
}

/// Plans, stages and trains the one run of an experiment (written in
/// `dir`) whose grid names `module` and whose `train:` block is `train`;
/// the run's folder, or the worker's error.
fn run(dir: &Path, name: &str, module: &str, train: &str) -> Result<PathBuf, WorkerError> {
    let yaml = format!(
        "name: {name}\ndata: {{root: data}}\ngrid:\n  dataset: breastmnist\n  \
         arch: {{torchscript: {module}}}\n  lr: {lr}\ntrain:\n  epochs: 5\n  batch_size: 16\n  \
         checkpoint: last\n{train}",
        // The learning rates of `torchscript_reference.py`.
        lr = if train.contains("adam") { 1e-4 } else { 0.05 }
    );
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, yaml).unwrap();
    let exp = sweep_core::spec::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::new(dir.join(format!("results-{name}")));
    let fp = DataFingerprints { cache_dir: None };
    let mut planned = plan(
        &exp,
        Variant::default(),
        &exp.resolve_data_root(),
        &store,
        &fp,
    );
    stage_pending(&mut planned, &exp, &store, false);
    assert_eq!(planned.runs.len(), 1);
    let run = &planned.runs[0];
    assert_eq!(
        run.status,
        PlanStatus::Store(sweep_core::store::RunStatus::Pending)
    );
    assert_eq!(
        run.spec.arch,
        format!("torchscript:{}", module.trim_end_matches(".pt"))
    );
    let job = Job::planned(run, name, String::new()).unwrap();
    let run_dir = store.prepare(&job.spec).unwrap();
    worker::run(&run_dir).map(|()| run_dir)
}

/// `expected_<optimiser>.json`: every tensor of the module by PyTorch's name.
fn expected(dir: &Path, optimiser: &str) -> HashMap<String, Vec<f64>> {
    let text = std::fs::read(dir.join(format!("expected_{optimiser}.json"))).unwrap();
    serde_json::from_slice(&text).unwrap()
}

fn assert_trained_like_torch(optimiser: &str, train: &str) {
    let Some(dir) = reference() else { return };
    let dir = dir.path();
    let run_dir = run(dir, optimiser, "net.pt", train).unwrap();
    let ours: HashMap<String, Tensor> = Tensor::read_safetensors(run_dir.join(CHECKPOINT_FILE))
        .unwrap()
        .into_iter()
        .collect();
    let torch = expected(dir, optimiser);
    // Every parameter and buffer, and nothing else.
    let mut names: Vec<String> = torch.keys().map(|k| k.replace('.', "_")).collect();
    let mut saved: Vec<String> = ours.keys().cloned().collect();
    names.sort();
    saved.sort();
    assert_eq!(saved, names);
    let mut largest = (0f64, String::new());
    for (name, values) in &torch {
        let got: Vec<f64> = Vec::try_from(
            ours[&name.replace('.', "_")]
                .to_kind(tch::Kind::Double)
                .flatten(0, -1),
        )
        .unwrap();
        assert_eq!(got.len(), values.len(), "{name}");
        for (i, (a, b)) in got.iter().zip(values).enumerate() {
            let difference = (a - b).abs() / b.abs().max(1.0);
            if difference > largest.0 {
                largest = (difference, format!("{name}[{i}]"));
            }
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "{optimiser}: {name}[{i}] is {a} after sweep's five steps, {b} after torch's"
            );
        }
    }
    eprintln!(
        "{optimiser}: largest difference from torch {:e} ({})",
        largest.0, largest.1
    );
    // The five steps moved the weights: the comparison is not of two copies
    // of the saved module.
    assert_eq!(torch["bn.num_batches_tracked"], [5.0]);
}

#[test]
fn five_sgd_steps_give_torchs_parameters() {
    assert_trained_like_torch("sgd", "  optimizer: {name: sgd, momentum: 0.9}\n");
}

#[test]
fn five_adam_steps_give_torchs_parameters() {
    assert_trained_like_torch("adam", "  optimizer: {name: adam}\n");
}

#[test]
fn a_module_for_other_images_fails_before_training_naming_both_shapes() {
    let Some(dir) = reference() else { return };
    let dir = dir.path();
    let err = run(dir, "rgb", "rgb.pt", "").unwrap_err();
    assert_eq!(err.kind, FailureKind::InvalidData);
    let file = std::fs::canonicalize(dir.join("rgb.pt")).unwrap();
    assert!(
        err.message.starts_with(&format!(
            "TorchScript module {}: the dataset's images, shaped [2, 1, 28, 28] (batch, \
             channels, height, width), fail in its forward pass: RuntimeError: ",
            file.display()
        )),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("to have 3 channels"),
        "{}",
        err.message
    );

    let err = run(dir, "ten", "ten.pt", "").unwrap_err();
    assert_eq!(err.kind, FailureKind::InvalidData);
    let file = std::fs::canonicalize(dir.join("ten.pt")).unwrap();
    assert_eq!(
        err.message,
        format!(
            "TorchScript module {}: it maps images shaped [2, 1, 28, 28] (batch, channels, \
             height, width) to outputs shaped [2, 10]; the dataset needs [2, 1], 1 per image",
            file.display()
        )
    );
}
