//! On-device batch augmentation, replacing the Keras `ImageDataGenerator`
//! settings of the reference studies (rotation, width/height shift, zoom,
//! horizontal flip) without a round trip to the CPU.
//!
//! Each sample gets its own random affine transform: the parameters are drawn
//! with torch's RNG on the batch's device (seed it with `tch::manual_seed`),
//! turned into one `2x3` matrix per sample, and applied with
//! `affine_grid_generator` + `grid_sampler` (bilinear, zero padding,
//! `align_corners = false`). Flips are done with an exact `flip`, not through
//! the grid, and a configuration that leaves an image unchanged returns it
//! bit-for-bit.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Random augmentation settings. All zero (the default) means no change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// Rotation drawn uniformly from `[-rotation_deg, rotation_deg]` degrees.
    pub rotation_deg: f64,
    /// Horizontal and vertical shifts, each drawn independently from
    /// `[-shift, shift]` as a fraction of the image width/height.
    pub shift: f64,
    /// Sampling scale drawn from `[1 - zoom, 1 + zoom]`; below 1 zooms in.
    pub zoom: f64,
    /// Probability of a horizontal (left–right) flip.
    pub hflip: f64,
}

/// A setting outside its meaningful range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("augment.{field} = {value}: {expected}")]
pub struct AugmentError {
    pub field: &'static str,
    pub value: f64,
    pub expected: &'static str,
}

/// `grid_sampler` mode codes.
const BILINEAR: i64 = 0;
const ZEROS_PADDING: i64 = 0;

impl Augment {
    /// Checks that every setting is finite and in range.
    pub fn validate(&self) -> Result<(), AugmentError> {
        let checks = [
            (
                "rotation_deg",
                self.rotation_deg,
                180.0,
                "between 0 and 180",
            ),
            ("shift", self.shift, 1.0, "between 0 and 1"),
            ("zoom", self.zoom, 0.99, "between 0 and 0.99"),
            ("hflip", self.hflip, 1.0, "a probability between 0 and 1"),
        ];
        for (field, value, max, expected) in checks {
            if !(0.0..=max).contains(&value) {
                return Err(AugmentError {
                    field,
                    value,
                    expected,
                });
            }
        }
        Ok(())
    }

    /// True when [`apply`](Self::apply) returns its input unchanged.
    pub fn is_identity(&self) -> bool {
        !self.is_geometric() && self.hflip <= 0.0
    }

    fn is_geometric(&self) -> bool {
        self.rotation_deg > 0.0 || self.shift > 0.0 || self.zoom > 0.0
    }

    /// Augments a `(N, C, H, W)` floating-point batch on its own device and
    /// returns a new batch of the same shape, outside the autograd graph.
    ///
    /// # Panics
    /// When `images` is not 4-D or not floating point.
    pub fn apply(&self, images: &Tensor) -> Tensor {
        let size = images.size();
        assert!(
            size.len() == 4,
            "Augment::apply expects (N, C, H, W) images, got shape {size:?}"
        );
        assert!(
            images.is_floating_point(),
            "Augment::apply expects floating-point images, got {:?}",
            images.kind()
        );
        tch::no_grad(|| {
            let mut out = images.shallow_clone();
            if self.is_geometric() {
                let n = size[0];
                let uniform = Tensor::rand([n, 4], (images.kind(), images.device())) * 2.0 - 1.0;
                out = warp(&out, &self.theta(&uniform, size[2], size[3]));
            }
            if self.hflip > 0.0 {
                let draw = Tensor::rand([size[0]], (Kind::Float, images.device()));
                let flip = draw.lt(self.hflip).view([-1, 1, 1, 1]);
                out = out.flip([3]).where_self(&flip, &out);
            }
            out
        })
    }

    /// One `2x3` affine matrix per sample from `uniform` (`(N, 4)` values in
    /// `[-1, 1]`: rotation, x shift, y shift, zoom). Matrices map output to
    /// input coordinates in `affine_grid` normalised space; the `h / w`
    /// factors keep rotations rigid on non-square images.
    fn theta(&self, uniform: &Tensor, h: i64, w: i64) -> Tensor {
        let aspect = h as f64 / w as f64;
        let angle = uniform.select(1, 0) * self.rotation_deg.to_radians();
        let tx = uniform.select(1, 1) * (2.0 * self.shift);
        let ty = uniform.select(1, 2) * (2.0 * self.shift);
        let scale = uniform.select(1, 3) * self.zoom + 1.0;
        let cos = angle.cos() * &scale;
        let sin = angle.sin() * &scale;
        let row0 = Tensor::stack(&[cos.shallow_clone(), -&sin * aspect, tx], 1);
        let row1 = Tensor::stack(&[sin / aspect, cos, ty], 1);
        Tensor::stack(&[row0, row1], 1)
    }
}

/// Resamples each image through its own affine matrix.
fn warp(images: &Tensor, theta: &Tensor) -> Tensor {
    let grid = Tensor::affine_grid_generator(theta, images.size(), false);
    images.grid_sampler(&grid, BILINEAR, ZEROS_PADDING, false)
}

// Seeded determinism is tested in tests/train/augment_seed.rs: torch's default
// generator is process-wide, and the parallel unit tests here draw from it.
#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn batch(shape: [i64; 4]) -> Tensor {
        Tensor::rand(shape, (Kind::Float, Device::Cpu))
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn all_zero_settings_return_the_batch_bit_for_bit() {
        let images = batch([4, 3, 28, 28]);
        let out = Augment::default().apply(&images);
        assert!(Augment::default().is_identity());
        assert!(out.equal(&images));
    }

    #[test]
    fn shapes_are_preserved_for_square_and_non_square_batches() {
        let aug = Augment {
            rotation_deg: 15.0,
            shift: 0.1,
            zoom: 0.1,
            hflip: 0.5,
        };
        for shape in [[5, 1, 28, 28], [3, 3, 20, 36], [1, 3, 64, 64]] {
            let out = aug.apply(&batch(shape));
            assert_eq!(out.size(), shape);
            assert_eq!(out.kind(), Kind::Float);
        }
        let double = batch([2, 1, 8, 8]).to_kind(Kind::Double);
        assert_eq!(aug.apply(&double).kind(), Kind::Double);
    }

    #[test]
    fn certain_flip_equals_flip_along_width() {
        let images = batch([6, 3, 28, 28]);
        let aug = Augment {
            hflip: 1.0,
            ..Default::default()
        };
        assert!(aug.apply(&images).equal(&images.flip([3])));
    }

    #[test]
    fn half_probability_flips_some_samples_and_keeps_others() {
        let images = batch([64, 1, 8, 8]);
        let aug = Augment {
            hflip: 0.5,
            ..Default::default()
        };
        let out = aug.apply(&images);
        let flipped = images.flip([3]);
        let mut n_flipped = 0;
        for i in 0..64 {
            let o = out.get(i);
            if o.equal(&flipped.get(i)) {
                n_flipped += 1;
            } else {
                assert!(
                    o.equal(&images.get(i)),
                    "sample {i} neither kept nor flipped"
                );
            }
        }
        assert!((10..=54).contains(&n_flipped), "{n_flipped} of 64 flipped");
    }

    #[test]
    fn every_sample_gets_its_own_transform() {
        let one = batch([1, 1, 28, 28]);
        let images = one.repeat([4, 1, 1, 1]);
        let aug = Augment {
            rotation_deg: 30.0,
            ..Default::default()
        };
        let out = aug.apply(&images);
        for i in 1..4 {
            assert!(max_abs_diff(&out.get(0), &out.get(i)) > 1e-3);
        }
    }

    #[test]
    fn ninety_degrees_turns_the_image_like_rot90() {
        let images = batch([2, 3, 16, 16]);
        let aug = Augment {
            rotation_deg: 90.0,
            ..Default::default()
        };
        let uniform = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 0.0])
            .view([1, 4])
            .repeat([2, 1]);
        let out = warp(&images, &aug.theta(&uniform, 16, 16));
        assert!(max_abs_diff(&out, &images.rot90(1, [2, 3])) < 1e-4);
    }

    #[test]
    fn extreme_draws_shift_and_zoom_as_documented() {
        // A single bright pixel moves by shift·width when the draw is +1.
        let images = Tensor::zeros([1, 1, 20, 20], (Kind::Float, Device::Cpu));
        let _ = images.get(0).get(0).get(10).get(10).fill_(1.0);
        let shift = Augment {
            shift: 0.25,
            ..Default::default()
        };
        let uniform = Tensor::from_slice(&[0.0f32, 1.0, 0.0, 0.0]).view([1, 4]);
        let out = warp(&images, &shift.theta(&uniform, 20, 20));
        // Sampling at x + 0.5·2 (normalised) moves content left by 5 px.
        assert!((out.double_value(&[0, 0, 10, 5]) - 1.0).abs() < 1e-5);
        assert!((out.sum(Kind::Float).double_value(&[]) - 1.0).abs() < 1e-5);

        // A constant image zoomed out (scale 1 + zoom) gains a zero border.
        let ones = Tensor::ones([1, 1, 20, 20], (Kind::Float, Device::Cpu));
        let zoom = Augment {
            zoom: 0.5,
            ..Default::default()
        };
        let uniform = Tensor::from_slice(&[0.0f32, 0.0, 0.0, 1.0]).view([1, 4]);
        let out = warp(&ones, &zoom.theta(&uniform, 20, 20));
        assert_eq!(out.double_value(&[0, 0, 0, 0]), 0.0);
        assert!((out.double_value(&[0, 0, 10, 10]) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn tiny_zoom_is_nearly_the_identity() {
        let images = batch([3, 1, 28, 28]);
        let aug = Augment {
            zoom: 1e-6,
            ..Default::default()
        };
        assert!(max_abs_diff(&aug.apply(&images), &images) < 1e-3);
    }

    #[test]
    fn validation_rejects_out_of_range_settings() {
        assert!(Augment::default().validate().is_ok());
        let ok = Augment {
            rotation_deg: 15.0,
            shift: 0.1,
            zoom: 0.1,
            hflip: 0.5,
        };
        assert!(ok.validate().is_ok());
        let bad = Augment { hflip: 1.5, ..ok };
        assert_eq!(bad.validate().unwrap_err().field, "hflip");
        let bad = Augment {
            shift: f64::NAN,
            ..ok
        };
        assert_eq!(bad.validate().unwrap_err().field, "shift");
        let bad = Augment {
            rotation_deg: -1.0,
            ..ok
        };
        assert_eq!(bad.validate().unwrap_err().field, "rotation_deg");
    }

    #[test]
    #[should_panic(expected = "(N, C, H, W)")]
    fn three_dimensional_input_is_refused() {
        let _ = Augment::default().apply(&Tensor::zeros([1, 28, 28], (Kind::Float, Device::Cpu)));
    }
}
