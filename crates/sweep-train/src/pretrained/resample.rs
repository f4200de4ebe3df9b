//! Fitting a ViT's published weights to the zoo's ViT at another image size.
//!
//! ViT-B/16 weights are published for 224 px: 16 px patches, a 14x14 grid of
//! patch tokens plus the class token (197 position embeddings). The zoo's
//! `vit_b16` keeps the architecture at other sizes but changes two tensors
//! (`models::vit_b16`): the number of position embeddings (an 8x8 grid at
//! 32, 64 and 128 px, 7x7 at 28 px) and, below 128 px, the patch side of
//! the patch projection (8 px from 64 px, 4 px below). Fine-tuning at another
//! resolution is what the ViT paper does too, so instead of refusing these
//! two tensors the loader resamples them:
//!
//! * the position embeddings' patch grid is resized with bicubic
//!   interpolation (corners aligned) and the class token's embedding kept,
//!   exactly as torchvision's `interpolate_embeddings` does (and the export
//!   script's `--image-size`);
//! * a patch projection kernel for smaller patches is the adjoint of
//!   bilinear upsampling applied to the published kernel, so a small patch
//!   gives the response the published kernel gives to the same patch
//!   upsampled to 16 px: a 4 px patch of a 32 px image is read like the
//!   16 px patch of that image shown at 128 px. (Larger patches than the
//!   file's are not made by the zoo and are refused.)

use tch::{Kind, Tensor};

/// The position embeddings of torchvision's ViTs, `[1, 1 + grid², width]`.
pub const POSITION_EMBEDDING: &str = "encoder.pos_embedding";
/// The patch projection kernel of torchvision's ViTs, `[width, channels, patch, patch]`.
pub const PATCH_PROJECTION: &str = "conv_proj.weight";

/// The side of the square grid of `tokens` patch tokens, if it is square.
fn grid_side(tokens: i64) -> Option<i64> {
    let side = (tokens as f64).sqrt().round() as i64;
    (side > 0 && side * side == tokens).then_some(side)
}

/// Resamples position embeddings `[1, 1 + g², width]` to the model's
/// `model_shape` `[1, 1 + s², width]`: the class token's embedding (the
/// first) is kept, the g x g grid is resized to s x s bicubically with
/// corners aligned, as torchvision's `interpolate_embeddings`. `None` when
/// the shapes are not both of that form with the same width.
pub fn resample_position_embedding(file: &Tensor, model_shape: &[i64]) -> Option<Tensor> {
    let file_shape = file.size();
    let ([1, file_tokens, width], [1, model_tokens, model_width]) = (&file_shape[..], model_shape)
    else {
        return None;
    };
    if width != model_width {
        return None;
    }
    let file_side = grid_side(file_tokens - 1)?;
    let model_side = grid_side(model_tokens - 1)?;
    let class_token = file.narrow(1, 0, 1);
    // [1, g², width] -> [1, width, g, g], as an image with `width` channels.
    let grid = file
        .narrow(1, 1, file_tokens - 1)
        .permute([0, 2, 1])
        .reshape([1, *width, file_side, file_side])
        .to_kind(Kind::Float);
    let resized = grid
        .upsample_bicubic2d([model_side, model_side], true, None, None)
        .reshape([1, *width, model_side * model_side])
        .permute([0, 2, 1])
        .to_kind(file.kind());
    Some(Tensor::cat(&[class_token, resized], 1))
}

/// Resamples a patch projection kernel `[width, channels, p, p]` to the
/// model's smaller patches `model_shape` `[width, channels, q, q]` (q ≤ p):
/// the adjoint of bilinear upsampling from q to p px (corners not aligned,
/// as `F.interpolate`'s default), so that for every q x q patch `x`,
/// `<x, new> = <upsample(x), published>`. `None` for any other pair of
/// shapes.
pub fn resample_patch_projection(file: &Tensor, model_shape: &[i64]) -> Option<Tensor> {
    let file_shape = file.size();
    let ([width, channels, p, p_w], [model_width, model_channels, q, q_w]) =
        (&file_shape[..], model_shape)
    else {
        return None;
    };
    if width != model_width || channels != model_channels || p != p_w || q != q_w || q > p {
        return None;
    }
    let (p, q) = (*p, *q);
    // Row j: the j-th q x q basis image upsampled to p x p, so `basis` is
    // the transpose of the upsampling matrix U (p² x q²).
    let basis = Tensor::eye(q * q, (Kind::Double, file.device()))
        .reshape([q * q, 1, q, q])
        .upsample_bilinear2d([p, p], false, None, None)
        .reshape([q * q, p * p]);
    let kernel = file
        .to_kind(Kind::Double)
        .reshape([width * channels, p * p])
        .matmul(&basis.tr())
        .reshape([*width, *channels, q, q])
        .to_kind(file.kind());
    Some(kernel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(shape: &[i64]) -> Tensor {
        tch::manual_seed(7);
        Tensor::randn(shape, (Kind::Float, tch::Device::Cpu))
    }

    fn max_difference(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn position_embeddings_at_the_same_size_are_unchanged() {
        let published = random(&[1, 197, 16]);
        let same = resample_position_embedding(&published, &[1, 197, 16]).unwrap();
        assert_eq!(same.size(), [1, 197, 16]);
        assert!(max_difference(&same, &published) < 1e-6);
    }

    #[test]
    fn position_embeddings_keep_the_class_token_and_fit_the_grid() {
        let published = random(&[1, 197, 16]);
        let small = resample_position_embedding(&published, &[1, 65, 16]).unwrap();
        assert_eq!(small.size(), [1, 65, 16]);
        assert!(max_difference(&small.narrow(1, 0, 1), &published.narrow(1, 0, 1)) == 0.0);
        // Corners aligned: the grid's corner tokens survive resizing.
        for (file_token, model_token) in [(1, 1), (14, 8), (183, 57), (196, 64)] {
            let diff = max_difference(
                &small.narrow(1, model_token, 1),
                &published.narrow(1, file_token, 1),
            );
            assert!(diff < 1e-5, "token {file_token} -> {model_token}: {diff}");
        }
    }

    #[test]
    fn position_embeddings_of_other_forms_are_not_resampled() {
        let published = random(&[1, 197, 16]);
        assert!(resample_position_embedding(&published, &[1, 65, 8]).is_none());
        assert!(resample_position_embedding(&published, &[1, 64, 16]).is_none());
        assert!(resample_position_embedding(&random(&[1, 196, 16]), &[1, 65, 16]).is_none());
    }

    #[test]
    fn a_small_patch_kernel_sees_a_patch_as_the_published_one_sees_it_upsampled() {
        let published = random(&[5, 3, 16, 16]);
        let small = resample_patch_projection(&published, &[5, 3, 4, 4]).unwrap();
        assert_eq!(small.size(), [5, 3, 4, 4]);
        let patch = random(&[2, 3, 4, 4]) * 3.0 + 1.0;
        let upsampled = patch.upsample_bilinear2d([16, 16], false, None, None);
        let stride = [16_i64, 16];
        let published_response = upsampled.conv2d(&published, None::<Tensor>, stride, 0, 1, 1);
        let small_response = patch.conv2d(&small, None::<Tensor>, [4, 4], 0, 1, 1);
        assert_eq!(small_response.size(), [2, 5, 1, 1]);
        let diff = max_difference(&small_response, &published_response);
        assert!(diff < 1e-3, "{diff}");
        // And it is a real change: the published kernel's corner is not kept.
        assert!(max_difference(&small, &published.narrow(2, 0, 4).narrow(3, 0, 4)) > 1e-2);
    }

    #[test]
    fn the_same_patch_size_is_unchanged_and_larger_or_other_kernels_are_refused() {
        let published = random(&[5, 3, 8, 8]);
        let same = resample_patch_projection(&published, &[5, 3, 8, 8]).unwrap();
        assert!(max_difference(&same, &published) < 1e-5);
        assert!(resample_patch_projection(&published, &[5, 3, 16, 16]).is_none());
        assert!(resample_patch_projection(&published, &[5, 1, 4, 4]).is_none());
        assert!(resample_patch_projection(&published, &[6, 3, 4, 4]).is_none());
    }
}
