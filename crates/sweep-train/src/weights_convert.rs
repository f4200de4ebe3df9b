//! Converting a published or user-supplied state dict into the safetensors
//! file a run loads: the zoo's own variable names, float32, every tensor
//! checked against the architecture.
//!
//! `sweep weights pull` and `sweep weights import` reach this through
//! `sweep-worker convert-weights` (the `sweep` binary does not link
//! libtorch). Reading a PyTorch `.pth`/`.bin` (a `torch.save` zip of a state
//! dict) needs libtorch's unpickler; safetensors files are read as well.
//!
//! Names: torchvision's already match the zoo, except DenseNet checkpoints
//! published with the old `norm.1`/`conv.2` names (renamed here as
//! torchvision's loader does) and ViTs saved with the old `mlp.linear_1`
//! names. Hugging Face ViT checkpoints ([`Layout::HfVit`]) are mapped onto
//! torchvision's layout, query, key and value concatenated into the packed
//! `in_proj` tensors in that order, as `torch.nn.MultiheadAttention` keeps
//! them. Batch-norm `num_batches_tracked` counters and a `module.` prefix
//! (DataParallel) are dropped.
//!
//! The check builds the architecture with the configuration the file implies
//! (input channels from the stem, outputs from the head, image size from
//! the stem or the position embeddings) and refuses a file with a tensor the
//! model does not have (a renamed one), a shape that differs (naming both),
//! or a model tensor the file lacks other than the classification head.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use sweep_data::weights::Layout;
use tch::{Device, Kind, Tensor, nn};

use crate::models::{self, ModelConfig};
use crate::pretrained::HEAD_LAYERS;

/// Why a file could not be converted; every message names the tensor or file.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(
        "cannot read {}: {message} (expected a PyTorch state dict saved with torch.save, or a safetensors file)",
        path.display()
    )]
    Read { path: PathBuf, message: String },
    #[error("{0}")]
    Model(#[from] models::ModelError),
    #[error(
        "tensor `{name}` is not a tensor of `{arch}`{hint}; the file is for another architecture or was renamed"
    )]
    Unexpected {
        name: String,
        arch: String,
        hint: String,
    },
    #[error("tensor `{name}` has shape {file_shape:?} in the file but {model_shape:?} in `{arch}`")]
    Shape {
        name: String,
        arch: String,
        file_shape: Vec<i64>,
        model_shape: Vec<i64>,
    },
    #[error("the file lacks {} tensor(s) of `{arch}`: {}", names.len(), names.join(", "))]
    Missing { arch: String, names: Vec<String> },
    #[error("Hugging Face ViT tensor `{0}` has no counterpart in torchvision's layout")]
    HfName(String),
    #[error("Hugging Face ViT layer {layer}: {what} is missing")]
    HfIncomplete { layer: String, what: String },
    #[error("cannot write {}: {message}", path.display())]
    Write { path: PathBuf, message: String },
}

/// What a conversion did.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// Tensors written.
    pub tensors: usize,
    /// Source tensors left out on purpose (counters, an HF pooler).
    pub dropped: Vec<String>,
    /// Head tensors the file lacks (they are initialised when a run starts).
    pub head_absent: Vec<String>,
    /// The configuration of the model the file fits.
    pub config: ModelConfig,
}

/// Reads every tensor of `path`: safetensors by extension, anything else as
/// a `torch.save` zip.
pub fn read_state_dict(path: &Path) -> Result<Vec<(String, Tensor)>, ConvertError> {
    let read = if path.extension().is_some_and(|e| e == "safetensors") {
        Tensor::read_safetensors(path)
    } else {
        Tensor::loadz_multi(path)
    };
    read.map_err(|e| ConvertError::Read {
        path: path.to_path_buf(),
        message: if is_legacy_torch_save(path) {
            "it is in PyTorch's legacy (before 1.6) serialization, which libtorch cannot \
             read; load it and save it again with torch.save in a current PyTorch"
                .to_string()
        } else {
            first_line(&e.to_string())
        },
    })
}

/// Whether `path` starts like a `torch.save` file of PyTorch before 1.6: a
/// bare pickle (protocol 2 or later) whose first object is the magic number
/// 0x1950a86a20f9469cfc6c, where current files are zip archives.
fn is_legacy_torch_save(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head));
    // PROTO n, then LONG1 of 10 bytes: the magic number, little-endian.
    const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
    read.is_ok() && head[0] == 0x80 && head[2] == 0x8a && head[3] == 10 && head[4..14] == MAGIC
}

/// libtorch's messages carry a C++ backtrace after the first line.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_string()
}

/// Converts `src` (laid out as `layout`) for `arch` and writes it to `dest`
/// atomically.
pub fn convert(
    src: &Path,
    layout: Layout,
    arch: &str,
    dest: &Path,
) -> Result<Converted, ConvertError> {
    let raw = read_state_dict(src)?;
    let mut dropped = Vec::new();
    let mut named: BTreeMap<String, Tensor> = BTreeMap::new();
    for (name, tensor) in raw {
        let name = name.strip_prefix("module.").unwrap_or(&name).to_string();
        if name.ends_with("num_batches_tracked") {
            dropped.push(name);
            continue;
        }
        named.insert(name, tensor);
    }
    let named = match layout {
        Layout::Torchvision => named
            .into_iter()
            .map(|(n, t)| (torchvision_name(&n), t))
            .collect(),
        Layout::HfVit => hf_vit_to_torchvision(named, &mut dropped)?,
    };
    let arch = sweep_data::weights::catalog::weights_arch(arch);
    let (config, head_absent) = check_against(arch, &named)?;
    let tensors: Vec<(String, Tensor)> = named
        .into_iter()
        .map(|(n, t)| (n, t.to_kind(Kind::Float).contiguous()))
        .collect();
    sweep_data::atomic::write_atomic_via_path(dest, |temp| {
        Tensor::write_safetensors(&tensors, temp).map_err(|e| std::io::Error::other(e.to_string()))
    })
    .map_err(|e| ConvertError::Write {
        path: dest.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(Converted {
        tensors: tensors.len(),
        dropped,
        head_absent,
        config,
    })
}

/// torchvision's current name for a tensor of one of its older checkpoints
/// (DenseNet `denselayerN.norm.1` → `norm1`; ViT `mlp.linear_1` → `mlp.0`).
pub fn torchvision_name(name: &str) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    let mut i = 0;
    while i < parts.len() {
        let old_dense = i >= 1
            && parts[i - 1].starts_with("denselayer")
            && matches!(parts[i], "norm" | "relu" | "conv")
            && matches!(parts.get(i + 1), Some(&"1") | Some(&"2"));
        if old_dense {
            out.push(format!("{}{}", parts[i], parts[i + 1]));
            i += 2;
            continue;
        }
        let mlp = i >= 1 && parts[i - 1] == "mlp";
        out.push(match parts[i] {
            "linear_1" if mlp => "0".to_string(),
            "linear_2" if mlp => "3".to_string(),
            other => other.to_string(),
        });
        i += 1;
    }
    out.join(".")
}

/// Maps a Hugging Face ViT state dict (with or without the `vit.` prefix of
/// `ViTForImageClassification`) onto torchvision's `vit_b_16` names.
pub fn hf_vit_to_torchvision(
    named: BTreeMap<String, Tensor>,
    dropped: &mut Vec<String>,
) -> Result<BTreeMap<String, Tensor>, ConvertError> {
    let mut out = BTreeMap::new();
    // layer → (weight|bias → [query, key, value])
    let mut qkv: BTreeMap<String, HashMap<&'static str, [Option<Tensor>; 3]>> = BTreeMap::new();
    for (full, tensor) in named {
        let name = full.strip_prefix("vit.").unwrap_or(&full);
        let simple = match name {
            "embeddings.cls_token" => Some("class_token".to_string()),
            "embeddings.position_embeddings" => Some("encoder.pos_embedding".to_string()),
            "embeddings.patch_embeddings.projection.weight" => Some("conv_proj.weight".into()),
            "embeddings.patch_embeddings.projection.bias" => Some("conv_proj.bias".into()),
            "layernorm.weight" => Some("encoder.ln.weight".into()),
            "layernorm.bias" => Some("encoder.ln.bias".into()),
            "classifier.weight" => Some("heads.head.weight".into()),
            "classifier.bias" => Some("heads.head.bias".into()),
            _ => None,
        };
        if let Some(simple) = simple {
            out.insert(simple, tensor);
            continue;
        }
        if name.starts_with("pooler.") {
            // torchvision's ViT-B/16 has no pre-logits layer.
            dropped.push(full.clone());
            continue;
        }
        let Some(rest) = name.strip_prefix("encoder.layer.") else {
            return Err(ConvertError::HfName(full.clone()));
        };
        let Some((layer, part)) = rest.split_once('.') else {
            return Err(ConvertError::HfName(full.clone()));
        };
        let Some((module, param)) = part.rsplit_once('.') else {
            return Err(ConvertError::HfName(full.clone()));
        };
        let param: &'static str = match param {
            "weight" => "weight",
            "bias" => "bias",
            _ => return Err(ConvertError::HfName(full.clone())),
        };
        let slot = match module {
            "attention.attention.query" => Some(0),
            "attention.attention.key" => Some(1),
            "attention.attention.value" => Some(2),
            _ => None,
        };
        if let Some(slot) = slot {
            qkv.entry(layer.to_string())
                .or_default()
                .entry(param)
                .or_default()[slot] = Some(tensor);
            continue;
        }
        let target = match module {
            "layernorm_before" => "ln_1",
            "layernorm_after" => "ln_2",
            "attention.output.dense" => "self_attention.out_proj",
            "intermediate.dense" => "mlp.0",
            "output.dense" => "mlp.3",
            _ => return Err(ConvertError::HfName(full.clone())),
        };
        out.insert(
            format!("encoder.layers.encoder_layer_{layer}.{target}.{param}"),
            tensor,
        );
    }
    for (layer, params) in qkv {
        for (param, parts) in params {
            let mut found = Vec::with_capacity(3);
            for (part, what) in parts.into_iter().zip(["query", "key", "value"]) {
                found.push(part.ok_or_else(|| ConvertError::HfIncomplete {
                    layer: layer.clone(),
                    what: format!("the {what} {param}"),
                })?);
            }
            out.insert(
                format!("encoder.layers.encoder_layer_{layer}.self_attention.in_proj_{param}"),
                Tensor::cat(&found, 0),
            );
        }
    }
    Ok(out)
}

/// The size a stem or patch projection implies: ViTs from the position
/// embeddings and patch size, CNNs 224 px for the 7x7 stem and 64 px for
/// the small-input 3x3 one.
fn implied_config(named: &BTreeMap<String, Tensor>) -> ModelConfig {
    let shape = |n: &str| named.get(n).map(Tensor::size);
    let stem = ["conv1.weight", "features.conv0.weight", "conv_proj.weight"]
        .into_iter()
        .find_map(shape);
    let head = ["fc.weight", "classifier.weight", "heads.head.weight"]
        .into_iter()
        .find_map(shape);
    let in_channels = stem.as_ref().and_then(|s| s.get(1).copied()).unwrap_or(3);
    let num_outputs = head
        .as_ref()
        .and_then(|s| s.first().copied())
        .unwrap_or(1000);
    let kernel = stem.as_ref().and_then(|s| s.get(2).copied()).unwrap_or(7);
    let image_size = match shape("encoder.pos_embedding") {
        Some(pos) if pos.len() == 3 => {
            let grid = ((pos[1] - 1) as f64).sqrt().round() as i64;
            grid * kernel
        }
        _ if kernel == 3 => crate::models::resnet18::SMALL_INPUT_MAX,
        _ => 224,
    };
    ModelConfig::new(in_channels, num_outputs, image_size)
}

/// Checks every tensor against `arch` built for the file's configuration;
/// returns that configuration and the head tensors the file lacks.
fn check_against(
    arch: &str,
    named: &BTreeMap<String, Tensor>,
) -> Result<(ModelConfig, Vec<String>), ConvertError> {
    let cfg = implied_config(named);
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = models::build(arch, &vs.root(), &cfg)?;
    let variables = vs.variables();
    let mut absent: Vec<&String> = variables
        .keys()
        .filter(|n| !named.contains_key(*n))
        .collect();
    absent.sort();
    for (name, tensor) in named {
        let Some(var) = variables.get(name) else {
            let hint = absent
                .iter()
                .find(|n| variables[**n].size() == tensor.size())
                .or(absent.first())
                .map_or(String::new(), |n| {
                    format!(
                        " (the model's `{n}` {:?} is not in the file)",
                        variables[*n].size()
                    )
                });
            return Err(ConvertError::Unexpected {
                name: name.clone(),
                arch: arch.to_string(),
                hint,
            });
        };
        if var.size() != tensor.size() {
            return Err(ConvertError::Shape {
                name: name.clone(),
                arch: arch.to_string(),
                file_shape: tensor.size(),
                model_shape: var.size(),
            });
        }
    }
    let is_head = |n: &str| {
        HEAD_LAYERS
            .iter()
            .any(|h| n.strip_prefix(h).is_some_and(|r| r.starts_with('.')))
    };
    let (head_absent, missing): (Vec<&String>, Vec<&String>) =
        absent.into_iter().partition(|n| is_head(n));
    if !missing.is_empty() {
        return Err(ConvertError::Missing {
            arch: arch.to_string(),
            names: missing.into_iter().cloned().collect(),
        });
    }
    Ok((cfg, head_absent.into_iter().cloned().collect()))
}

const USAGE: &str = "\
Usage: sweep-worker convert-weights --arch ARCH --layout torchvision|hf_vit SRC DEST

Converts the state dict SRC (torch.save zip or safetensors) into a
safetensors file DEST under the model zoo's names, checking every tensor
against ARCH. Prints one JSON line on success. Started by `sweep weights`.";

/// `sweep-worker convert-weights ...`: exit code 0 on success (one JSON line
/// on stdout), 1 on a refused file (the reason on stderr), 2 on usage errors.
pub fn command(args: &[String]) -> i32 {
    let mut arch = None;
    let mut layout = None;
    let mut paths = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--arch" => arch = it.next().cloned(),
            "--layout" => {
                layout = match it.next().map(String::as_str) {
                    Some("torchvision") => Some(Layout::Torchvision),
                    Some("hf_vit") => Some(Layout::HfVit),
                    _ => None,
                }
            }
            other => paths.push(PathBuf::from(other)),
        }
    }
    let (Some(arch), Some(layout), [src, dest]) = (arch, layout, paths.as_slice()) else {
        eprintln!("{USAGE}");
        return 2;
    };
    match convert(src, layout, &arch, dest) {
        Ok(done) => {
            let line = serde_json::json!({
                "tensors": done.tensors,
                "dropped": done.dropped,
                "head_absent": done.head_absent,
                "in_channels": done.config.in_channels,
                "num_outputs": done.config.num_outputs,
                "image_size": done.config.image_size,
            });
            println!("{line}");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_torchvision_names_are_renamed() {
        assert_eq!(
            torchvision_name("features.denseblock1.denselayer1.norm.1.weight"),
            "features.denseblock1.denselayer1.norm1.weight"
        );
        assert_eq!(
            torchvision_name("features.denseblock4.denselayer16.conv.2.weight"),
            "features.denseblock4.denselayer16.conv2.weight"
        );
        assert_eq!(
            torchvision_name("features.transition1.norm.weight"),
            "features.transition1.norm.weight"
        );
        assert_eq!(
            torchvision_name("encoder.layers.encoder_layer_0.mlp.linear_2.bias"),
            "encoder.layers.encoder_layer_0.mlp.3.bias"
        );
        assert_eq!(
            torchvision_name("layer1.0.conv1.weight"),
            "layer1.0.conv1.weight"
        );
    }

    #[test]
    fn hf_query_key_value_are_packed_in_that_order() {
        let mut named = BTreeMap::new();
        for (i, part) in ["query", "key", "value"].into_iter().enumerate() {
            let base = format!("vit.encoder.layer.0.attention.attention.{part}");
            named.insert(
                format!("{base}.weight"),
                Tensor::full([2, 2], i as f64, (Kind::Float, Device::Cpu)),
            );
            named.insert(
                format!("{base}.bias"),
                Tensor::full([2], i as f64, (Kind::Float, Device::Cpu)),
            );
        }
        named.insert(
            "pooler.dense.weight".into(),
            Tensor::zeros([2, 2], (Kind::Float, Device::Cpu)),
        );
        let mut dropped = Vec::new();
        let out = hf_vit_to_torchvision(named, &mut dropped).unwrap();
        let w = &out["encoder.layers.encoder_layer_0.self_attention.in_proj_weight"];
        assert_eq!(w.size(), [6, 2]);
        let firsts: Vec<f64> = (0..6).map(|r| w.double_value(&[r, 0])).collect();
        assert_eq!(firsts, [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
        assert_eq!(
            out["encoder.layers.encoder_layer_0.self_attention.in_proj_bias"].size(),
            [6]
        );
        assert_eq!(dropped, ["pooler.dense.weight"]);

        let mut partial = BTreeMap::new();
        partial.insert(
            "encoder.layer.3.attention.attention.query.weight".to_string(),
            Tensor::zeros([2, 2], (Kind::Float, Device::Cpu)),
        );
        let err = hf_vit_to_torchvision(partial, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Hugging Face ViT layer 3: the key weight is missing"
        );
        let mut odd = BTreeMap::new();
        odd.insert(
            "embeddings.mask_token".to_string(),
            Tensor::zeros([1], (Kind::Float, Device::Cpu)),
        );
        let err = hf_vit_to_torchvision(odd, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("`embeddings.mask_token`"), "{err}");
    }
}
