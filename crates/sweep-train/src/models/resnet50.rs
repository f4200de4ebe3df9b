//! `resnet50`: ResNet-50 (He et al. 2015), the bottleneck ResNet of the
//! ChestMNIST architecture study, with torchvision's variable names
//! (`conv1`, `bn1`, `layer1.0.conv1`..`conv3`, `layer1.0.downsample.0`, `fc`)
//! so its ImageNet weights load by name.
//!
//! Same adaptations as `resnet18`: `conv1` takes `in_channels`, `fc` has
//! `num_outputs` units, and images of at most 64 px get the 3x3 stride-1
//! stem without max pool. Above 64 px it is torchvision's `resnet50`
//! (25,557,032 parameters at 3 channels and 1000 classes).

use tch::nn;

use super::layers::{Residual, resnet};
use super::{Model, ModelConfig, ModelError};

/// Bottleneck blocks per stage.
const DEPTHS: [usize; 4] = [3, 4, 6, 3];

pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    Ok(resnet(p, cfg, Residual::Bottleneck, DEPTHS))
}
