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
//!
//! The stem, the block and the trunk are shared with the deeper ResNets in
//! `layers`.

use tch::nn;

use super::layers::{Residual, resnet};
use super::{Model, ModelConfig, ModelError};

/// Largest image side that still gets the small-input stem.
pub use super::layers::SMALL_INPUT_MAX;

/// Basic blocks per stage.
const DEPTHS: [usize; 4] = [2, 2, 2, 2];

pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    Ok(resnet(p, cfg, Residual::Basic, DEPTHS))
}
