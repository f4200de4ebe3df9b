//! Layer constructors, size arithmetic and the trunks shared by the
//! architecture families (the ResNets and the DenseNets), so each
//! architecture file reads as its layer list or its depth table, every layer
//! is initialised the same way, and a fix to a block reaches every member of
//! its family.
//!
//! Initialisation: the constructors here draw tch's defaults (batch norm
//! with scale 1 and shift 0; convolutions and dense layers Kaiming-uniform
//! with the ReLU gain, bound `sqrt(6 / fan_in)`, zero conv biases, dense
//! biases uniform in `±1 / sqrt(fan_in)`), which `train.init: tch` keeps.
//! `train.init: torch` (the default) and `keras` redraw them afterwards in
//! [`super::init`]. `bench/models.py` (`init_like_tch`) reproduces tch's
//! for the PyTorch comparisons. Changing any of it changes results: bump
//! `TRAINER_VERSION`.
//!
//! Every batch norm takes its momentum and epsilon from
//! [`ModelConfig::batch_norm`] (`train.batch_norm`).

use sweep_core::spec::train_semantics::DENSENET_STANDARD_STEM_MIN_SIZE;
use sweep_core::train_options::{BatchNormParams, Stem as StemChoice};
use tch::{Tensor, nn};

use super::{Model, ModelConfig, ModelError};

/// 3x3 convolution with bias (stride 1).
pub(super) fn conv3x3(p: nn::Path, c_in: i64, c_out: i64, padding: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        padding,
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, 3, cfg)
}

/// Bias-free convolution, as used throughout ResNets.
pub(super) fn conv_no_bias(
    p: nn::Path,
    c_in: i64,
    c_out: i64,
    kernel: i64,
    stride: i64,
    padding: i64,
) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, kernel, cfg)
}

/// Batch norm initialised like PyTorch/Keras (scale 1, shift 0; tch's own
/// default draws the scale uniformly from [0, 1)), with the run's momentum
/// and epsilon.
pub(super) fn batch_norm(p: nn::Path, channels: i64, params: BatchNormParams) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        ws_init: nn::Init::Const(1.0),
        momentum: params.momentum,
        eps: params.eps,
        ..Default::default()
    };
    nn::batch_norm2d(p, channels, cfg)
}

pub(super) fn linear(p: nn::Path, c_in: i64, c_out: i64) -> nn::Linear {
    nn::linear(p, c_in, c_out, Default::default())
}

/// Global average pooling: `(N, C, H, W)` → `(N, C)`.
pub(super) fn global_avg_pool(xs: &Tensor) -> Tensor {
    xs.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
}

/// 2x2 max pooling with stride 2, flooring odd sizes.
pub(super) fn max_pool2(xs: &Tensor) -> Tensor {
    xs.max_pool2d_default(2)
}

/// Output side of an unpadded 3x3 convolution (stride 1).
pub(super) fn valid_conv3(size: i64) -> i64 {
    size - 2
}

/// Output side of a 2x2/2 max pool.
pub(super) fn pool2(size: i64) -> i64 {
    size / 2
}

/// Fails with [`ModelError::InputTooSmall`] below `min` pixels.
pub(super) fn require_size(
    arch: &'static str,
    cfg: &ModelConfig,
    min: i64,
) -> Result<(), ModelError> {
    if cfg.image_size < min {
        return Err(ModelError::InputTooSmall {
            arch,
            image_size: cfg.image_size,
            min,
        });
    }
    Ok(())
}

/// Largest image side that gets the small-input [`Stem`] under `stem: auto`.
pub const SMALL_INPUT_MAX: i64 = 64;

/// Whether `cfg` asks for the small stem: `stem: small`, or `auto` at
/// `image_size <= SMALL_INPUT_MAX`.
pub(super) fn small_stem(cfg: &ModelConfig) -> bool {
    match cfg.stem {
        StemChoice::Auto => cfg.image_size <= SMALL_INPUT_MAX,
        StemChoice::Small => true,
        StemChoice::Standard => false,
    }
}

/// The ImageNet-CNN stem of the ResNets and DenseNets: convolution, batch
/// norm, ReLU and a 3x3/2 max pool.
///
/// Under `stem: auto`, for `image_size <= SMALL_INPUT_MAX` the convolution
/// is 3x3 with stride 1 and there is no max pool, as in the usual
/// CIFAR/MedMNIST variants: the standard 7x7/2 convolution plus max pool
/// would shrink a 28 px image to 7 px before the first block, leaving 1 px
/// (ResNet) or nothing (DenseNet, whose transitions halve three more times)
/// for the last stage. Above that size the stem is torchvision's, so
/// ImageNet weights fit it. `stem: standard` and `stem: small` force one or
/// the other at any size (the standard one at 28 px is how an ImageNet
/// ResNet is fine-tuned on 28 px images).
pub(super) struct Stem {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
    max_pool: bool,
}

impl Stem {
    /// A stem with its convolution under `conv` and its batch norm under `bn`.
    pub(super) fn new(conv: nn::Path, bn: nn::Path, c_out: i64, cfg: &ModelConfig) -> Self {
        let small_input = small_stem(cfg);
        let conv = if small_input {
            conv_no_bias(conv, cfg.in_channels, c_out, 3, 1, 1)
        } else {
            conv_no_bias(conv, cfg.in_channels, c_out, 7, 2, 3)
        };
        Stem {
            conv,
            bn: batch_norm(bn, c_out, cfg.batch_norm),
            max_pool: !small_input,
        }
    }

    pub(super) fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut xs = xs.apply(&self.conv).apply_t(&self.bn, train);
        let _ = xs.relu_();
        if self.max_pool {
            xs.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false)
        } else {
            xs
        }
    }
}

/// The two residual blocks of He et al.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Residual {
    /// Two 3x3 convolutions (ResNet-18/34).
    Basic,
    /// 1x1 reduce, 3x3, 1x1 expand by four (ResNet-50/101/152). The stride
    /// sits on the 3x3 convolution, as in torchvision ("ResNet v1.5").
    Bottleneck,
}

impl Residual {
    /// Output channels per unit of stage width.
    fn expansion(self) -> i64 {
        match self {
            Residual::Basic => 1,
            Residual::Bottleneck => 4,
        }
    }
}

/// One residual block under `p` with torchvision's names: `conv1`/`bn1`,
/// `conv2`/`bn2` (and `conv3`/`bn3` for bottlenecks), plus `downsample.0`
/// (1x1 conv) and `downsample.1` (batch norm) when the shape changes.
fn residual_block(
    p: nn::Path,
    kind: Residual,
    (c_in, width, stride): (i64, i64, i64),
    bn: BatchNormParams,
) -> nn::FuncT<'static> {
    let c_out = width * kind.expansion();
    // (input channels, output channels, kernel, stride) along the main branch.
    let shapes = match kind {
        Residual::Basic => vec![(c_in, width, 3, stride), (width, width, 3, 1)],
        Residual::Bottleneck => vec![
            (c_in, width, 1, 1),
            (width, width, 3, stride),
            (width, c_out, 1, 1),
        ],
    };
    let branch: Vec<(nn::Conv2D, nn::BatchNorm)> = shapes
        .into_iter()
        .enumerate()
        .map(|(i, (ci, co, k, s))| {
            (
                conv_no_bias(&p / format!("conv{}", i + 1), ci, co, k, s, k / 2),
                batch_norm(&p / format!("bn{}", i + 1), co, bn),
            )
        })
        .collect();
    let downsample = (stride != 1 || c_in != c_out).then(|| {
        let ds = &p / "downsample";
        (
            conv_no_bias(&ds / "0", c_in, c_out, 1, stride, 0),
            batch_norm(&ds / "1", c_out, bn),
        )
    });
    // The ReLUs and the skip addition work in place on batch-norm outputs,
    // as torchvision's blocks do: batch norm's backward needs its input, not
    // its output, so autograd allows it, and it saves one activation-sized
    // allocation and pass over memory per operation.
    nn::func_t(move |xs, train| {
        let mut ys = xs.shallow_clone();
        for (i, (conv, bn)) in branch.iter().enumerate() {
            if i > 0 {
                let _ = ys.relu_();
            }
            ys = ys.apply(conv).apply_t(bn, train);
        }
        match &downsample {
            Some((conv, bn)) => ys += xs.apply(conv).apply_t(bn, train),
            None => ys += xs,
        };
        let _ = ys.relu_();
        ys
    })
}

/// A ResNet with torchvision's layout and names: [`Stem`] (`conv1`, `bn1`),
/// four stages `layer1`..`layer4` of `depths[i]` blocks of width 64·2^i (the
/// first block of stages 2–4 halves the resolution), global average pooling
/// and `fc` with `cfg.num_outputs` units.
pub(super) fn resnet(p: &nn::Path, cfg: &ModelConfig, kind: Residual, depths: [usize; 4]) -> Model {
    let stem = Stem::new(p / "conv1", p / "bn1", 64, cfg);
    let mut layers = nn::seq_t();
    let mut c_in = 64;
    for (i, &blocks) in depths.iter().enumerate() {
        let width = 64 << i;
        let stage = p / format!("layer{}", i + 1);
        for b in 0..blocks {
            let stride = if i > 0 && b == 0 { 2 } else { 1 };
            let shape = (c_in, width, stride);
            layers = layers.add(residual_block(&stage / b, kind, shape, cfg.batch_norm));
            c_in = width * kind.expansion();
        }
    }
    let fc = linear(p / "fc", c_in, cfg.num_outputs);
    Box::new(nn::func_t(move |xs, train| {
        global_avg_pool(&stem.forward_t(xs, train).apply_t(&layers, train)).apply(&fc)
    }))
}

/// Width and depth of a DenseNet (Huang et al. 2017, "DenseNet-BC").
#[derive(Debug, Clone, Copy)]
pub(super) struct DenseNetShape {
    /// Output channels of the stem.
    pub init_features: i64,
    /// Channels each dense layer adds.
    pub growth: i64,
    /// Dense layers in each of the four blocks.
    pub block_layers: [usize; 4],
}

/// Bottleneck width of a dense layer, in multiples of the growth rate.
const DENSE_BN_SIZE: i64 = 4;

/// Smallest image side a small-stem DenseNet accepts: the three transitions
/// halve the resolution (flooring) and must leave one pixel.
const DENSENET_MIN_SIZE: i64 = 8;

/// BN-ReLU-1x1 conv to `4·growth` channels, BN-ReLU-3x3 conv to `growth`.
struct DenseLayer {
    norm1: nn::BatchNorm,
    conv1: nn::Conv2D,
    norm2: nn::BatchNorm,
    conv2: nn::Conv2D,
}

impl DenseLayer {
    fn new(p: nn::Path, c_in: i64, growth: i64, bn: BatchNormParams) -> Self {
        let width = DENSE_BN_SIZE * growth;
        DenseLayer {
            norm1: batch_norm(&p / "norm1", c_in, bn),
            conv1: conv_no_bias(&p / "conv1", c_in, width, 1, 1, 0),
            norm2: batch_norm(&p / "norm2", width, bn),
            conv2: conv_no_bias(&p / "conv2", width, growth, 3, 1, 1),
        }
    }

    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        xs.apply_t(&self.norm1, train)
            .relu()
            .apply(&self.conv1)
            .apply_t(&self.norm2, train)
            .relu()
            .apply(&self.conv2)
    }
}

/// BN-ReLU-1x1 conv halving the channels, then 2x2/2 average pooling.
struct Transition {
    norm: nn::BatchNorm,
    conv: nn::Conv2D,
}

/// One dense block (each layer sees the concatenation of the block input and
/// every earlier layer's output) and the transition after it, if any.
struct DenseStage {
    layers: Vec<DenseLayer>,
    transition: Option<Transition>,
}

impl DenseStage {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut features = vec![xs.shallow_clone()];
        for layer in &self.layers {
            let ys = layer.forward_t(&Tensor::cat(&features, 1), train);
            features.push(ys);
        }
        let xs = Tensor::cat(&features, 1);
        match &self.transition {
            Some(t) => xs.apply_t(&t.norm, train).relu().apply(&t.conv).avg_pool2d(
                [2, 2],
                [2, 2],
                [0, 0],
                false,
                true,
                None::<i64>,
            ),
            None => xs,
        }
    }
}

/// A DenseNet with torchvision's layout and names: everything but the
/// classifier under `features` ([`Stem`] as `conv0`/`norm0`, then
/// `denseblock1`..`denseblock4` of `denselayerN` with `norm1`/`conv1`/`norm2`/
/// `conv2`, `transition1`..`transition3` with `norm`/`conv`, and `norm5`),
/// then ReLU, global average pooling and `classifier`.
pub(super) fn densenet(
    p: &nn::Path,
    cfg: &ModelConfig,
    arch: &'static str,
    shape: DenseNetShape,
) -> Result<Model, ModelError> {
    if small_stem(cfg) {
        require_size(arch, cfg, DENSENET_MIN_SIZE)?;
    } else {
        require_size(arch, cfg, i64::from(DENSENET_STANDARD_STEM_MIN_SIZE))?;
    }
    let f = p / "features";
    let stem = Stem::new(&f / "conv0", &f / "norm0", shape.init_features, cfg);
    let mut channels = shape.init_features;
    let mut stages = Vec::new();
    let last = shape.block_layers.len() - 1;
    for (i, &n) in shape.block_layers.iter().enumerate() {
        let block = &f / format!("denseblock{}", i + 1);
        let layers = (0..n)
            .map(|j| {
                let c_in = channels + j as i64 * shape.growth;
                let name = format!("denselayer{}", j + 1);
                DenseLayer::new(&block / name, c_in, shape.growth, cfg.batch_norm)
            })
            .collect();
        channels += n as i64 * shape.growth;
        let transition = (i < last).then(|| {
            let t = &f / format!("transition{}", i + 1);
            let transition = Transition {
                norm: batch_norm(&t / "norm", channels, cfg.batch_norm),
                conv: conv_no_bias(&t / "conv", channels, channels / 2, 1, 1, 0),
            };
            channels /= 2;
            transition
        });
        stages.push(DenseStage { layers, transition });
    }
    let norm5 = batch_norm(&f / "norm5", channels, cfg.batch_norm);
    let classifier = linear(p / "classifier", channels, cfg.num_outputs);
    Ok(Box::new(nn::func_t(move |xs, train| {
        let mut xs = stem.forward_t(xs, train);
        for stage in &stages {
            xs = stage.forward_t(&xs, train);
        }
        global_avg_pool(&xs.apply_t(&norm5, train).relu()).apply(&classifier)
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// Momentum in PyTorch's convention and epsilon reach the layer: one
    /// training step on [0, 1, 2, 3] (mean 1.5, biased variance 1.25,
    /// unbiased 5/3) from running statistics (0, 1).
    #[test]
    fn batch_norm_uses_the_runs_momentum_and_epsilon() {
        let vs = nn::VarStore::new(Device::Cpu);
        let params = BatchNormParams {
            momentum: 0.3,
            eps: 0.5,
        };
        let bn = batch_norm(vs.root() / "bn", 1, params);
        let xs = Tensor::from_slice(&[0.0f32, 1.0, 2.0, 3.0]).view([4, 1, 1, 1]);
        let ys = xs.apply_t(&bn, true);
        let top = ys.double_value(&[3, 0, 0, 0]);
        let want = 1.5 / (1.25f64 + 0.5).sqrt();
        assert!((top - want).abs() < 1e-5, "{top} vs {want}");
        let mean = bn.running_mean.double_value(&[0]);
        let var = bn.running_var.double_value(&[0]);
        assert!((mean - 0.3 * 1.5).abs() < 1e-6, "running mean {mean}");
        assert!(
            (var - (0.7 + 0.3 * 5.0 / 3.0)).abs() < 1e-6,
            "running var {var}"
        );
        assert_eq!(ys.kind(), Kind::Float);
    }
}
