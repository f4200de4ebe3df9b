//! The framework-semantics options through real runs: a tiny synthetic
//! experiment is validated and expanded like `sweep run` does, its
//! `spec.json` written, and the worker trains it in this process; the test
//! then reads what the run wrote (`metrics.json`, `history.csv`,
//! `predictions.csv`).
//!
//! A test binary of its own (see Cargo.toml): libtorch takes its inter-op
//! thread count once per process, before any parallel work, so no other
//! test may run torch operations before the first run starts. The runs of
//! this file share torch's random generator, so no assertion compares two
//! runs bit for bit.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use sweep_core::expand::expand;
use sweep_core::hash::KeyInput;
use sweep_core::run_spec::RunSpec;
use sweep_core::spec::load_str;
use sweep_core::store::{
    FailureKind, HISTORY_FILE, METRICS_FILE, PREDICTIONS_FILE, SpecFile, Store,
};
use sweep_core::train_options::{Normalize, Stem};
use sweep_train::models::{self, ModelConfig};
use sweep_train::worker::{self, WorkerError};
use tch::{Device, nn};

/// A scratch results folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("sweep-semantics-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The one run of a tiny synthetic BreastMNIST experiment with `train`
/// options added (indented two spaces each).
fn spec(arch: &str, train: &str) -> RunSpec {
    spec_with_grid(arch, "", train)
}

/// [`spec`] with more grid lines (`  pos_weight: 10\n`).
fn spec_with_grid(arch: &str, grid: &str, train: &str) -> RunSpec {
    // Three epochs unless the test says otherwise.
    let epochs = if train.contains("epochs:") {
        ""
    } else {
        "  epochs: 3\n"
    };
    let yaml = format!(
        "name: t\ngrid:\n  dataset: synthetic:breastmnist\n  arch: {arch}\n  lr: 0.01\n{grid}\
         train:\n{epochs}  subset: 96\n  batch_size: 32\n{train}"
    );
    let exp = load_str(&yaml, Path::new("t.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let mut runs = expand(&exp, false);
    assert_eq!(runs.len(), 1);
    runs.remove(0)
}

/// Trains `run` in a fresh folder under `scratch`; the run's folder.
fn train(scratch: &Scratch, run: RunSpec) -> Result<PathBuf, WorkerError> {
    let input = KeyInput::new(run, "0".repeat(64));
    let file = SpecFile {
        key: input.key(),
        input,
        data_file: None,
        experiments: vec!["t.yaml".into()],
        label: None,
        workdir: None,
    };
    let dir = Store::new(&scratch.0).prepare(&file).unwrap();
    worker::run(&dir).map(|()| dir)
}

fn metrics(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(METRICS_FILE)).unwrap()).unwrap()
}

/// One column of `history.csv`, by name.
fn history(dir: &Path, column: &str) -> Vec<f64> {
    let mut reader = csv::Reader::from_path(dir.join(HISTORY_FILE)).unwrap();
    let index = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no {column} column"));
    reader
        .records()
        .map(|r| r.unwrap()[index].parse().unwrap())
        .collect()
}

/// Binary cross-entropy of the test predictions, with `pos_weight` on the
/// positive term, recomputed from `predictions.csv` (`index, y_0, p_0`).
fn test_bce(dir: &Path, pos_weight: f64) -> f64 {
    let mut reader = csv::Reader::from_path(dir.join(PREDICTIONS_FILE)).unwrap();
    let rows: Vec<(f64, f64)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].parse().unwrap(), r[2].parse().unwrap())
        })
        .collect();
    let sum: f64 = rows
        .iter()
        .map(|&(y, p)| -(pos_weight * y * p.ln() + (1.0 - y) * (1.0 - p).ln()))
        .sum();
    sum / rows.len() as f64
}

#[test]
fn checkpoint_last_keeps_and_tests_the_final_epoch() {
    let scratch = Scratch::new("last");
    let dir = train(&scratch, spec("small_cnn", "  checkpoint: last\n")).unwrap();
    let m = metrics(&dir);
    assert_eq!(m["epochs_run"], 3);
    assert_eq!(m["best_epoch"], 3);
    let val_losses = history(&dir, "val_loss");
    let final_val = m["val_loss"].as_f64().unwrap();
    assert!(
        (final_val - val_losses[2]).abs() <= 1e-9 * val_losses[2].abs(),
        "kept weights score {final_val}, epoch 3 scored {}",
        val_losses[2]
    );
}

#[test]
fn multistep_schedule_steps_at_its_milestones() {
    let scratch = Scratch::new("multistep");
    let run = spec(
        "small_cnn",
        "  epochs: 4\n  schedule: {multistep: {milestones: [1, 3], gamma: 0.1}}\n",
    );
    let dir = train(&scratch, run).unwrap();
    let lrs = history(&dir, "lr");
    let want = [0.01, 0.001, 0.001, 0.0001];
    assert_eq!(lrs.len(), 4);
    for (epoch, (got, want)) in lrs.iter().zip(want).enumerate() {
        assert!((got - want).abs() < 1e-12, "epoch {}: {got}", epoch + 1);
    }
}

#[test]
fn unweighted_eval_loss_leaves_pos_weight_to_training() {
    let scratch = Scratch::new("eval-loss");
    let weighted = spec_with_grid("small_cnn", "  pos_weight: 10\n", "");
    let plain = spec_with_grid(
        "small_cnn",
        "  pos_weight: 10\n",
        "  weighted_eval_loss: false\n",
    );
    assert!(!plain.train.weighted_eval_loss);
    for (run, pos_weight) in [(weighted, 10.0), (plain, 1.0)] {
        let dir = train(&scratch, run).unwrap();
        let reported = metrics(&dir)["test_loss"].as_f64().unwrap();
        // Probabilities are printed rounded; the loss agrees to ~1e-6.
        let recomputed = test_bce(&dir, pos_weight);
        assert!(
            (reported - recomputed).abs() < 1e-4 * recomputed.max(1.0),
            "pos_weight {pos_weight}: test_loss {reported}, recomputed {recomputed}"
        );
        let other = test_bce(&dir, 11.0 - pos_weight);
        assert!(
            (reported - other).abs() > 1e-3,
            "the two losses must be told apart"
        );
    }
}

#[test]
fn every_init_and_batch_norm_setting_trains() {
    let scratch = Scratch::new("init");
    for train_options in [
        "  init: torch\n",
        "  init: keras\n",
        "  init: tch\n",
        "  batch_norm: {momentum: 0.01, eps: 0.001}\n",
    ] {
        let dir = train(&scratch, spec("chest_cnn", train_options)).unwrap();
        let loss = metrics(&dir)["test_loss"].as_f64().unwrap();
        assert!(loss.is_finite(), "{train_options}: {loss}");
    }
}

#[test]
fn imagenet_normalisation_trains_on_replicated_grey_and_refuses_a_mismatch() {
    let scratch = Scratch::new("normalize");
    let run = spec("small_cnn", "  normalize: imagenet\n  input_channels: 3\n");
    assert_eq!(run.train.normalize.channels(), Some(3));
    let dir = train(&scratch, run).unwrap();
    assert!(metrics(&dir)["test_loss"].as_f64().unwrap().is_finite());

    // A spec.json written by hand can still disagree with the data.
    let mut bad = spec("small_cnn", "");
    bad.train.normalize = Normalize::MeanStd {
        mean: vec![0.5; 3],
        std: vec![0.25; 3],
    };
    let err = train(&scratch, bad).unwrap_err();
    assert_eq!(err.kind, FailureKind::InvalidData);
    assert!(
        err.message.contains("3 mean/std values")
            && err.message.contains("1 channel")
            && err.message.contains("input_channels"),
        "{}",
        err.message
    );
}

#[test]
fn the_standard_stem_trains_a_resnet18_at_28px() {
    let scratch = Scratch::new("stem");
    let run = spec(
        "resnet18",
        "  epochs: 1\n  stem: standard\n  input_channels: 3\n",
    );
    let dir = train(&scratch, run).unwrap();
    let m = metrics(&dir);
    let standard = ModelConfig {
        stem: Stem::Standard,
        ..ModelConfig::new(3, 1, 28)
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = models::build("resnet18", &vs.root(), &standard).unwrap();
    assert_eq!(m["params"], models::param_count(&vs).0);
    // torchvision's resnet18 less its 1000-class head plus a 1-unit one.
    assert_eq!(m["params"], 11_689_512 - 513_000 + 513);
}
