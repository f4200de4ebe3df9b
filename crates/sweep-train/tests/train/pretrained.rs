//! `load_pretrained` with weight files written here by the models
//! themselves (`VarStore::save`, or `Tensor::write_safetensors` for edited
//! files): no download. Covers the head skipped on a class-count change,
//! refused shape mismatches elsewhere, missing and unused tensors, the
//! `.ot` format and precision conversion, and LoRA models keeping their
//! frozen base frozen.

use std::collections::HashMap;
use std::path::PathBuf;

use sweep_train::models;
use sweep_train::pretrained::{PretrainedError, SkippedTensor, load_pretrained};
use tch::{Device, Kind, Tensor, nn};

use crate::support::{built, cfg};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("sweep-pretrained-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn snapshot(vs: &nn::VarStore) -> HashMap<String, Tensor> {
    vs.variables()
        .into_iter()
        .map(|(name, t)| (name, t.detach().copy()))
        .collect()
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    out.sort();
    out
}

#[test]
fn a_new_class_count_skips_only_the_head() {
    let dir = TempDir::new("head");
    for (arch, head, width) in [
        ("resnet50", "fc", 2048),
        ("densenet121", "classifier", 1024),
    ] {
        let path = dir.file(&format!("{arch}.safetensors"));
        let (source, _model) = built(arch, &cfg(3, 10, 32));
        source.save(&path).unwrap();

        let (mut vs, _model) = built(arch, &cfg(3, 4, 32));
        let before = snapshot(&vs);
        let report = load_pretrained(&mut vs, &path).unwrap();
        let (bias, weight) = (format!("{head}.bias"), format!("{head}.weight"));
        assert_eq!(
            report.skipped_head,
            [
                SkippedTensor {
                    name: bias.clone(),
                    model_shape: vec![4],
                    file_shape: vec![10],
                },
                SkippedTensor {
                    name: weight.clone(),
                    model_shape: vec![4, width],
                    file_shape: vec![10, width],
                },
            ],
            "{arch}"
        );
        assert!(report.missing.is_empty() && report.unexpected.is_empty());
        let vars = vs.variables();
        assert_eq!(report.loaded.len(), vars.len() - 2);
        let file = source.variables();
        for name in &report.loaded {
            assert!(vars[name].equal(&file[name]), "{arch}: {name} not loaded");
        }
        // The head keeps the fresh initialisation it was built with.
        for name in [&bias, &weight] {
            assert!(vars[name].equal(&before[name]), "{arch}: {name}");
        }
        let line = report.to_string();
        assert!(line.contains(&weight) && line.contains("[10, "), "{line}");
    }
}

#[test]
fn same_configuration_loads_everything_and_computes_the_same_function() {
    let dir = TempDir::new("same");
    let path = dir.file("densenet121.safetensors");
    let c = cfg(1, 3, 32);
    let (source, source_model) = built("densenet121", &c);
    source.save(&path).unwrap();
    let (mut vs, model) = built("densenet121", &c);
    let report = load_pretrained(&mut vs, &path).unwrap();
    assert_eq!(report.loaded.len(), source.variables().len());
    assert!(report.skipped_head.is_empty() && report.missing.is_empty());
    assert!(
        report
            .loaded
            .iter()
            .any(|n| n == "features.norm0.running_var")
    );

    let xs = Tensor::randn([2, 1, 32, 32], (Kind::Float, Device::Cpu));
    let ours = tch::no_grad(|| model.forward_t(&xs, false));
    let theirs = tch::no_grad(|| source_model.forward_t(&xs, false));
    assert!(ours.equal(&theirs));
}

#[test]
fn other_shape_differences_fail_naming_the_tensor_and_both_shapes() {
    let dir = TempDir::new("shape");
    // (what, saved as, loaded as, tensor, model shape, file shape)
    let cases = [
        (
            "grey model, RGB weights",
            ("resnet18", cfg(3, 2, 28)),
            ("resnet18", cfg(1, 2, 28)),
            "conv1.weight",
            vec![64, 1, 3, 3],
            vec![64, 3, 3, 3],
        ),
        (
            "small-input stem, standard-stem weights",
            ("resnet50", cfg(3, 2, 96)),
            ("resnet50", cfg(3, 2, 32)),
            "conv1.weight",
            vec![64, 3, 3, 3],
            vec![64, 3, 7, 7],
        ),
        (
            "head whose input width differs",
            ("vanilla_cnn", cfg(1, 2, 28)),
            ("vanilla_cnn", cfg(1, 2, 32)),
            "fc1.weight",
            vec![512, 128 * 4 * 4],
            vec![512, 128 * 3 * 3],
        ),
    ];
    for (what, (saved_arch, saved_cfg), (arch, c), tensor, model_shape, file_shape) in cases {
        let path = dir.file(&format!("{saved_arch}.safetensors"));
        built(saved_arch, &saved_cfg).0.save(&path).unwrap();
        let (mut vs, _model) = built(arch, &c);
        let before = snapshot(&vs);
        let err = load_pretrained(&mut vs, &path).unwrap_err();
        let message = err.to_string();
        match err {
            PretrainedError::ShapeMismatch {
                name,
                model_shape: m,
                file_shape: f,
            } => {
                assert_eq!(
                    (name.as_str(), m, f),
                    (tensor, model_shape, file_shape),
                    "{what}"
                );
            }
            other => panic!("{what}: {other}"),
        }
        assert!(message.contains(tensor), "{message}");
        // Nothing was copied before the refusal.
        for (name, t) in vs.variables() {
            assert!(t.equal(&before[&name]), "{what}: {name} changed");
        }
    }
}

#[test]
fn missing_and_unused_tensors_are_listed() {
    let dir = TempDir::new("missing");
    let path = dir.file("edited.safetensors");
    let c = cfg(1, 2, 28);
    let (source, _model) = built("resnet18", &c);
    let dropped = ["fc.bias", "layer4.1.bn2.running_var"];
    let mut tensors: Vec<(String, Tensor)> = source
        .variables()
        .into_iter()
        .filter(|(name, _)| !dropped.contains(&name.as_str()))
        .collect();
    tensors.push((
        "layer1.0.bn1.num_batches_tracked".into(),
        Tensor::from(7i64),
    ));
    tensors.push((
        "aux_logits.fc.weight".into(),
        Tensor::ones([2, 4], (Kind::Float, Device::Cpu)),
    ));
    Tensor::write_safetensors(&tensors, &path).unwrap();

    let (mut vs, _model) = built("resnet18", &c);
    let before = snapshot(&vs);
    let report = load_pretrained(&mut vs, &path).unwrap();
    assert_eq!(report.missing, sorted(&dropped));
    assert_eq!(
        report.unexpected,
        sorted(&["aux_logits.fc.weight", "layer1.0.bn1.num_batches_tracked"])
    );
    assert_eq!(report.loaded.len(), source.variables().len() - 2);
    let vars = vs.variables();
    for name in dropped {
        assert!(vars[name].equal(&before[name]), "{name}");
    }
    let line = report.to_string();
    assert!(
        line.contains("2 missing from the file: fc.bias, layer4.1.bn2.running_var"),
        "{line}"
    );
}

#[test]
fn ot_files_and_half_precision_files_load_into_float_models() {
    let dir = TempDir::new("formats");
    let c = cfg(3, 5, 28);
    let (source, _model) = built("resnet18", &c);
    let file = source.variables();

    let ot = dir.file("weights.ot");
    source.save(&ot).unwrap();
    let (mut vs, _model) = built("resnet18", &c);
    let report = load_pretrained(&mut vs, &ot).unwrap();
    assert_eq!(report.loaded.len(), file.len());
    for (name, t) in vs.variables() {
        assert!(t.equal(&file[&name]), "{name}");
    }

    let half = dir.file("half.safetensors");
    let tensors: Vec<(String, Tensor)> = file
        .iter()
        .map(|(name, t)| (name.clone(), t.to_kind(Kind::Half)))
        .collect();
    Tensor::write_safetensors(&tensors, &half).unwrap();
    let (mut vs, _model) = built("resnet18", &c);
    load_pretrained(&mut vs, &half).unwrap();
    for (name, t) in vs.variables() {
        assert_eq!(t.kind(), Kind::Float, "{name}");
        assert!(t.allclose(&file[&name], 1e-2, 1e-3, false), "{name}");
    }
}

#[test]
fn unusable_files_are_refused() {
    let dir = TempDir::new("refused");
    let (mut vs, _model) = built("densenet121", &cfg(1, 2, 28));

    let pickle = dir.file("weights.pt");
    std::fs::write(&pickle, b"not read").unwrap();
    assert!(matches!(
        load_pretrained(&mut vs, &pickle),
        Err(PretrainedError::UnsupportedFormat { .. })
    ));

    let absent = dir.file("absent.safetensors");
    let err = load_pretrained(&mut vs, &absent).unwrap_err();
    assert!(matches!(err, PretrainedError::Read { .. }), "{err}");

    let other = dir.file("chest_cnn.safetensors");
    built("chest_cnn", &cfg(1, 2, 28)).0.save(&other).unwrap();
    let err = load_pretrained(&mut vs, &other).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, PretrainedError::NothingMatches { .. }),
        "{message}"
    );
    assert!(
        message.contains("`bn1.bias`") && message.contains("`classifier.bias`"),
        "{message}"
    );
}

#[test]
fn vit_weights_fill_the_frozen_base_of_the_lora_model() {
    let dir = TempDir::new("lora");
    let path = dir.file("vit_part.safetensors");
    // Part of a 10-class ViT (the full one is 340 MB): its stem, first
    // encoder layer and head.
    let (source, _model) = built("vit_b16", &cfg(3, 10, 28));
    let kept = |name: &str| {
        !name.starts_with("encoder.layers.") || name.starts_with("encoder.layers.encoder_layer_0.")
    };
    let tensors: Vec<(String, Tensor)> = source
        .variables()
        .into_iter()
        .filter(|(name, _)| kept(name))
        .collect();
    Tensor::write_safetensors(&tensors, &path).unwrap();

    let (mut vs, _model) = built("vit_b16_lora", &cfg(3, 3, 28));
    let report = load_pretrained(&mut vs, &path).unwrap();
    let skipped: Vec<&str> = report
        .skipped_head
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(skipped, ["heads.head.bias", "heads.head.weight"]);
    assert_eq!(report.loaded.len(), tensors.len() - 2);
    assert!(report.unexpected.is_empty());
    let adapters = report
        .missing
        .iter()
        .filter(|n| n.contains(".lora_"))
        .count();
    assert_eq!(adapters, 48);
    assert!(
        report
            .missing
            .iter()
            .all(|n| !kept(n) || n.contains(".lora_"))
    );

    let vars = vs.variables();
    let file = source.variables();
    for name in &report.loaded {
        assert!(vars[name].equal(&file[name]), "{name}");
        assert!(!vars[name].requires_grad(), "{name} was unfrozen");
    }
    for (name, t) in &vars {
        if name.contains(".lora_") || name.starts_with("heads.") {
            assert!(t.requires_grad(), "{name}");
        }
    }
    assert_eq!(models::param_count(&vs).1, 48 * 8 * 768 + 3 * 768 + 3);
}
