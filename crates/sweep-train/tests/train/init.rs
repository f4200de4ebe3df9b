//! `train.init`: every architecture starts from the chosen framework's
//! per-layer distribution, and `init: torch` from the same spread as
//! modules PyTorch initialised itself (`fixtures/init_torch.json`, written
//! by `scripts/init_fixtures.py`; committed so the test runs without
//! Python, and regenerated only when PyTorch's defaults change).
//!
//! A test binary of its own (see Cargo.toml): it builds every architecture
//! three times and draws heavily from torch's shared generator, which would
//! disturb the seeded tests of the main test binary.
//!
//! A uniform distribution on ±b has standard deviation b/√3, and the sample
//! standard deviation of n draws has a relative standard error of about
//! √(0.8/(4n)) ≈ 0.45/√n; the tolerances are six of those.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

use std::collections::HashMap;

use serde::Deserialize;
use sweep_core::train_options::Init;
use sweep_train::models::{self, governed_by_init_option, initialise, initialise_layers};
use tch::{Device, Kind, Tensor, nn};

/// A model configuration from its three numbers.
fn cfg(in_channels: i64, num_outputs: i64, image_size: i64) -> models::ModelConfig {
    models::ModelConfig::new(in_channels, num_outputs, image_size)
}

/// Relative standard error of the sample std of `n` uniform draws.
fn relative_se(n: i64) -> f64 {
    (0.8 / (4.0 * n as f64)).sqrt()
}

fn std_and_max(t: &Tensor) -> (f64, f64) {
    let t = t.to_kind(Kind::Double);
    (
        t.std(false).double_value(&[]),
        t.abs().max().double_value(&[]),
    )
}

/// The weight and bias bounds `init` prescribes for a layer with these fans
/// (`None`: a zero bias).
fn expected_bounds(init: Init, fan_in: f64, fan_out: f64, conv: bool) -> (f64, Option<f64>) {
    match init {
        Init::Torch => (1.0 / fan_in.sqrt(), Some(1.0 / fan_in.sqrt())),
        Init::Keras => ((6.0 / (fan_in + fan_out)).sqrt(), None),
        Init::Tch => ((6.0 / fan_in).sqrt(), (!conv).then(|| 1.0 / fan_in.sqrt())),
    }
}

/// Checks one uniformly drawn tensor against its bound `b`.
fn check_uniform(label: &str, t: &Tensor, bound: f64) {
    let (std, max) = std_and_max(t);
    assert!(
        max <= bound * (1.0 + 1e-6),
        "{label}: |value| {max} > bound {bound}"
    );
    let n = t.numel() as i64;
    if n >= 64 {
        let want = bound / 3f64.sqrt();
        let tolerance = 6.0 * relative_se(n) * want;
        assert!(
            (std - want).abs() <= tolerance,
            "{label}: std {std}, expected {want} ± {tolerance}"
        );
    }
}

/// Every variable of `vs` is a convolution or dense layer, or a batch norm,
/// and starts as `init` says.
fn check_all_layers(arch: &str, vs: &nn::VarStore, init: Init) {
    let variables = vs.variables();
    for (name, t) in &variables {
        let label = format!("{arch} {init:?} {name}");
        let (layer, leaf) = name.rsplit_once('.').unwrap();
        let is_bn = variables.contains_key(&format!("{layer}.running_mean"));
        if is_bn {
            let want = match leaf {
                "weight" | "running_var" => 1.0,
                "bias" | "running_mean" => 0.0,
                other => panic!("{label}: unexpected batch-norm variable {other}"),
            };
            let off = (t - want).abs().max().double_value(&[]);
            assert_eq!(off, 0.0, "{label}: not all {want}");
            continue;
        }
        let weight = &variables[&format!("{layer}.weight")];
        let shape = weight.size();
        let rf: i64 = shape[2..].iter().product();
        let conv = shape.len() == 4;
        assert!(conv || shape.len() == 2, "{label}: neither conv nor dense");
        let (fan_in, fan_out) = ((shape[1] * rf) as f64, (shape[0] * rf) as f64);
        let (w_bound, b_bound) = expected_bounds(init, fan_in, fan_out, conv);
        match leaf {
            "weight" => check_uniform(&label, t, w_bound),
            "bias" => match b_bound {
                Some(b) => {
                    check_uniform(&label, t, b);
                    assert!(t.abs().max().double_value(&[]) > 0.0, "{label}: all zero");
                }
                None => assert_eq!(t.abs().max().double_value(&[]), 0.0, "{label}"),
            },
            other => panic!("{label}: unexpected variable {other}"),
        }
    }
}

/// `arch` built at 28 px with `init` applied. Not seeded: the statistics
/// hold for any draw, and reseeding torch's shared generator would disturb
/// the other tests of this binary.
fn built_with(arch: &str, init: Init) -> nn::VarStore {
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = models::build(arch, &vs.root(), &cfg(3, 5, 28)).unwrap();
    initialise(&vs, arch, init);
    vs
}

#[test]
fn every_architecture_starts_from_the_chosen_frameworks_formula() {
    for arch in models::names() {
        if !governed_by_init_option(arch) {
            continue;
        }
        for init in Init::ALL {
            check_all_layers(arch, &built_with(arch, init), init);
        }
    }
}

/// The ViTs copy torchvision's own initialisation (and LoRA's for the
/// adapters), which `train.init` leaves alone: applying any option after
/// building changes no weight.
#[test]
fn the_vits_keep_their_reference_initialisation() {
    for arch in ["vit_b16", "vit_b16_lora"] {
        assert!(!governed_by_init_option(arch));
        let vs = built_with(arch, Init::Tch);
        let before: HashMap<String, Tensor> = vs
            .variables()
            .into_iter()
            .map(|(name, t)| (name, t.copy()))
            .collect();
        for init in [Init::Torch, Init::Keras] {
            initialise(&vs, arch, init);
            for (name, t) in vs.variables() {
                assert!(t.equal(&before[&name]), "{arch} {init:?}: {name} changed");
            }
        }
    }
}

#[derive(Deserialize)]
struct Fixture {
    seeds: i64,
    layers: HashMap<String, HashMap<String, Spread>>,
}

#[derive(Deserialize)]
struct Spread {
    shape: Vec<i64>,
    std: f64,
}

/// Builds one fixture layer with tch under `p`.
fn build_layer(p: nn::Path, name: &str) {
    let conv = |c_in, c_out, k, bias| {
        let cfg = nn::ConvConfig {
            bias,
            padding: k / 2,
            ..Default::default()
        };
        nn::conv2d(&p / name, c_in, c_out, k, cfg);
    };
    let linear = |c_in, c_out| {
        nn::linear(&p / name, c_in, c_out, Default::default());
    };
    match name {
        "conv_grey_3x3" => conv(1, 32, 3, true),
        "conv_rgb_3x3" => conv(3, 32, 3, true),
        "conv_32_64_3x3" => conv(32, 64, 3, true),
        "conv_stem_7x7" => conv(3, 64, 7, false),
        "conv_256_64_1x1" => conv(256, 64, 1, false),
        "linear_128_128" => linear(128, 128),
        "linear_512_14" => linear(512, 14),
        "linear_2048_14" => linear(2048, 14),
        "bn_64" => {
            nn::batch_norm2d(&p / name, 64, Default::default());
        }
        other => panic!("fixture layer {other} unknown to this test"),
    }
}

#[test]
fn torch_init_spreads_like_pytorchs_own_modules() {
    let fixture: Fixture =
        serde_json::from_str(include_str!("../fixtures/init_torch.json")).unwrap();
    assert!(fixture.layers.len() >= 9, "fixture went missing");
    for (layer, params) in &fixture.layers {
        // The mean over as many seeds as PyTorch had, per parameter.
        let mut mean_std: HashMap<String, f64> = HashMap::new();
        for _ in 0..fixture.seeds {
            let vs = nn::VarStore::new(Device::Cpu);
            build_layer(vs.root(), layer);
            initialise_layers(&vs, Init::Torch);
            for (name, spread) in params {
                let t = &vs.variables()[&format!("{layer}.{name}")];
                assert_eq!(t.size(), spread.shape, "{layer}.{name}");
                *mean_std.entry(name.clone()).or_default() +=
                    std_and_max(t).0 / fixture.seeds as f64;
            }
        }
        for (name, spread) in params {
            let got = mean_std[name];
            let n: i64 = spread.shape.iter().product();
            // Both sides average `seeds` draws; their difference has √2 the
            // standard error of one side.
            let tolerance = 6.0 * relative_se(n * fixture.seeds) * 2f64.sqrt() * spread.std + 1e-12;
            assert!(
                (got - spread.std).abs() <= tolerance,
                "{layer}.{name}: std {got}, PyTorch {} ± {tolerance}",
                spread.std
            );
        }
    }
}
