//! Checks every registered architecture against its plain-PyTorch twin in
//! `fixtures/param_counts.py`: same parameter names, shapes and counts, same
//! batch-norm buffers. Regenerate `fixtures/param_counts.json` with that
//! script whenever an architecture changes on purpose.

use std::collections::BTreeMap;

use serde::Deserialize;
use sweep_train::models::{self, ModelConfig};
use tch::{Device, nn};

#[derive(Deserialize)]
struct Fixture {
    torch_version: String,
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    arch: String,
    in_channels: i64,
    num_outputs: i64,
    image_size: i64,
    total: u64,
    trainable: u64,
    parameters: BTreeMap<String, Vec<i64>>,
    buffers: Vec<String>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("../fixtures/param_counts.json")).expect("valid fixture")
}

#[test]
fn fixture_covers_every_registered_architecture() {
    let fixture = fixture();
    assert!(fixture.torch_version.starts_with("2.13.0"));
    for arch in models::names() {
        let seen: Vec<_> = fixture.entries.iter().filter(|e| e.arch == *arch).collect();
        assert!(seen.len() >= 4, "{arch} has {} fixture entries", seen.len());
        assert!(seen.iter().any(|e| e.in_channels == 1));
        assert!(seen.iter().any(|e| e.in_channels == 3));
    }
}

#[test]
fn parameters_match_the_pytorch_definitions() {
    for e in fixture().entries {
        let cfg = ModelConfig::new(e.in_channels, e.num_outputs, e.image_size);
        let label = format!("{} {cfg:?}", e.arch);
        let vs = nn::VarStore::new(Device::Cpu);
        let _model = models::build(&e.arch, &vs.root(), &cfg).unwrap();
        assert_eq!(models::param_count(&vs), (e.total, e.trainable), "{label}");

        let trainable: Vec<_> = vs.trainable_variables().iter().map(|t| t.size()).collect();
        let vars = vs.variables();
        let mut params = BTreeMap::new();
        let mut buffers = Vec::new();
        for (name, tensor) in &vars {
            if e.parameters.contains_key(name) {
                params.insert(name.clone(), tensor.size());
            } else {
                buffers.push(name.clone());
            }
        }
        buffers.sort();
        assert_eq!(params, e.parameters, "{label}: parameter names/shapes");
        assert_eq!(buffers, e.buffers, "{label}: buffers");
        assert_eq!(trainable.len(), e.parameters.len(), "{label}");
    }
}

#[test]
fn resnet18_standard_stem_is_torchvision_sized() {
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = ModelConfig::new(3, 1000, 224);
    let _model = models::build("resnet18", &vs.root(), &cfg).unwrap();
    assert_eq!(models::param_count(&vs), (11_689_512, 11_689_512));
    let vars = vs.variables();
    assert_eq!(vars["conv1.weight"].size(), [64, 3, 7, 7]);
    assert_eq!(vars["layer2.0.downsample.0.weight"].size(), [128, 64, 1, 1]);
    assert_eq!(vars["layer4.1.bn2.running_var"].size(), [512]);
    assert_eq!(vars["fc.weight"].size(), [1000, 512]);
}
