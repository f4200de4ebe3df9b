//! Channels-last ("NHWC") layout for images, activations and conv weights.
//!
//! oneDNN on the CPU and cuDNN on GPUs run 2-D convolutions faster when the
//! channel is the innermost dimension: on a 2-core EPYC, one training step of
//! `chest_cnn` / `derma_cnn` at 28 px and batch 128 took about 20 % less time
//! and `resnet18` about 11 % less (`docs/benchmarks.md`). PyTorch users get
//! this with `model.to(memory_format=torch.channels_last)`; tch has no such
//! call, so the layout is built from strides: a contiguous `(N, H, W, C)`
//! tensor viewed through `permute([0, 3, 1, 2])` *is* a channels-last
//! `(N, C, H, W)` tensor, and every operator that honours memory formats
//! (convolution, batch norm, pooling, element-wise ops) keeps it.
//!
//! Only the layout changes: shapes, and therefore the maths, stay the same;
//! sums may run in another order, so results can differ in the last bits from
//! the NCHW layout (which is why the trainer version changed with it).
//!
//! safetensors stores only contiguous tensors; [`contiguous_copies`] makes the
//! copies that are saved. Loading copies into the existing variables, which
//! keeps their layout.

use tch::{Tensor, nn};

/// Channels-last view of a contiguous `(N, H, W, C)` tensor, shaped `(N, C, H, W)`.
pub fn nhwc_as_nchw(images: &Tensor) -> Tensor {
    images.permute([0, 3, 1, 2])
}

/// Re-lays every 4-D variable of `vs` (the convolution weights) out
/// channels-last, in place: the variables keep their identity, so the model
/// and the optimiser see the new layout.
pub fn weights_to_channels_last(vs: &nn::VarStore) {
    let _guard = tch::no_grad_guard();
    for (_, mut var) in vs.variables() {
        if var.dim() == 4 {
            let relaid = var.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2]);
            var.set_data(&relaid);
        }
    }
}

/// Whether `t` (4-D) is laid out channels-last (for tests).
#[cfg(test)]
pub(crate) fn is_channels_last(t: &Tensor) -> bool {
    if t.dim() != 4 {
        return false;
    }
    t.permute([0, 2, 3, 1]).is_contiguous()
}

/// Contiguous copies (or the tensors themselves, when already contiguous) of
/// named tensors, as safetensors requires.
pub fn contiguous_copies(named: Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
    named
        .into_iter()
        .map(|(name, t)| {
            let t = if t.is_contiguous() { t } else { t.contiguous() };
            (name, t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn nhwc_view_is_channels_last_with_nchw_values() {
        let nhwc = Tensor::arange(2 * 3 * 4 * 5, (Kind::Float, Device::Cpu)).view([2, 3, 4, 5]);
        let view = nhwc_as_nchw(&nhwc);
        assert_eq!(view.size(), [2, 5, 3, 4]);
        assert!(is_channels_last(&view));
        // Element (n, c, h, w) of the view is element (n, h, w, c) of the source.
        assert_eq!(
            view.double_value(&[1, 4, 2, 3]),
            nhwc.double_value(&[1, 2, 3, 4])
        );
        assert!(view.contiguous().equal(&view));
    }

    #[test]
    fn weights_change_layout_not_values_and_conv_output_agrees() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let conv = nn::conv2d(vs.root() / "c", 3, 8, 3, Default::default());
        let lin = nn::linear(vs.root() / "l", 4, 2, Default::default());
        let before = conv.ws.copy();
        let x = Tensor::rand([2, 3, 9, 9], (Kind::Float, Device::Cpu));
        let y_before = x.apply(&conv);

        weights_to_channels_last(&vs);
        assert!(is_channels_last(&conv.ws), "conv weight re-laid in place");
        assert!(conv.ws.equal(&before), "values unchanged");
        assert!(lin.ws.is_contiguous(), "2-D variables untouched");
        let x_cl = nhwc_as_nchw(&x.permute([0, 2, 3, 1]).contiguous());
        let y_after = x_cl.apply(&conv);
        let diff = (&y_after - &y_before).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "max |diff| {diff}");
    }

    #[test]
    fn saving_copies_are_contiguous() {
        let t = nhwc_as_nchw(&Tensor::zeros([1, 2, 2, 3], (Kind::Float, Device::Cpu)));
        assert!(!t.is_contiguous());
        let saved = contiguous_copies(vec![("t".into(), t)]);
        assert!(saved[0].1.is_contiguous());
    }
}
