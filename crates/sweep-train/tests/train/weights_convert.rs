//! `weights_convert` against real torch: state dicts that the venv's torch
//! saves from torchvision-shaped modules with random values
//! (`scripts/make_test_weights.py`), converted and loaded into the zoo,
//! must give the logits torch computed for the same input. Covers a
//! torchvision ResNet-18 `.pth` and a ViT-B/16 saved in the Hugging Face
//! layout (query/key/value packed into torchvision's `in_proj`). Without a
//! python that imports torch the tests are recorded as skipped, with why.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sweep_data::weights::Layout;
use sweep_train::pretrained::load_pretrained;
use sweep_train::weights_convert::{ConvertError, convert};
use tch::{Kind, Tensor};

use crate::support::{built, cfg};
use crate::torch_python::{NO_TORCH, find_torch_python};

#[path = "../../../sweep-data/src/test_support/skip.rs"]
mod skip_record;

/// The venv's python with torch, or `None` (the test recorded as skipped).
pub(crate) fn torch_python() -> Option<std::path::PathBuf> {
    find_torch_python().or_else(|| {
        skip_record::skip(NO_TORCH);
        None
    })
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sweep-convert-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Deserialize)]
struct Expected {
    input_shape: Vec<i64>,
    input: Vec<f32>,
    logits: Vec<f32>,
}

/// Runs `scripts/make_test_weights.py KIND DIR` and reads what torch computed.
fn make(python: &Path, kind: &str, dir: &Path) -> Expected {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make_test_weights.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(kind)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap()
}

/// Loads `converted` into `arch` built for 3 channels, 10 classes and
/// `size` px, and returns its eval-mode logits for the expected input.
fn zoo_logits(arch: &str, size: i64, converted: &Path, expected: &Expected) -> Vec<f32> {
    let (mut vs, model) = built(arch, &cfg(3, 10, size));
    let report = load_pretrained(&mut vs, converted).unwrap();
    assert!(report.missing.is_empty(), "{report}");
    assert!(report.skipped_head.is_empty(), "{report}");
    assert!(report.unexpected.is_empty(), "{report}");
    let xs = Tensor::from_slice(&expected.input).reshape(&expected.input_shape);
    let logits = tch::no_grad(|| model.forward_t(&xs, false)).to_kind(Kind::Float);
    Vec::<f32>::try_from(logits.flatten(0, -1)).unwrap()
}

fn assert_close(ours: &[f32], torch: &[f32]) {
    assert_eq!(ours.len(), torch.len());
    let scale = torch.iter().fold(1f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in ours.iter().zip(torch).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * scale,
            "logit {i}: {a} here, {b} in torch (scale {scale})"
        );
    }
}

#[test]
fn a_torchvision_resnet18_checkpoint_gives_torchs_logits() {
    let Some(python) = torch_python() else { return };
    let dir = TempDir::new("resnet18");
    let expected = make(&python, "resnet18", dir.path());
    let dest = dir.path().join("converted.safetensors");
    let done = convert(
        &dir.path().join("weights.pth"),
        Layout::Torchvision,
        "resnet18",
        &dest,
    )
    .unwrap();
    assert_eq!(done.tensors, 102);
    assert_eq!(
        done.dropped.len(),
        20,
        "num_batches_tracked: {:?}",
        done.dropped
    );
    assert_eq!(
        (
            done.config.in_channels,
            done.config.num_outputs,
            done.config.image_size
        ),
        (3, 10, 224)
    );
    // 72 px keeps torchvision's 7x7 stem (at 64 px and below the zoo uses
    // its small-input stem, which the weights do not fit).
    assert_close(
        &zoo_logits("resnet18", 72, &dest, &expected),
        &expected.logits,
    );
}

#[test]
fn a_hugging_face_vit_gives_the_torchvision_layout_logits() {
    let Some(python) = torch_python() else { return };
    let dir = TempDir::new("vit");
    let expected = make(&python, "vit_hf", dir.path());
    let dest = dir.path().join("converted.safetensors");
    let done = convert(
        &dir.path().join("weights.bin"),
        Layout::HfVit,
        "vit_b16",
        &dest,
    )
    .unwrap();
    assert_eq!(
        done.dropped,
        ["vit.pooler.dense.bias", "vit.pooler.dense.weight"]
    );
    assert!(done.head_absent.is_empty());
    assert_close(
        &zoo_logits("vit_b16", 224, &dest, &expected),
        &expected.logits,
    );
}

#[test]
fn a_legacy_torch_save_file_is_refused_saying_how_to_fix_it() {
    let Some(python) = torch_python() else { return };
    let dir = TempDir::new("legacy");
    make(&python, "resnet18_legacy", dir.path());
    let dest = dir.path().join("converted.safetensors");
    let err = convert(
        &dir.path().join("weights.pth"),
        Layout::Torchvision,
        "resnet18",
        &dest,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("weights.pth: it is in PyTorch's legacy (before 1.6) serialization"),
        "{text}"
    );
    assert!(!dest.exists());
}

#[test]
fn a_file_that_is_not_a_state_dict_is_refused_naming_it() {
    let dir = TempDir::new("page");
    let src = dir.path().join("page.pth");
    std::fs::write(&src, b"<html>not found</html>").unwrap();
    let err = convert(
        &src,
        Layout::Torchvision,
        "resnet18",
        &dir.path().join("out.safetensors"),
    )
    .unwrap_err();
    assert!(matches!(err, ConvertError::Read { .. }), "{err}");
    assert!(err.to_string().contains("page.pth"), "{err}");
    assert!(!dir.path().join("out.safetensors").exists());
}
