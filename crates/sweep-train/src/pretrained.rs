//! Loading published weights (such as torchvision's ImageNet checkpoints
//! pulled by `sweep weights pull`, see [`pretrained_file`]) into a freshly
//! built model, by variable name.
//!
//! tch's own `VarStore::load_partial` copies whatever matches, fails on the
//! first shape difference with libtorch's generic copy error, and converts
//! the model to the file's precision. Fine-tuning on MedMNIST needs more
//! care: the classification head of an ImageNet model has 1000 outputs
//! while a MedMNIST task has 2 to 14, so the head must be skipped (keeping
//! the fresh initialisation it was built with) and said so, while any other
//! shape difference means the file belongs to another architecture or
//! configuration and must fail naming the tensor and both shapes. Variables
//! the file lacks (LoRA adapters, say) keep their initialisation and are
//! listed, as are tensors of the file the model has no use for. The model
//! keeps its own precision and device, and frozen variables stay frozen.
//!
//! ViT weights published for 224 px fit the zoo's ViT at other sizes once
//! its position embeddings and patch projection are resampled
//! ([`resample`]); that is done here too, and reported like the head.

pub mod resample;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use sweep_core::train_options::Pretrained;
use sweep_data::weights::WeightsCache;
use tch::{Tensor, nn};

/// Layers that are a model's classification head in the architectures whose
/// weights are published: `fc` (ResNets), `classifier` (DenseNets) and
/// `heads.head` (ViTs). Only their tensors may differ from the file, and only
/// in the first (output) dimension.
pub const HEAD_LAYERS: &[&str] = &["fc", "classifier", "heads.head"];

/// A head tensor left at its initial values because the class count differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTensor {
    pub name: String,
    /// Shape in the model (`num_outputs` first).
    pub model_shape: Vec<i64>,
    /// Shape in the file.
    pub file_shape: Vec<i64>,
}

/// A tensor of the file resampled to the model's shape ([`resample`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResampledTensor {
    pub name: String,
    /// Shape in the model, which the copy has.
    pub model_shape: Vec<i64>,
    /// Shape in the file.
    pub file_shape: Vec<i64>,
}

/// What [`load_pretrained`] did; every list is sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Model variables overwritten from the file.
    pub loaded: Vec<String>,
    /// Head tensors whose class count differs; they keep the values the
    /// model was built with.
    pub skipped_head: Vec<SkippedTensor>,
    /// ViT tensors made for another image size, resampled to the model's
    /// and copied (not in `loaded`).
    pub resampled: Vec<ResampledTensor>,
    /// Model variables the file lacks; they keep the values the model was
    /// built with.
    pub missing: Vec<String>,
    /// File tensors with no model variable of that name.
    pub unexpected: Vec<String>,
}

impl fmt::Display for LoadReport {
    /// One line: counts, then the skipped, missing and unexpected names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loaded {} tensors", self.loaded.len())?;
        if !self.skipped_head.is_empty() {
            let skipped: Vec<String> = self
                .skipped_head
                .iter()
                .map(|s| format!("{} {:?} (file {:?})", s.name, s.model_shape, s.file_shape))
                .collect();
            write!(
                f,
                "; class count differs, head re-initialised: {}",
                skipped.join(", ")
            )?;
        }
        if !self.resampled.is_empty() {
            let resampled: Vec<String> = self
                .resampled
                .iter()
                .map(|r| format!("{} {:?} (file {:?})", r.name, r.model_shape, r.file_shape))
                .collect();
            write!(
                f,
                "; resampled to the model's image size: {}",
                resampled.join(", ")
            )?;
        }
        for (what, names) in [
            ("missing from the file", &self.missing),
            ("unused from the file", &self.unexpected),
        ] {
            if !names.is_empty() {
                write!(f, "; {} {what}: {}", names.len(), names.join(", "))?;
            }
        }
        Ok(())
    }
}

/// Why weights could not be loaded. Every name and shape check runs before
/// the first copy, so a refused file leaves the model untouched.
#[derive(Debug, thiserror::Error)]
pub enum PretrainedError {
    #[error("{}: unsupported weight file (expected .safetensors or .ot)", path.display())]
    UnsupportedFormat { path: PathBuf },
    #[error("cannot read {}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error(
        "tensor `{name}` has shape {file_shape:?} in the file but {model_shape:?} in the model; \
         the weights are for another architecture, input channel count or image size"
    )]
    ShapeMismatch {
        name: String,
        model_shape: Vec<i64>,
        file_shape: Vec<i64>,
    },
    #[error(
        "{}: no tensor name matches the model (file: {file_example}, model: {model_example}); \
         the weights are for another architecture or use another naming",
        path.display()
    )]
    NothingMatches {
        path: PathBuf,
        file_example: String,
        model_example: String,
    },
    #[error("copying `{name}`: {message}")]
    Copy { name: String, message: String },
}

/// Reads every named tensor of a safetensors (`.safetensors`) or tch/libtorch
/// (`.ot`) file, on the CPU.
pub fn read_weights(path: &Path) -> Result<Vec<(String, Tensor)>, PretrainedError> {
    let read = match path.extension().and_then(|e| e.to_str()) {
        Some("safetensors") => Tensor::read_safetensors(path),
        Some("ot") => Tensor::load_multi(path),
        _ => {
            return Err(PretrainedError::UnsupportedFormat {
                path: path.to_path_buf(),
            });
        }
    };
    read.map_err(|e| PretrainedError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The file `train.pretrained` names: a path as written, or the converted
/// file of cached weights (`sweep weights`), which must still have the
/// sha256 the run's key was computed with (`expected_sha256`).
pub fn pretrained_file(
    pretrained: &Pretrained,
    expected_sha256: Option<&str>,
) -> Result<PathBuf, String> {
    let name = match pretrained {
        Pretrained::Path(path) => return Ok(PathBuf::from(path)),
        Pretrained::Weights { weights } => weights,
    };
    let (path, actual) = WeightsCache::from_env()
        .usable(name)
        .map_err(|e| e.to_string())?;
    match expected_sha256 {
        Some(expected) if expected != actual => Err(format!(
            "{}: SHA-256 {actual}, but this run's key was computed for {expected}; plan the sweep again",
            path.display()
        )),
        _ => Ok(path),
    }
}

/// The file's tensor `name` resampled to `model_shape`, when it is a ViT
/// tensor that depends on the image size ([`resample`]).
fn resampled_for_model(name: &str, file: &Tensor, model_shape: &[i64]) -> Option<Tensor> {
    match name {
        resample::POSITION_EMBEDDING => resample::resample_position_embedding(file, model_shape),
        resample::PATCH_PROJECTION => resample::resample_patch_projection(file, model_shape),
        _ => None,
    }
}

/// Whether `name` is a tensor of one of the [`HEAD_LAYERS`].
fn is_head(name: &str) -> bool {
    HEAD_LAYERS.iter().any(|layer| {
        name.strip_prefix(layer)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|param| !param.contains('.'))
    })
}

/// Copies the tensors of `path` into the variables of `vs` with the same
/// name (see the module documentation for what is skipped, reported and
/// refused).
pub fn load_pretrained(vs: &mut nn::VarStore, path: &Path) -> Result<LoadReport, PretrainedError> {
    let file: HashMap<String, Tensor> = read_weights(path)?.into_iter().collect();
    let mut variables: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));

    let mut report = LoadReport::default();
    let mut copies: Vec<(&String, &Tensor, Tensor)> = Vec::new();
    for (name, var) in &variables {
        let Some(src) = file.get(name) else {
            report.missing.push(name.clone());
            continue;
        };
        let (model_shape, file_shape) = (var.size(), src.size());
        if model_shape == file_shape {
            report.loaded.push(name.clone());
            copies.push((name, var, src.shallow_clone()));
        } else if let Some(resampled) = resampled_for_model(name, src, &model_shape) {
            report.resampled.push(ResampledTensor {
                name: name.clone(),
                model_shape,
                file_shape,
            });
            copies.push((name, var, resampled));
        } else if is_head(name)
            && !model_shape.is_empty()
            && model_shape.len() == file_shape.len()
            && model_shape[1..] == file_shape[1..]
        {
            report.skipped_head.push(SkippedTensor {
                name: name.clone(),
                model_shape,
                file_shape,
            });
        } else {
            return Err(PretrainedError::ShapeMismatch {
                name: name.clone(),
                model_shape,
                file_shape,
            });
        }
    }
    if report.loaded.is_empty() && report.skipped_head.is_empty() && report.resampled.is_empty() {
        let mut file_names: Vec<&String> = file.keys().collect();
        file_names.sort();
        return Err(PretrainedError::NothingMatches {
            path: path.to_path_buf(),
            file_example: file_names
                .first()
                .map_or("no tensors".into(), |n| format!("`{n}`")),
            model_example: variables
                .first()
                .map_or("no variables".into(), |(n, _)| format!("`{n}`")),
        });
    }
    let known: HashSet<&String> = variables.iter().map(|(n, _)| n).collect();
    report.unexpected = file
        .keys()
        .filter(|name| !known.contains(name))
        .cloned()
        .collect();
    report.unexpected.sort();

    tch::no_grad(|| {
        for (name, var, src) in copies {
            // `copy_` converts to the variable's own kind and device.
            var.shallow_clone()
                .f_copy_(&src)
                .map_err(|e| PretrainedError::Copy {
                    name: name.clone(),
                    message: e.to_string(),
                })?;
        }
        Ok(report)
    })
}
