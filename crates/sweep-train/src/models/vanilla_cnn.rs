//! `vanilla_cnn`: the deliberately naive baseline of the reference study.
//! Three 3x3 same-padded convs (32/64/128) with ReLU and no pooling, then a
//! single linear layer over the whole flattened `128·H·W` feature map.
//!
//! Without pooling the linear layer holds `128·size²·outputs` weights, which
//! is why the study reports this model as very large at 224 px (about 12.8 M
//! parameters for two outputs) although it is the shallowest one here.

use tch::nn;

use super::layers::{conv3x3, linear};
use super::{Model, ModelConfig, ModelError};

pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    let conv1 = conv3x3(p / "conv1", cfg.in_channels, 32, 1);
    let conv2 = conv3x3(p / "conv2", 32, 64, 1);
    let conv3 = conv3x3(p / "conv3", 64, 128, 1);
    let fc = linear(p / "fc", 128 * cfg.image_size * cfg.image_size, cfg.num_outputs);
    Ok(Box::new(nn::func_t(move |xs, _train| {
        xs.apply(&conv1)
            .relu()
            .apply(&conv2)
            .relu()
            .apply(&conv3)
            .relu()
            .flatten(1, -1)
            .apply(&fc)
    })))
}
