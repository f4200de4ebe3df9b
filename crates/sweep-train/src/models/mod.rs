//! Registry of the CNN architectures a sweep can name in its spec.
//!
//! Every architecture lives in its own file exposing
//! `pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError>`;
//! adding one means adding that file and its name to the `registry!` list
//! below. Models return raw logits: losses and metrics apply sigmoid/softmax.

use sweep_core::train_options::{BatchNormParams, Stem};
use tch::nn;

mod init;
mod layers;
pub mod torchscript;

pub use init::{governed_by_init_option, initialise, initialise_layers};

/// A built network: `forward_t(images, train)` maps `(N, C, H, W)` float
/// images to `(N, num_outputs)` logits.
pub type Model = Box<dyn nn::ModuleT + Send>;

type Builder = fn(&nn::Path, &ModelConfig) -> Result<Model, ModelError>;

/// Declares one module per architecture and the name → builder table, so the
/// list of names cannot drift from the list of modules.
macro_rules! registry {
    ($($arch:ident),+ $(,)?) => {
        $(pub mod $arch;)+
        const REGISTRY: &[(&str, Builder)] = &[$((stringify!($arch), $arch::build)),+];
        const NAMES: &[&str] = &[$(stringify!($arch)),+];
    };
}

registry! {
    chest_cnn,
    retina_cnn,
    derma_cnn,
    small_cnn,
    vanilla_cnn,
    resnet18,
    resnet50,
    resnet152,
    densenet121,
    densenet161,
    densenet201,
    vit_b16,
    vit_b16_lora,
}

/// Shape of the problem a model is built for, and the layer settings a run
/// chooses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelConfig {
    /// Image channels: 1 (grey) or 3 (RGB) for MedMNIST.
    pub in_channels: i64,
    /// Number of logits: classes, or labels for multi-label tasks.
    pub num_outputs: i64,
    /// Side of the square input images in pixels (28, 64, 128 or 224).
    pub image_size: i64,
    /// Momentum and epsilon of every batch norm (`train.batch_norm`).
    pub batch_norm: BatchNormParams,
    /// The stem of the ResNets and DenseNets (`train.stem`).
    pub stem: Stem,
}

impl ModelConfig {
    /// A problem shape with the default layer settings (PyTorch's batch
    /// norm, the automatic stem).
    pub fn new(in_channels: i64, num_outputs: i64, image_size: i64) -> Self {
        ModelConfig {
            in_channels,
            num_outputs,
            image_size,
            batch_norm: BatchNormParams::default(),
            stem: Stem::Auto,
        }
    }
}

/// Why a model could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("unknown architecture `{name}` (known: {})", NAMES.join(", "))]
    UnknownArch { name: String },
    #[error("invalid config for `{arch}`: {reason}")]
    InvalidConfig { arch: &'static str, reason: String },
    #[error("`{arch}` needs images of at least {min} px, got {image_size} px")]
    InputTooSmall {
        arch: &'static str,
        image_size: i64,
        min: i64,
    },
    /// A saved TorchScript module that cannot be loaded, or does not fit
    /// the dataset (`arch: {torchscript: PATH}`).
    #[error("TorchScript module {}: {reason}", file.display())]
    TorchScript {
        file: std::path::PathBuf,
        reason: String,
    },
}

/// Builds architecture `arch` with its variables under `p`.
pub fn build(arch: &str, p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    let (name, builder) = REGISTRY
        .iter()
        .find(|(name, _)| *name == arch)
        .ok_or_else(|| ModelError::UnknownArch {
            name: arch.to_owned(),
        })?;
    for (field, value) in [
        ("in_channels", cfg.in_channels),
        ("num_outputs", cfg.num_outputs),
        ("image_size", cfg.image_size),
    ] {
        if value < 1 {
            return Err(ModelError::InvalidConfig {
                arch: name,
                reason: format!("{field} must be at least 1, got {value}"),
            });
        }
    }
    builder(p, cfg)
}

/// Names accepted by [`build`], in registry order.
pub fn names() -> &'static [&'static str] {
    NAMES
}

/// `(total, trainable)` parameter counts of everything in `vs`, counted the
/// way PyTorch's `model.parameters()` does: batch-norm running statistics are
/// buffers and excluded; frozen parameters count towards `total` only.
pub fn param_count(vs: &nn::VarStore) -> (u64, u64) {
    // `trainable_variables` keeps frozen parameters (with gradients off) and
    // never holds buffers such as batch-norm running statistics.
    vs.trainable_variables()
        .iter()
        .fold((0, 0), |(total, trainable), t| {
            let n = t.numel() as u64;
            let counted = if t.requires_grad() { n } else { 0 };
            (total + n, trainable + counted)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    fn cfg(in_channels: i64, num_outputs: i64, image_size: i64) -> ModelConfig {
        ModelConfig::new(in_channels, num_outputs, image_size)
    }

    fn output_shape(arch: &str, c: &ModelConfig, train: bool) -> Vec<i64> {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = build(arch, &vs.root(), c).unwrap();
        let xs = Tensor::randn(
            [2, c.in_channels, c.image_size, c.image_size],
            (Kind::Float, Device::Cpu),
        );
        tch::no_grad(|| model.forward_t(&xs, train)).size()
    }

    #[test]
    fn every_arch_gives_logits_at_28px_for_grey_and_rgb() {
        for arch in names() {
            for (c, k) in [(1, 2), (3, 7)] {
                let config = cfg(c, k, 28);
                assert_eq!(
                    output_shape(arch, &config, false),
                    [2, k],
                    "{arch} {config:?}"
                );
                assert_eq!(
                    output_shape(arch, &config, true),
                    [2, k],
                    "{arch} {config:?}"
                );
            }
        }
    }

    /// Blocks that work in place (ReLU and skip additions on batch-norm
    /// outputs) must leave autograd what it saved: a backward pass through
    /// every architecture gives every trainable parameter a finite gradient.
    #[test]
    fn every_arch_backpropagates_to_every_trainable_parameter() {
        for arch in names() {
            let vs = nn::VarStore::new(Device::Cpu);
            let model = build(arch, &vs.root(), &cfg(3, 2, 28)).unwrap();
            let xs = Tensor::randn([2, 3, 28, 28], (Kind::Float, Device::Cpu));
            let loss = model.forward_t(&xs, true).square().mean(Kind::Float);
            let params: Vec<Tensor> = vs
                .trainable_variables()
                .into_iter()
                .filter(Tensor::requires_grad)
                .collect();
            assert!(!params.is_empty(), "{arch}");
            for grad in Tensor::run_backward(&[loss], &params, false, false) {
                assert!(grad.defined(), "{arch}: a parameter got no gradient");
                let total = grad.abs().sum(Kind::Double).double_value(&[]);
                assert!(total.is_finite(), "{arch}: gradient {total}");
            }
        }
    }

    #[test]
    fn cheap_archs_give_logits_at_64_and_128px() {
        for arch in ["chest_cnn", "retina_cnn", "derma_cnn", "small_cnn"] {
            for size in [64, 128] {
                let config = cfg(3, 5, size);
                assert_eq!(output_shape(arch, &config, false), [2, 5], "{arch} {size}");
            }
        }
        assert_eq!(output_shape("vanilla_cnn", &cfg(1, 3, 64), false), [2, 3]);
        assert_eq!(output_shape("resnet18", &cfg(1, 3, 64), false), [2, 3]);
        assert_eq!(output_shape("resnet18", &cfg(3, 4, 96), false), [2, 4]);
    }

    /// The variables of `arch` built on the CPU.
    fn built(arch: &str, c: &ModelConfig) -> nn::VarStore {
        let vs = nn::VarStore::new(Device::Cpu);
        build(arch, &vs.root(), c).unwrap();
        vs
    }

    /// Eval-mode logits of a fresh `arch` on `xs`.
    fn logits_of(arch: &str, c: &ModelConfig, xs: &Tensor) -> Tensor {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = build(arch, &vs.root(), c).unwrap();
        tch::no_grad(|| model.forward_t(xs, false))
    }

    /// `stem: standard` forces torchvision's stem at any size (so ImageNet
    /// weights load at 28 px) and `stem: small` the small one above 64 px.
    #[test]
    fn stem_choice_overrides_the_size_rule() {
        let with_stem = |c: ModelConfig, stem| ModelConfig { stem, ..c };
        let stems = [
            ("resnet18", "conv1.weight"),
            ("resnet152", "conv1.weight"),
            ("densenet121", "features.conv0.weight"),
        ];
        for (arch, stem) in stems {
            let vs = built(arch, &with_stem(cfg(3, 2, 32), Stem::Standard));
            assert_eq!(vs.variables()[stem].size()[2..], [7, 7], "{arch} standard");
            let vs = built(arch, &with_stem(cfg(3, 2, 96), Stem::Small));
            assert_eq!(vs.variables()[stem].size()[2..], [3, 3], "{arch} small");
        }
    }

    /// At 28 px the standard stem leaves a ResNet 7 px before `layer1` and
    /// 1 px in `layer4`: valid logits. A DenseNet's three transitions halve
    /// the 7 px to nothing, so it needs 29 px (what the spec also refuses).
    #[test]
    fn the_standard_stem_at_28px_gives_logits_for_resnets_only() {
        let standard = |size| ModelConfig {
            stem: Stem::Standard,
            ..cfg(3, 14, size)
        };
        let xs = Tensor::randn([2, 3, 28, 28], (Kind::Float, Device::Cpu));
        for arch in ["resnet18", "resnet50", "resnet152"] {
            let logits = logits_of(arch, &standard(28), &xs);
            assert_eq!(logits.size(), [2, 14], "{arch}");
            assert!(
                logits.isfinite().all().int64_value(&[]) == 1,
                "{arch}: non-finite logits"
            );
        }
        let min = i64::from(sweep_core::spec::train_semantics::DENSENET_STANDARD_STEM_MIN_SIZE);
        for arch in ["densenet121", "densenet161", "densenet201"] {
            let vs = nn::VarStore::new(Device::Cpu);
            let err = build(arch, &vs.root(), &standard(28)).err().unwrap();
            assert_eq!(
                err,
                ModelError::InputTooSmall {
                    arch,
                    image_size: 28,
                    min
                }
            );
            let xs = Tensor::randn([2, 3, min, min], (Kind::Float, Device::Cpu));
            let logits = logits_of(arch, &standard(min), &xs);
            assert_eq!(logits.size(), [2, 14], "{arch} at {min} px");
        }
    }

    /// The spec's list of architectures with a stem choice is exactly the
    /// set whose layers `stem` changes.
    #[test]
    fn the_stem_option_reaches_exactly_the_spec_s_stem_archs() {
        let shapes = |arch: &str, stem| {
            let vs = built(
                arch,
                &ModelConfig {
                    stem,
                    ..cfg(3, 2, 64)
                },
            );
            let mut shapes: Vec<(String, Vec<i64>)> = vs
                .variables()
                .into_iter()
                .map(|(name, t)| (name, t.size()))
                .collect();
            shapes.sort();
            shapes
        };
        let with_choice: Vec<&str> = names()
            .iter()
            .copied()
            .filter(|arch| shapes(arch, Stem::Small) != shapes(arch, Stem::Standard))
            .collect();
        assert_eq!(with_choice, Stem::ARCHS);
    }

    #[test]
    fn unknown_arch_lists_the_known_ones() {
        let vs = nn::VarStore::new(Device::Cpu);
        let err = build("lenet", &vs.root(), &cfg(1, 2, 28)).err().unwrap();
        assert_eq!(
            err,
            ModelError::UnknownArch {
                name: "lenet".into()
            }
        );
        let msg = err.to_string();
        for arch in names() {
            assert!(msg.contains(arch), "{msg}");
        }
    }

    #[test]
    fn non_positive_dimensions_are_rejected() {
        let vs = nn::VarStore::new(Device::Cpu);
        for bad in [cfg(0, 2, 28), cfg(1, 0, 28), cfg(1, 2, -28)] {
            let err = build("chest_cnn", &vs.root(), &bad).err().unwrap();
            assert!(
                matches!(
                    err,
                    ModelError::InvalidConfig {
                        arch: "chest_cnn",
                        ..
                    }
                ),
                "{err}"
            );
        }
        assert!(vs.is_empty());
    }

    #[test]
    fn too_small_inputs_are_rejected_with_the_minimum() {
        let vs = nn::VarStore::new(Device::Cpu);
        let cases = [
            ("chest_cnn", 3, 4),
            ("retina_cnn", 7, 8),
            ("derma_cnn", 15, 16),
            ("small_cnn", 9, 10),
        ];
        for (arch, size, min) in cases {
            let err = build(arch, &vs.root(), &cfg(1, 2, size)).err().unwrap();
            assert!(
                matches!(err, ModelError::InputTooSmall { image_size, min: m, .. } if image_size == size && m == min),
                "{arch}: {err}"
            );
            assert_eq!(output_shape(arch, &cfg(1, 2, min), false), [2, 2], "{arch}");
        }
    }

    #[test]
    fn param_count_separates_frozen_parameters_and_skips_buffers() {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let _model = build("small_cnn", &vs.root(), &cfg(1, 2, 28)).unwrap();
        // conv1 320 + conv2 18_496 + fc1 1600*128+128 + fc2 258
        let expected = 320 + 18_496 + 204_928 + 258;
        assert_eq!(param_count(&vs), (expected, expected));
        vs.freeze();
        assert_eq!(param_count(&vs), (expected, 0));

        let vs = nn::VarStore::new(Device::Cpu);
        let _model = build("chest_cnn", &vs.root(), &cfg(1, 2, 28)).unwrap();
        let buffers: i64 = vs
            .variables()
            .iter()
            .filter(|(name, _)| name.contains("running_"))
            .map(|(_, t)| t.numel() as i64)
            .sum();
        assert_eq!(buffers, 2 * (32 + 64 + 128));
        assert_eq!(param_count(&vs).0, 126_402);
    }
}
