//! The model zoo (ResNet-50/152, DenseNet-121/161/201, ViT-B/16 and its LoRA
//! variant) against torchvision: published parameter counts, the
//! small-input adaptations, and, through `fixtures/zoo_outputs.json`, the
//! same logits as torchvision's own definitions when both hold the same
//! weights. Names and shapes of every variable are checked against
//! torchvision in `models_reference.rs`.
//!
//! Forward passes stay at 28 to 96 px so the test runs in seconds.

use serde::Deserialize;
use sweep_train::models::{self, ModelConfig, ModelError, vit_b16};
use tch::{Device, Kind, Tensor, nn};

use crate::support::{built, cfg};

fn counts(arch: &str, c: &ModelConfig) -> (u64, u64) {
    models::param_count(&built(arch, c).0)
}

#[test]
fn parameter_counts_equal_torchvision() {
    // (ours, torchvision model, torchvision's count at 3 channels, 1000
    // classes, 224 px; its count with a 1-channel stem and 14 outputs).
    let table = [
        ("resnet50", "resnet50", 25_557_032, 23_530_446),
        ("resnet152", "resnet152", 60_192_808, 58_166_222),
        ("densenet121", "densenet121", 7_978_856, 6_961_934),
        ("densenet161", "densenet161", 28_681_000, 26_493_518),
        ("densenet201", "densenet201", 20_013_928, 18_113_550),
        ("vit_b16", "vit_b_16", 86_567_656, 85_416_206),
    ];
    for (arch, tv, imagenet, grey14) in table {
        assert_eq!(
            counts(arch, &cfg(3, 1000, 224)),
            (imagenet, imagenet),
            "{arch} vs torchvision {tv}"
        );
        assert_eq!(
            counts(arch, &cfg(1, 14, 224)),
            (grey14, grey14),
            "{arch} vs torchvision {tv}, 1 channel, 14 outputs"
        );
    }
}

#[test]
fn lora_counts_frozen_base_in_the_total_only() {
    // Adapters: 12 layers x (q, v) x (8 x 768 + 768 x 8) = 294,912.
    let adapters: u64 = 294_912;
    for (c, k, total) in [
        (3, 1000, 86_567_656 + adapters),
        (3, 14, 86_104_334),
        (1, 14, 85_711_118),
    ] {
        let head = (768 * k + k) as u64;
        assert_eq!(
            counts("vit_b16_lora", &cfg(c, k, 224)),
            (total, adapters + head),
            "{c} channels, {k} outputs"
        );
    }
}

#[test]
fn cnn_stems_switch_to_torchvision_above_64px() {
    let stems = [
        ("resnet50", "conv1.weight", 64),
        ("resnet152", "conv1.weight", 64),
        ("densenet121", "features.conv0.weight", 64),
        ("densenet161", "features.conv0.weight", 96),
        ("densenet201", "features.conv0.weight", 64),
    ];
    for (arch, stem, width) in stems {
        for (size, kernel) in [(28, 3), (64, 3), (65, 7), (128, 7)] {
            let (vs, _model) = built(arch, &cfg(1, 2, size));
            assert_eq!(
                vs.variables()[stem].size(),
                [width, 1, kernel, kernel],
                "{arch} at {size} px"
            );
        }
    }
}

#[test]
fn small_stem_densenets_need_8px() {
    for arch in ["densenet121", "densenet161", "densenet201"] {
        let vs = nn::VarStore::new(Device::Cpu);
        let err = models::build(arch, &vs.root(), &cfg(1, 2, 7))
            .err()
            .unwrap();
        assert!(
            matches!(
                err,
                ModelError::InputTooSmall {
                    image_size: 7,
                    min: 8,
                    ..
                }
            ),
            "{arch}: {err}"
        );
    }
    let (_vs, model) = built("densenet121", &cfg(1, 2, 8));
    let xs = Tensor::randn([2, 1, 8, 8], (Kind::Float, Device::Cpu));
    for train in [false, true] {
        let out = tch::no_grad(|| model.forward_t(&xs, train));
        assert_eq!(out.size(), [2, 2]);
    }
}

#[test]
fn vit_patch_size_follows_the_image_size() {
    for (size, patch) in [
        (28, 4),
        (32, 4),
        (63, 4),
        (64, 8),
        (96, 8),
        (127, 8),
        (128, 16),
        (224, 16),
    ] {
        assert_eq!(vit_b16::patch_size(size), patch, "{size} px");
    }
    for (size, patch) in [(28, 4), (32, 4), (64, 8), (128, 16), (224, 16)] {
        let (vs, _model) = built("vit_b16", &cfg(1, 2, size));
        let vars = vs.variables();
        let tokens = (size / patch) * (size / patch);
        assert_eq!(vars["conv_proj.weight"].size(), [768, 1, patch, patch]);
        assert_eq!(
            vars["encoder.pos_embedding"].size(),
            [1, tokens + 1, 768],
            "{size} px"
        );
    }
}

#[test]
fn vit_refuses_sizes_that_patches_do_not_tile() {
    let vs = nn::VarStore::new(Device::Cpu);
    for arch in ["vit_b16", "vit_b16_lora"] {
        let err = models::build(arch, &vs.root(), &cfg(3, 2, 100))
            .err()
            .unwrap();
        match &err {
            ModelError::InvalidConfig { reason, .. } => {
                assert!(reason.contains("100") && reason.contains("8 px"), "{err}")
            }
            other => panic!("{arch}: {other}"),
        }
        let err = models::build(arch, &vs.root(), &cfg(3, 2, 3))
            .err()
            .unwrap();
        assert!(
            matches!(
                err,
                ModelError::InputTooSmall {
                    image_size: 3,
                    min: 4,
                    ..
                }
            ),
            "{err}"
        );
    }
    assert!(vs.is_empty());
}

// ---- same weights, same logits as torchvision ----------------------------

#[derive(Deserialize)]
struct Outputs {
    torch_version: String,
    torchvision_version: String,
    entries: Vec<OutputEntry>,
}

#[derive(Deserialize)]
struct OutputEntry {
    arch: String,
    in_channels: i64,
    num_outputs: i64,
    image_size: i64,
    eval_logits: Vec<Vec<f64>>,
    train_logits: Vec<Vec<f64>>,
}

/// `sin(step·i + 1e-4·i² + phase)`, exactly as `waveform` in
/// `fixtures/zoo_outputs.py` (same operations, in double precision).
fn waveform(n: i64, step: f64, phase: f64) -> Tensor {
    let t = Tensor::arange(n, (Kind::Double, Device::Cpu));
    (&t * step + &t * &t * 1e-4 + phase).sin()
}

/// The deterministic value of tensor `name`, as `fill` in `zoo_outputs.py`.
fn fill(name: &str, shape: &[i64]) -> Tensor {
    let n: i64 = shape.iter().product();
    let phase = (name.bytes().map(u64::from).sum::<u64>() % 997) as f64 * 0.01;
    let base = waveform(n, 0.37, phase);
    let values = if name.ends_with("running_var") {
        base * 0.25 + 1.0
    } else if name.ends_with("running_mean") {
        base * 0.1
    } else if shape.len() == 1 && name.ends_with("weight") {
        base * 0.1 + 1.0
    } else if shape.len() == 1 {
        base * 0.05
    } else {
        base * (2.0 * shape[0] as f64 / n as f64).sqrt()
    };
    values.reshape(shape).to_kind(Kind::Float)
}

fn images(c: i64, size: i64) -> Tensor {
    let n = c * size * size;
    let samples: Vec<Tensor> = (0..2)
        .map(|b| waveform(n, 0.11 * (b + 1) as f64, b as f64))
        .collect();
    Tensor::stack(&samples, 0)
        .to_kind(Kind::Float)
        .reshape([2, c, size, size])
}

/// Largest difference relative to the largest reference logit (at least 1).
fn relative_error(ours: &Tensor, reference: &[Vec<f64>]) -> f64 {
    let ours: Vec<Vec<f64>> = Vec::<Vec<f64>>::try_from(ours.to_kind(Kind::Double)).unwrap();
    assert_eq!(ours.len(), reference.len());
    let scale = reference
        .iter()
        .flatten()
        .fold(1.0_f64, |m, v| m.max(v.abs()));
    ours.iter()
        .zip(reference)
        .flat_map(|(a, b)| {
            assert_eq!(a.len(), b.len());
            a.iter().zip(b).map(|(x, y)| (x - y).abs())
        })
        .fold(0.0, f64::max)
        / scale
}

#[test]
fn logits_equal_torchvision_with_the_same_weights() {
    let fixture: Outputs =
        serde_json::from_str(include_str!("../fixtures/zoo_outputs.json")).expect("valid fixture");
    assert!(fixture.torch_version.starts_with("2.13.0"));
    assert!(fixture.torchvision_version.starts_with("0.28.0"));
    let zoo = [
        "resnet50",
        "resnet152",
        "densenet121",
        "densenet161",
        "densenet201",
        "vit_b16",
        "vit_b16_lora",
    ];
    for arch in zoo {
        assert!(fixture.entries.iter().any(|e| e.arch == arch), "{arch}");
    }
    for e in &fixture.entries {
        let c = cfg(e.in_channels, e.num_outputs, e.image_size);
        let (vs, model) = built(&e.arch, &c);
        tch::no_grad(|| {
            for (name, mut var) in vs.variables() {
                var.copy_(&fill(&name, &var.size()));
            }
        });
        let xs = images(e.in_channels, e.image_size);
        // Evaluation first: training mode updates the running statistics.
        let eval = tch::no_grad(|| model.forward_t(&xs, false));
        let train = tch::no_grad(|| model.forward_t(&xs, true));
        for (mode, ours, reference) in [
            ("eval", &eval, &e.eval_logits),
            ("train", &train, &e.train_logits),
        ] {
            let err = relative_error(ours, reference);
            assert!(
                err < 1e-4,
                "{} {c:?} {mode}: relative error {err:e}",
                e.arch
            );
        }
    }
}
