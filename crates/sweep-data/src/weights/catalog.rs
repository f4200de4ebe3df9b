//! The table of published pretrained weights `sweep weights` knows, and the
//! override file that points it elsewhere.
//!
//! Every zoo architecture with published ImageNet weights has an entry:
//! torchvision's ImageNet-1k checkpoints (their file names carry the first 8
//! hex digits of the file's SHA-256, which a download must match) and the
//! Hugging Face ViT-B/16 pretrained on ImageNet-21k (no digest could be
//! pinned: trust on first use, see [`super`]). `pretrained: imagenet` in an
//! experiment file means the entry marked default for the run's
//! architecture.
//!
//! `SWEEP_WEIGHTS_CATALOG` names a JSON file of entries that replace the
//! built-in ones with the same name or add new ones: a mirror with its own
//! files, or tests serving generated weights from 127.0.0.1 with their own
//! checksums. Its format is `{"entries": [{"name", "arch", "url",
//! "sha256_prefix", "layout", "default", "source"}]}`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Environment variable naming a catalogue override file.
pub const CATALOG_ENV: &str = "SWEEP_WEIGHTS_CATALOG";

/// The value of `pretrained:` that means "the default entry for this arch".
pub const IMAGENET: &str = "imagenet";

/// How the tensors of a published file are named and laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// torchvision's `state_dict()`: the zoo's own names (DenseNet's old
    /// `norm.1` style is renamed when converting).
    Torchvision,
    /// Hugging Face `ViTModel`/`ViTForImageClassification`: separate query,
    /// key and value projections, mapped onto torchvision's packed layout.
    HfVit,
}

impl Layout {
    /// `torchvision` or `hf_vit`, as the converter and override files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Torchvision => "torchvision",
            Layout::HfVit => "hf_vit",
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One published weights file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsEntry {
    /// What experiment files and commands call it (`resnet18_imagenet`).
    pub name: String,
    /// The zoo architecture the weights fit.
    pub arch: String,
    /// Where it comes from, in words.
    #[serde(default)]
    pub source: String,
    /// The download URL.
    pub url: String,
    /// Leading hex digits of the published file's SHA-256 (empty: none
    /// could be pinned; the converted file's digest is recorded on first pull).
    #[serde(default)]
    pub sha256_prefix: String,
    /// The published size in bytes, when known (shown, never checked).
    #[serde(default)]
    pub bytes: Option<u64>,
    pub layout: Layout,
    /// Whether `pretrained: imagenet` means this entry for its architecture.
    #[serde(default)]
    pub default: bool,
}

impl WeightsEntry {
    /// The file's name: the last segment of its URL (`resnet18-f37072fd.pth`).
    /// A mirror serves the file under this name.
    pub fn file_name(&self) -> &str {
        let path = self.url.split(['?', '#']).next().unwrap_or_default();
        path.rsplit('/').next().unwrap_or(path)
    }

    /// The URL under a mirror's base (`base` + `/` + [`Self::file_name`]), or
    /// the entry's own URL without a base.
    pub fn url_under(&self, base: Option<&str>) -> String {
        match base.filter(|b| !b.is_empty()) {
            Some(base) => {
                let slash = if base.ends_with('/') { "" } else { "/" };
                format!("{base}{slash}{}", self.file_name())
            }
            None => self.url.clone(),
        }
    }

    /// `true` when part of the published digest is pinned.
    pub fn is_pinned(&self) -> bool {
        !self.sha256_prefix.is_empty()
    }
}

/// A built-in torchvision entry: the hash prefix is the one in the file name,
/// the size torchvision's published one (in MiB, three decimals).
fn torchvision(name: &str, arch: &str, file: &str, weights: &str, mib: f64) -> WeightsEntry {
    let prefix = file
        .rsplit_once('-')
        .and_then(|(_, rest)| rest.split_once('.'))
        .map_or("", |(hash, _)| hash);
    WeightsEntry {
        name: name.to_string(),
        arch: arch.to_string(),
        source: format!("torchvision {weights}"),
        url: format!("https://download.pytorch.org/models/{file}"),
        sha256_prefix: prefix.to_string(),
        bytes: Some((mib * 1_048_576.0).round() as u64),
        layout: Layout::Torchvision,
        default: true,
    }
}

/// The built-in entries, in zoo order.
pub fn builtin() -> Vec<WeightsEntry> {
    let mut entries = vec![
        torchvision(
            "resnet18_imagenet",
            "resnet18",
            "resnet18-f37072fd.pth",
            "ResNet18_Weights.IMAGENET1K_V1",
            44.661,
        ),
        torchvision(
            "resnet50_imagenet",
            "resnet50",
            "resnet50-0676ba61.pth",
            "ResNet50_Weights.IMAGENET1K_V1",
            97.781,
        ),
        torchvision(
            "resnet152_imagenet",
            "resnet152",
            "resnet152-394f9c45.pth",
            "ResNet152_Weights.IMAGENET1K_V1",
            230.434,
        ),
        torchvision(
            "densenet121_imagenet",
            "densenet121",
            "densenet121-a639ec97.pth",
            "DenseNet121_Weights.IMAGENET1K_V1",
            30.845,
        ),
        torchvision(
            "densenet161_imagenet",
            "densenet161",
            "densenet161-8d451a50.pth",
            "DenseNet161_Weights.IMAGENET1K_V1",
            110.369,
        ),
        torchvision(
            "densenet201_imagenet",
            "densenet201",
            "densenet201-c1103571.pth",
            "DenseNet201_Weights.IMAGENET1K_V1",
            77.373,
        ),
        torchvision(
            "vit_b16_imagenet",
            "vit_b16",
            "vit_b_16-c867db91.pth",
            "ViT_B_16_Weights.IMAGENET1K_V1",
            330.285,
        ),
    ];
    entries.push(WeightsEntry {
        name: "vit_b16_in21k".to_string(),
        arch: "vit_b16".to_string(),
        source: "Hugging Face google/vit-base-patch16-224-in21k".to_string(),
        url: "https://huggingface.co/google/vit-base-patch16-224-in21k/resolve/main/pytorch_model.bin"
            .to_string(),
        sha256_prefix: String::new(),
        bytes: None,
        layout: Layout::HfVit,
        default: false,
    });
    entries
}

/// Why the catalogue could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{CATALOG_ENV}={}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{CATALOG_ENV}={}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    entries: Vec<WeightsEntry>,
}

/// The built-in entries with those of `override_file` (if any) replacing the
/// same names and appended otherwise.
pub fn load(override_file: Option<&Path>) -> Result<Vec<WeightsEntry>, CatalogError> {
    let mut entries = builtin();
    let Some(path) = override_file else {
        return Ok(entries);
    };
    let bytes = std::fs::read(path).map_err(|source| CatalogError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: OverrideFile = serde_json::from_slice(&bytes).map_err(|e| CatalogError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    for entry in file.entries {
        let prefix_ok = entry.sha256_prefix.is_empty()
            || ((8..=64).contains(&entry.sha256_prefix.len())
                && entry.sha256_prefix.bytes().all(|b| b.is_ascii_hexdigit()));
        if !prefix_ok {
            return Err(CatalogError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "entry `{}`: sha256_prefix `{}` is not 8 to 64 hexadecimal digits",
                    entry.name, entry.sha256_prefix
                ),
            });
        }
        match entries.iter_mut().find(|e| e.name == entry.name) {
            Some(existing) => *existing = entry,
            None => entries.push(entry),
        }
    }
    Ok(entries)
}

/// [`load`] with the override file named by `SWEEP_WEIGHTS_CATALOG`.
pub fn from_env() -> Result<Vec<WeightsEntry>, CatalogError> {
    let file = std::env::var_os(CATALOG_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    load(file.as_deref())
}

/// The architecture whose weights `arch` loads: LoRA ViTs start from the
/// plain ViT's weights.
pub fn weights_arch(arch: &str) -> &str {
    match arch {
        "vit_b16_lora" => "vit_b16",
        other => other,
    }
}

/// The entry named `name`; `imagenet` means the default entry for `arch`.
/// The error says what is known.
pub fn resolve<'a>(
    entries: &'a [WeightsEntry],
    name: &str,
    arch: &str,
) -> Result<&'a WeightsEntry, String> {
    let base = weights_arch(arch);
    if name == IMAGENET {
        return entries
            .iter()
            .find(|e| e.arch == base && e.default)
            .ok_or_else(|| {
                let with: Vec<&str> = entries
                    .iter()
                    .filter(|e| e.default)
                    .map(|e| e.arch.as_str())
                    .collect();
                format!(
                    "`{arch}` has no published ImageNet weights (architectures with them: {})",
                    with.join(", ")
                )
            });
    }
    let entry = entries
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| unknown_name(entries, name))?;
    if entry.arch != base {
        return Err(format!(
            "weights `{name}` are for `{}`, not `{arch}`",
            entry.arch
        ));
    }
    Ok(entry)
}

/// "unknown weights `x`; known: ...".
pub fn unknown_name(entries: &[WeightsEntry], name: &str) -> String {
    let known: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    format!("unknown weights `{name}`; known: {}", known.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torchvision_prefixes_come_from_the_file_names() {
        let entries = builtin();
        let r18 = entries
            .iter()
            .find(|e| e.name == "resnet18_imagenet")
            .unwrap();
        assert_eq!(r18.sha256_prefix, "f37072fd");
        assert_eq!(r18.file_name(), "resnet18-f37072fd.pth");
        assert_eq!(
            r18.url,
            "https://download.pytorch.org/models/resnet18-f37072fd.pth"
        );
        for e in entries.iter().filter(|e| e.layout == Layout::Torchvision) {
            assert_eq!(e.sha256_prefix.len(), 8, "{}", e.name);
            assert!(e.file_name().contains(&e.sha256_prefix), "{}", e.name);
        }
        let hf = entries.iter().find(|e| e.name == "vit_b16_in21k").unwrap();
        assert!(!hf.is_pinned());
        assert_eq!(hf.file_name(), "pytorch_model.bin");
    }

    #[test]
    fn every_zoo_arch_with_published_weights_has_one_default() {
        let entries = builtin();
        for arch in [
            "resnet18",
            "resnet50",
            "resnet152",
            "densenet121",
            "densenet161",
            "densenet201",
            "vit_b16",
        ] {
            let defaults = entries.iter().filter(|e| e.arch == arch && e.default);
            assert_eq!(defaults.count(), 1, "{arch}");
        }
        assert_eq!(
            resolve(&entries, IMAGENET, "vit_b16_lora").unwrap().name,
            "vit_b16_imagenet"
        );
        let err = resolve(&entries, IMAGENET, "chest_cnn").unwrap_err();
        assert!(
            err.contains("`chest_cnn` has no published ImageNet weights"),
            "{err}"
        );
        let err = resolve(&entries, "resnet18_imagenet", "resnet50").unwrap_err();
        assert_eq!(
            err,
            "weights `resnet18_imagenet` are for `resnet18`, not `resnet50`"
        );
        let err = resolve(&entries, "resnet19", "resnet18").unwrap_err();
        assert!(
            err.starts_with("unknown weights `resnet19`; known: resnet18_imagenet"),
            "{err}"
        );
    }

    #[test]
    fn mirrors_serve_the_file_name() {
        let entries = builtin();
        let e = &entries[0];
        assert_eq!(
            e.url_under(Some("http://127.0.0.1:8000/w")),
            "http://127.0.0.1:8000/w/resnet18-f37072fd.pth"
        );
        assert_eq!(e.url_under(None), e.url);
    }

    #[test]
    fn an_override_file_replaces_and_adds_entries() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("catalog.json");
        std::fs::write(
            &file,
            r#"{"entries": [
                {"name": "resnet18_imagenet", "arch": "resnet18", "url": "http://127.0.0.1:1/r.pth",
                 "sha256_prefix": "0123abcd", "layout": "torchvision", "default": true},
                {"name": "tiny", "arch": "resnet18", "url": "http://127.0.0.1:1/t.pth", "layout": "torchvision"}
            ]}"#,
        )
        .unwrap();
        let entries = load(Some(&file)).unwrap();
        assert_eq!(entries.len(), builtin().len() + 1);
        let r18 = resolve(&entries, IMAGENET, "resnet18").unwrap();
        assert_eq!(
            (r18.url.as_str(), r18.sha256_prefix.as_str()),
            ("http://127.0.0.1:1/r.pth", "0123abcd")
        );
        assert_eq!(
            resolve(&entries, "tiny", "resnet18").unwrap().file_name(),
            "t.pth"
        );

        std::fs::write(
            &file,
            r#"{"entries": [{"name": "x", "arch": "resnet18", "url": "u", "sha256_prefix": "zz", "layout": "torchvision"}]}"#,
        )
        .unwrap();
        let err = load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("entry `x`: sha256_prefix `zz`"), "{err}");
    }
}
