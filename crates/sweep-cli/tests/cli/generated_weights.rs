//! Stand-ins for the catalogue's published weights, so that the studies
//! which fine-tune from them run in their smoke form without a download.
//!
//! For each catalogue name a study uses, the zoo's own model is built the way
//! the published file was made (3 channels, ImageNet's 1000 classes, 224 px,
//! torchvision's stem and 16 px ViT patches), freshly initialised with random
//! values, saved as safetensors, and put into a temporary weights folder with
//! `sweep weights import FILE --arch ARCH --name NAME`, as a user with a file
//! of their own would. Importing under a catalogue name checks the published
//! SHA-256 prefix, which generated files cannot have, so the catalogue is
//! overridden (`SWEEP_WEIGHTS_CATALOG`) by the built-in entries with their
//! prefixes cleared (trust on first use); everything else about the names,
//! including which entry `pretrained: imagenet` resolves to, is the
//! catalogue's.
//!
//! The weights are made once per test process, on first use.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sweep_core::train_options::Stem;
use sweep_data::weights::catalog;
use sweep_train::models::{self, ModelConfig};

use crate::common::{sweep_with_env, text};

/// The catalogue names (with their architecture) that the shipped studies
/// fine-tune from.
pub(crate) const STUDY_WEIGHTS: &[(&str, &str)] = &[
    ("resnet18_imagenet", "resnet18"),
    ("resnet50_imagenet", "resnet50"),
    ("resnet152_imagenet", "resnet152"),
    ("densenet121_imagenet", "densenet121"),
    ("densenet161_imagenet", "densenet161"),
    ("densenet201_imagenet", "densenet201"),
    ("vit_b16_in21k", "vit_b16"),
];

/// A weights folder holding [`STUDY_WEIGHTS`], and the catalogue override
/// they were imported under.
pub(crate) struct GeneratedWeights {
    _dir: tempfile::TempDir,
    weights_dir: PathBuf,
    catalog: PathBuf,
    /// How long making and importing them took.
    pub(crate) took: Duration,
}

impl GeneratedWeights {
    /// The environment under which `sweep` finds these weights.
    pub(crate) fn env(&self) -> [(&'static str, &str); 2] {
        [
            ("SWEEP_WEIGHTS_DIR", self.weights_dir.to_str().unwrap()),
            (catalog::CATALOG_ENV, self.catalog.to_str().unwrap()),
        ]
    }
}

/// The generated weights of this test process (made on the first call).
pub(crate) fn generated_weights() -> &'static GeneratedWeights {
    static WEIGHTS: OnceLock<GeneratedWeights> = OnceLock::new();
    WEIGHTS.get_or_init(generate)
}

/// The built-in catalogue entries of [`STUDY_WEIGHTS`] with their published
/// prefixes cleared, as an override file.
fn write_unpinned_catalog(path: &Path) {
    let entries: Vec<catalog::WeightsEntry> = catalog::builtin()
        .into_iter()
        .filter(|e| STUDY_WEIGHTS.iter().any(|(name, _)| e.name == *name))
        .map(|e| catalog::WeightsEntry {
            sha256_prefix: String::new(),
            ..e
        })
        .collect();
    assert_eq!(
        entries.len(),
        STUDY_WEIGHTS.len(),
        "catalogue names changed"
    );
    let json = serde_json::json!({ "entries": entries });
    std::fs::write(path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
}

/// Saves `arch` as published (3 channels, 1000 classes, 224 px, standard
/// stem), freshly initialised, to `path` (safetensors).
fn save_fresh_model(arch: &str, path: &Path) {
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let stem = if Stem::ARCHS.contains(&arch) {
        Stem::Standard
    } else {
        Stem::Auto
    };
    let cfg = ModelConfig {
        stem,
        ..ModelConfig::new(3, 1000, 224)
    };
    models::build(arch, &vs.root(), &cfg).unwrap();
    vs.save(path).unwrap();
}

fn generate() -> GeneratedWeights {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let weights_dir = dir.path().join("weights");
    let catalog = dir.path().join("catalog.json");
    write_unpinned_catalog(&catalog);
    for (name, arch) in STUDY_WEIGHTS {
        let source = dir.path().join(format!("{name}.safetensors"));
        save_fresh_model(arch, &source);
        let out = sweep_with_env(
            &[
                "weights",
                "import",
                source.to_str().unwrap(),
                "--arch",
                arch,
                "--name",
                name,
            ],
            &[
                ("SWEEP_WEIGHTS_DIR", weights_dir.to_str().unwrap()),
                (catalog::CATALOG_ENV, catalog.to_str().unwrap()),
            ],
        );
        assert!(out.status.success(), "import {name}: {}", text(&out));
        std::fs::remove_file(&source).unwrap();
    }
    let took = started.elapsed();
    eprintln!(
        "generated weights for {} catalogue names in {:.1} s",
        STUDY_WEIGHTS.len(),
        took.as_secs_f64()
    );
    GeneratedWeights {
        _dir: dir,
        weights_dir,
        catalog,
        took,
    }
}
