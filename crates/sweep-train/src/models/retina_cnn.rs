//! `retina_cnn`: the deeper batch-normalised CNN used for RetinaMNIST-style
//! grading studies. Four conv blocks (32/64/128/256, 3x3 same padding, batch
//! norm and ReLU after every conv, 2x2 max pooling after blocks 1–3), global
//! average pooling, a 128-unit dense layer with dropout 0.4, then logits.

use tch::nn;

use super::layers::{batch_norm, conv3x3, global_avg_pool, linear, max_pool2, require_size};
use super::{Model, ModelConfig, ModelError};

const WIDTHS: [i64; 4] = [32, 64, 128, 256];
const DROPOUT: f64 = 0.4;

pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    // Three 2x2 pools must leave at least one pixel.
    require_size("retina_cnn", cfg, 8)?;
    let mut c_in = cfg.in_channels;
    let mut blocks = Vec::with_capacity(WIDTHS.len());
    for (i, &width) in WIDTHS.iter().enumerate() {
        let conv = conv3x3(p / format!("conv{}", i + 1), c_in, width, 1);
        let bn = batch_norm(p / format!("bn{}", i + 1), width, cfg.batch_norm);
        blocks.push((conv, bn));
        c_in = width;
    }
    let fc1 = linear(p / "fc1", c_in, 128);
    let fc2 = linear(p / "fc2", 128, cfg.num_outputs);
    Ok(Box::new(nn::func_t(move |xs, train| {
        let mut xs = xs.shallow_clone();
        for (i, (conv, bn)) in blocks.iter().enumerate() {
            xs = xs.apply(conv).apply_t(bn, train).relu();
            if i + 1 < blocks.len() {
                xs = max_pool2(&xs);
            }
        }
        global_avg_pool(&xs)
            .apply(&fc1)
            .relu()
            .dropout(DROPOUT, train)
            .apply(&fc2)
    })))
}
