//! `resnet152`: ResNet-152 (He et al. 2015), the deepest ResNet of the
//! ChestMNIST architecture study, with torchvision's variable names so its
//! ImageNet weights load by name.
//!
//! Same adaptations as `resnet18`: `conv1` takes `in_channels`, `fc` has
//! `num_outputs` units, and images of at most 64 px get the 3x3 stride-1
//! stem without max pool. Above 64 px it is torchvision's `resnet152`
//! (60,192,808 parameters at 3 channels and 1000 classes).

use tch::nn;

use super::layers::{Residual, resnet};
use super::{Model, ModelConfig, ModelError};

/// Bottleneck blocks per stage.
const DEPTHS: [usize; 4] = [3, 8, 36, 3];

pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    Ok(resnet(p, cfg, Residual::Bottleneck, DEPTHS))
}
