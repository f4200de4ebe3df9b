//! `chest_cnn`: the compact batch-normalised CNN used for ChestMNIST-style
//! multi-label studies. Three conv blocks (32/64/128, 3x3 same padding, the
//! first two max-pooled), global average pooling, then two 128-unit dense
//! layers with dropout 0.4 before the output logits.
//!
//! Global pooling makes the parameter count independent of the image size.

use tch::nn;

use super::layers::{batch_norm, conv3x3, global_avg_pool, linear, max_pool2, require_size};
use super::{Model, ModelConfig, ModelError};

const DROPOUT: f64 = 0.4;

pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    // Two 2x2 pools must leave at least one pixel.
    require_size("chest_cnn", cfg, 4)?;
    let conv1 = conv3x3(p / "conv1", cfg.in_channels, 32, 1);
    let bn1 = batch_norm(p / "bn1", 32, cfg.batch_norm);
    let conv2 = conv3x3(p / "conv2", 32, 64, 1);
    let bn2 = batch_norm(p / "bn2", 64, cfg.batch_norm);
    let conv3 = conv3x3(p / "conv3", 64, 128, 1);
    let bn3 = batch_norm(p / "bn3", 128, cfg.batch_norm);
    let fc1 = linear(p / "fc1", 128, 128);
    let fc2 = linear(p / "fc2", 128, 128);
    let fc3 = linear(p / "fc3", 128, cfg.num_outputs);
    Ok(Box::new(nn::func_t(move |xs, train| {
        let xs = max_pool2(&xs.apply(&conv1).apply_t(&bn1, train).relu());
        let xs = max_pool2(&xs.apply(&conv2).apply_t(&bn2, train).relu());
        let xs = global_avg_pool(&xs.apply(&conv3).apply_t(&bn3, train).relu());
        xs.apply(&fc1)
            .relu()
            .dropout(DROPOUT, train)
            .apply(&fc2)
            .relu()
            .dropout(DROPOUT, train)
            .apply(&fc3)
    })))
}
