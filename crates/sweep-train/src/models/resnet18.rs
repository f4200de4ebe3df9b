//! `resnet18`: ResNet-18 (He et al. 2015) with torchvision's variable names
//! (`conv1`, `bn1`, `layer1`..`layer4` with `N.conv1`/`N.downsample.0`…, `fc`),
//! so published torchvision weights load by name into the same `nn::Path`.
//!
//! Adaptations for MedMNIST:
//! * `conv1` takes `in_channels` (1 or 3) and `fc` has `num_outputs` units;
//!   loading ImageNet weights then needs those two tensors skipped or adapted.
//! * For small inputs (`image_size <= 64`) the stem is a 3x3 stride-1 conv
//!   with no max pool, as in the usual CIFAR/MedMNIST ResNets: the standard
//!   7x7/2 conv plus 3x3/2 max pool would shrink a 28 px image to 7 px before
//!   the first residual block and to 1 px by `layer4`, discarding most of the
//!   spatial detail. Above 64 px the standard 7x7/2 stem and max pool are used,
//!   which keeps the architecture identical to torchvision (11,689,512
//!   parameters at 3 channels and 1000 classes).

use tch::nn;

use super::layers::{batch_norm, conv_no_bias, global_avg_pool, linear};
use super::{Model, ModelConfig, ModelError};

/// Largest image side that still gets the small-input stem.
pub const SMALL_INPUT_MAX: i64 = 64;

/// Output channels of `layer1`..`layer4`; the first block of layers 2–4
/// halves the resolution.
const STAGES: [i64; 4] = [64, 128, 256, 512];
const BLOCKS_PER_STAGE: usize = 2;

fn basic_block(p: nn::Path, c_in: i64, c_out: i64, stride: i64) -> nn::FuncT<'static> {
    let conv1 = conv_no_bias(&p / "conv1", c_in, c_out, 3, stride, 1);
    let bn1 = batch_norm(&p / "bn1", c_out);
    let conv2 = conv_no_bias(&p / "conv2", c_out, c_out, 3, 1, 1);
    let bn2 = batch_norm(&p / "bn2", c_out);
    let downsample = (stride != 1 || c_in != c_out).then(|| {
        let ds = &p / "downsample";
        (
            conv_no_bias(&ds / "0", c_in, c_out, 1, stride, 0),
            batch_norm(&ds / "1", c_out),
        )
    });
    nn::func_t(move |xs, train| {
        let ys = xs
            .apply(&conv1)
            .apply_t(&bn1, train)
            .relu()
            .apply(&conv2)
            .apply_t(&bn2, train);
        let skip = match &downsample {
            Some((conv, bn)) => xs.apply(conv).apply_t(bn, train),
            None => xs.shallow_clone(),
        };
        (ys + skip).relu()
    })
}

pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    let small_input = cfg.image_size <= SMALL_INPUT_MAX;
    let conv1 = if small_input {
        conv_no_bias(p / "conv1", cfg.in_channels, 64, 3, 1, 1)
    } else {
        conv_no_bias(p / "conv1", cfg.in_channels, 64, 7, 2, 3)
    };
    let bn1 = batch_norm(p / "bn1", 64);
    let mut layers = nn::seq_t();
    let mut c_in = 64;
    for (i, &c_out) in STAGES.iter().enumerate() {
        let stage = p / format!("layer{}", i + 1);
        for b in 0..BLOCKS_PER_STAGE {
            let stride = if i > 0 && b == 0 { 2 } else { 1 };
            layers = layers.add(basic_block(&stage / b, c_in, c_out, stride));
            c_in = c_out;
        }
    }
    let fc = linear(p / "fc", c_in, cfg.num_outputs);
    Ok(Box::new(nn::func_t(move |xs, train| {
        let mut xs = xs.apply(&conv1).apply_t(&bn1, train).relu();
        if !small_input {
            xs = xs.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        }
        global_avg_pool(&xs.apply_t(&layers, train)).apply(&fc)
    })))
}
