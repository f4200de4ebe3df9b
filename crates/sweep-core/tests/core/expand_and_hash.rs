//! Grid expansion order and counts, and the stability/sensitivity of run keys.

use std::path::Path;

use sweep_core::expand::expand;
use sweep_core::hash::KeyInput;
use sweep_core::run_spec::RunSpec;
use sweep_core::spec::load_str;

fn runs(yaml: &str) -> Vec<RunSpec> {
    let exp = load_str(yaml, Path::new("test.yaml")).unwrap_or_else(|e| panic!("{e}"));
    expand(&exp, false)
}

fn keys(yaml: &str) -> Vec<String> {
    runs(yaml)
        .into_iter()
        .map(|r| KeyInput::new(r, "f".repeat(64)).key().to_string())
        .collect()
}

const BASE: &str = "
name: t
grid:
  dataset: [breastmnist, pneumoniamnist]
  arch: chest_cnn
  lr: [0.001, 0.0001]
  seed: [0, 1]
train:
  epochs: 3
  optimizer: {name: adam, weight_decay: 0.0}
";

#[test]
fn order_is_nested_loops_with_last_axis_fastest() {
    let r = runs(BASE);
    assert_eq!(r.len(), 8);
    let seen: Vec<(String, f64, u64)> = r
        .iter()
        .map(|r| (r.dataset.clone(), r.lr, r.seed))
        .collect();
    assert_eq!(seen[0], ("breastmnist".into(), 0.001, 0));
    assert_eq!(seen[1], ("breastmnist".into(), 0.001, 1));
    assert_eq!(seen[2], ("breastmnist".into(), 0.0001, 0));
    assert_eq!(seen[4], ("pneumoniamnist".into(), 0.001, 0));
    // Every default is filled in.
    assert_eq!(r[0].train.epochs, 3);
    assert_eq!(r[0].train.batch_size, 128);
    assert_eq!(r[0].train.checkpoint.monitor().unwrap().metric, "val_loss");
}

#[test]
fn seed_axis_is_inner_even_when_written_first() {
    let yaml = "
name: t
grid:
  seed: [0, 1]
  lr: [0.1, 0.2]
  dataset: breastmnist
  arch: chest_cnn
";
    let r = runs(yaml);
    let seen: Vec<(f64, u64)> = r.iter().map(|r| (r.lr, r.seed)).collect();
    assert_eq!(seen, vec![(0.1, 0), (0.1, 1), (0.2, 0), (0.2, 1)]);
}

#[test]
fn folds_expand_innermost() {
    let yaml = "
name: t
grid:
  dataset: breastmnist
  arch: chest_cnn
  lr: [0.1, 0.2]
  folds: {k: 3, split_seed: 7}
";
    let r = runs(yaml);
    assert_eq!(r.len(), 6);
    let seen: Vec<(f64, Option<u32>)> = r.iter().map(|r| (r.lr, r.fold)).collect();
    assert_eq!(seen[..3], [(0.1, Some(0)), (0.1, Some(1)), (0.1, Some(2))]);
}

#[test]
fn zip_include_and_exclude() {
    let yaml = "
name: t
grid:
  dataset: breastmnist
  arch: [chest_cnn, small_cnn]
  lr: [0.1, 0.01]
  batch_size: [32, 64]
zip: [[lr, batch_size]]
exclude:
  - {arch: small_cnn, lr: 1e-2}
include:
  - {arch: resnet18, lr: 0.5, batch_size: 16}
";
    let r = runs(yaml);
    let seen: Vec<(String, f64, u32)> = r
        .iter()
        .map(|r| (r.arch.clone(), r.lr, r.train.batch_size))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("chest_cnn".into(), 0.1, 32),
            ("chest_cnn".into(), 0.01, 64),
            ("small_cnn".into(), 0.1, 32),
            ("resnet18".into(), 0.5, 16),
        ]
    );
    assert_eq!(
        r[3].dataset, "breastmnist",
        "single-valued axes apply to includes"
    );
}

#[test]
fn dotted_axes_reach_into_option_groups() {
    let yaml = "
name: t
grid:
  dataset: breastmnist
  arch: chest_cnn
  optimizer.weight_decay: [0, 0.01]
train:
  optimizer: adamw
";
    let r = runs(yaml);
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].train.optimizer.weight_decay, 0.01);
    assert_eq!(
        r[1].train.optimizer.name,
        sweep_core::train_options::OptimizerKind::Adamw
    );
}

#[test]
fn smoke_block_shrinks_runs() {
    let yaml = "
name: t
grid:
  dataset: breastmnist
  arch: chest_cnn
  folds: 5
train: {epochs: 30}
smoke: {epochs: 1, subset: 64, folds: 2}
";
    let exp = load_str(yaml, Path::new("t.yaml")).unwrap();
    let full = expand(&exp, false);
    let smoke = expand(&exp, true);
    assert_eq!((full.len(), smoke.len()), (5, 2));
    assert_eq!(smoke[0].train.epochs, 1);
    assert_eq!(smoke[0].train.subset, Some(64));
}

#[test]
fn keys_ignore_spelling_order_comments_and_resources() {
    let respelt = "
# a comment that must not matter
train:
  optimizer: {weight_decay: 0, name: adam}   # reordered
  epochs: 3
grid:
  seed: [0, 1]
  lr: [1e-3, 1e-4]
  arch: chest_cnn
  dataset: [breastmnist, pneumoniamnist]
name: renamed
resources: {devices: cpu, cpu_threads_per_run: 2}
";
    assert_eq!(keys(BASE), keys(respelt));
}

#[test]
fn keys_change_with_every_result_affecting_value() {
    let base = keys(BASE);
    for (from, to) in [
        ("epochs: 3", "epochs: 4"),
        ("lr: [0.001, 0.0001]", "lr: [0.002, 0.0001]"),
        ("seed: [0, 1]", "seed: [0, 2]"),
        ("weight_decay: 0.0", "weight_decay: 0.1"),
        ("arch: chest_cnn", "arch: small_cnn"),
    ] {
        let changed = keys(&BASE.replace(from, to));
        assert_ne!(changed[0..2], base[0..2], "{from} -> {to} must change keys");
    }
    let r = runs(BASE).remove(0);
    let a = KeyInput::new(r.clone(), "a".repeat(64)).key();
    let b = KeyInput::new(r, "b".repeat(64)).key();
    assert_ne!(a, b, "the dataset fingerprint is part of the key");
}

/// Pinned keys: if this fails, a change altered the canonical serialisation
/// (and so would silently orphan every cached result). Either undo it, or
/// bump `CACHE_VERSION` (or `TRAINER_VERSION`) deliberately and update
/// these values.
#[test]
fn pinned_keys_snapshot() {
    let k = keys(BASE);
    assert_eq!(k[0], PINNED[0]);
    assert_eq!(k[7], PINNED[1]);
}

const PINNED: [&str; 2] = [
    "ee4e39aa15c2d35b2b9494e4252c78d61d2e222636061b0b38ad4c6e441e0a6d",
    "c9f416006fb0922fb3911fbb6785058fd0c7b43a928255c50f0233fad2ca9c60",
];

#[test]
fn slurm_block_is_read_and_never_hashed() {
    let with =
        format!("{BASE}slurm:\n  partition: gpu\n  gpus_per_run: 1\n  sbatch_args: [--qos=high]\n");
    let exp = load_str(&with, Path::new("t.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(exp.slurm.partition.as_deref(), Some("gpu"));
    assert_eq!(exp.slurm.gpus_per_run, Some(1));
    assert_eq!(exp.slurm.sbatch_args, vec!["--qos=high".to_string()]);
    assert_eq!(keys(&with), keys(BASE));
}
