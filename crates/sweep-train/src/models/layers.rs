//! Layer constructors and size arithmetic shared by the architectures, so
//! each architecture file reads as its layer list and every layer gets the
//! PyTorch defaults the reference implementations were trained with.

use tch::{Tensor, nn};

use super::{ModelConfig, ModelError};

/// 3x3 convolution with bias (stride 1).
pub(super) fn conv3x3(p: nn::Path, c_in: i64, c_out: i64, padding: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        padding,
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, 3, cfg)
}

/// Bias-free convolution, as used throughout ResNets.
pub(super) fn conv_no_bias(
    p: nn::Path,
    c_in: i64,
    c_out: i64,
    kernel: i64,
    stride: i64,
    padding: i64,
) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, kernel, cfg)
}

/// Batch norm initialised like PyTorch/Keras (scale 1, shift 0); tch's own
/// default draws the scale uniformly from [0, 1).
pub(super) fn batch_norm(p: nn::Path, channels: i64) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        ws_init: nn::Init::Const(1.0),
        ..Default::default()
    };
    nn::batch_norm2d(p, channels, cfg)
}

pub(super) fn linear(p: nn::Path, c_in: i64, c_out: i64) -> nn::Linear {
    nn::linear(p, c_in, c_out, Default::default())
}

/// Global average pooling: `(N, C, H, W)` → `(N, C)`.
pub(super) fn global_avg_pool(xs: &Tensor) -> Tensor {
    xs.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
}

/// 2x2 max pooling with stride 2, flooring odd sizes.
pub(super) fn max_pool2(xs: &Tensor) -> Tensor {
    xs.max_pool2d_default(2)
}

/// Output side of an unpadded 3x3 convolution (stride 1).
pub(super) fn valid_conv3(size: i64) -> i64 {
    size - 2
}

/// Output side of a 2x2/2 max pool.
pub(super) fn pool2(size: i64) -> i64 {
    size / 2
}

/// Fails with [`ModelError::InputTooSmall`] below `min` pixels.
pub(super) fn require_size(
    arch: &'static str,
    cfg: &ModelConfig,
    min: i64,
) -> Result<(), ModelError> {
    if cfg.image_size < min {
        return Err(ModelError::InputTooSmall {
            arch,
            image_size: cfg.image_size,
            min,
        });
    }
    Ok(())
}
