//! `derma_cnn`: the DermaMNIST reference CNN. Four unpadded 3x3 convs
//! (16, 16, 64, 64), each with batch norm and ReLU, 2x2 max pooling after the
//! second and fourth, then a flattening MLP `64·s·s → 128 → 128 → outputs`.
//!
//! The original ran at 28 px: 28 → 26 → 24 → 12 → 10 → 8 → 4, so s = 4. The
//! same arithmetic is applied to `image_size`, so the first dense layer grows
//! with the input; inputs below 16 px leave nothing to flatten and are refused.

use tch::nn;

use super::layers::{batch_norm, conv3x3, linear, max_pool2, pool2, require_size, valid_conv3};
use super::{Model, ModelConfig, ModelError};

const WIDTHS: [i64; 4] = [16, 16, 64, 64];
const MIN_SIZE: i64 = 16;

/// Side of the last feature map for a `size`-pixel input.
fn feature_side(size: i64) -> i64 {
    let s = pool2(valid_conv3(valid_conv3(size)));
    pool2(valid_conv3(valid_conv3(s)))
}

pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    require_size("derma_cnn", cfg, MIN_SIZE)?;
    let s = feature_side(cfg.image_size);
    let mut c_in = cfg.in_channels;
    let mut blocks = Vec::with_capacity(WIDTHS.len());
    for (i, &width) in WIDTHS.iter().enumerate() {
        let conv = conv3x3(p / format!("conv{}", i + 1), c_in, width, 0);
        let bn = batch_norm(p / format!("bn{}", i + 1), width, cfg.batch_norm);
        blocks.push((conv, bn));
        c_in = width;
    }
    let fc1 = linear(p / "fc1", c_in * s * s, 128);
    let fc2 = linear(p / "fc2", 128, 128);
    let fc3 = linear(p / "fc3", 128, cfg.num_outputs);
    Ok(Box::new(nn::func_t(move |xs, train| {
        let mut xs = xs.shallow_clone();
        for (i, (conv, bn)) in blocks.iter().enumerate() {
            xs = xs.apply(conv).apply_t(bn, train).relu();
            if i % 2 == 1 {
                xs = max_pool2(&xs);
            }
        }
        xs.flatten(1, -1)
            .apply(&fc1)
            .relu()
            .apply(&fc2)
            .relu()
            .apply(&fc3)
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_side_follows_the_original_28px_arithmetic() {
        assert_eq!(feature_side(28), 4);
        assert_eq!(feature_side(MIN_SIZE), 1);
        assert_eq!(feature_side(MIN_SIZE - 1), 0);
        assert_eq!(feature_side(64), 13);
        assert_eq!(feature_side(224), 53);
    }
}
