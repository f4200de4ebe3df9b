//! `densenet121`: DenseNet-121 (Huang et al. 2017), one of the three DenseNets
//! of the ChestMNIST architecture study, with torchvision's variable names
//! (`features.conv0`, `features.denseblock1.denselayer1.norm1`,
//! `features.transition1.conv`, `features.norm5`, `classifier`) so its
//! ImageNet weights load by name.
//!
//! Adaptations for MedMNIST: `features.conv0` takes `in_channels`, the
//! `classifier` has `num_outputs` units, and images of at most 64 px get
//! the 3x3 stride-1 stem without max pool (the standard stem would leave
//! nothing for the last dense block at 28 px); such images need at least
//! 8 px. Above 64 px it is torchvision's `densenet121` (7,978,856 parameters
//! at 3 channels and 1000 classes).

use tch::nn;

use super::layers::{DenseNetShape, densenet};
use super::{Model, ModelConfig, ModelError};

const SHAPE: DenseNetShape = DenseNetShape {
    init_features: 64,
    growth: 32,
    block_layers: [6, 12, 24, 16],
};

pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    densenet(p, cfg, "densenet121", SHAPE)
}
