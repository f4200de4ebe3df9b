//! `small_cnn`: the two-block baseline CNN (Keras MNIST-example style).
//! Conv 32 and conv 64 (3x3, unpadded, as Keras' default `valid` padding),
//! each followed by ReLU and 2x2 max pooling, then flatten, a 128-unit dense
//! layer with dropout 0.5, and the logits.
//!
//! At 28 px the feature map is 64·5·5 (28 → 26 → 13 → 11 → 5); the flattened
//! width follows `image_size`, and inputs below 10 px are refused.

use tch::nn;

use super::layers::{conv3x3, linear, max_pool2, pool2, require_size, valid_conv3};
use super::{Model, ModelConfig, ModelError};

const DROPOUT: f64 = 0.5;

pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    require_size("small_cnn", cfg, 10)?;
    let s = pool2(valid_conv3(pool2(valid_conv3(cfg.image_size))));
    let conv1 = conv3x3(p / "conv1", cfg.in_channels, 32, 0);
    let conv2 = conv3x3(p / "conv2", 32, 64, 0);
    let fc1 = linear(p / "fc1", 64 * s * s, 128);
    let fc2 = linear(p / "fc2", 128, cfg.num_outputs);
    Ok(Box::new(nn::func_t(move |xs, train| {
        let xs = max_pool2(&xs.apply(&conv1).relu());
        let xs = max_pool2(&xs.apply(&conv2).relu());
        xs.flatten(1, -1)
            .apply(&fc1)
            .relu()
            .dropout(DROPOUT, train)
            .apply(&fc2)
    })))
}
