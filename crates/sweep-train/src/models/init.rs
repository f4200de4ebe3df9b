//! Starting weights in the convention of the framework a study was run in
//! (`train.init`), so a recipe written as it was run also starts where it
//! started.
//!
//! The architectures are built with tch's layer defaults (see `layers`);
//! for `init: torch` and `init: keras` this pass then redraws, in name order
//! (so the draws depend only on the seed), every variable the option
//! governs:
//!
//! | layer | `torch` (PyTorch's default) | `keras` (Keras' default) | `tch` |
//! |---|---|---|---|
//! | conv / dense weight | U(±1/√fan_in) (`kaiming_uniform_(a=√5)`) | U(±√(6/(fan_in+fan_out))) (`glorot_uniform`) | U(±√(6/fan_in)) |
//! | conv / dense bias | U(±1/√fan_in) | 0 | conv 0, dense U(±1/√fan_in) |
//! | batch-norm scale, shift | 1, 0 | 1, 0 | 1, 0 |
//!
//! Fans are PyTorch's (and, for ungrouped convolutions, Keras'):
//! `fan_in = in_channels · kh · kw`, `fan_out = out_channels · kh · kw`.
//!
//! The CNNs, ResNets and DenseNets are governed entirely. The ViTs
//! (`vit_b16`, `vit_b16_lora`) are not: they copy torchvision's own
//! initialisation (and the LoRA paper's for the adapters), which is what
//! their reference used, whatever the option says.

use sweep_core::train_options::Init;
use tch::nn;

/// Whether `train.init` decides the starting weights of `arch`.
pub fn governed_by_init_option(arch: &str) -> bool {
    !matches!(arch, "vit_b16" | "vit_b16_lora")
}

/// Redraws the weights of `arch`'s layers in `vs` as `init` prescribes; a
/// no-op for `init: tch` (the layers were built that way) and for the
/// architectures the option does not govern.
pub fn initialise(vs: &nn::VarStore, arch: &str, init: Init) {
    if init == Init::Tch || !governed_by_init_option(arch) {
        return;
    }
    initialise_layers(vs, init);
}

/// [`initialise`] on every convolution, dense layer and batch norm in `vs`.
pub fn initialise_layers(vs: &nn::VarStore, init: Init) {
    let variables = vs.variables();
    let mut names: Vec<&String> = variables.keys().collect();
    names.sort();
    let _guard = tch::no_grad_guard();
    for name in names {
        let Some(layer) = name.strip_suffix(".weight") else {
            continue;
        };
        let mut weight = variables[name].shallow_clone();
        let bias = variables.get(&format!("{layer}.bias"));
        if variables.contains_key(&format!("{layer}.running_mean")) {
            let _ = weight.fill_(1.0);
            if let Some(b) = bias {
                let _ = b.shallow_clone().zero_();
            }
            continue;
        }
        let Some((fan_in, fan_out)) = fans(&weight.size()) else {
            continue;
        };
        let (weight_bound, bias_bound) = bounds(init, fan_in, fan_out);
        let _ = weight.uniform_(-weight_bound, weight_bound);
        if let Some(b) = bias {
            let mut b = b.shallow_clone();
            match bias_bound {
                Some(bound) => {
                    let _ = b.uniform_(-bound, bound);
                }
                None => {
                    let _ = b.zero_();
                }
            }
        }
    }
}

/// `(fan_in, fan_out)` of a dense (`[out, in]`) or convolution
/// (`[out, in, kh, kw]`) weight; `None` for other shapes.
pub(crate) fn fans(shape: &[i64]) -> Option<(f64, f64)> {
    match shape {
        [out, inp] => Some((*inp as f64, *out as f64)),
        [out, inp, kernel @ ..] if kernel.len() == 2 => {
            let field: i64 = kernel.iter().product();
            Some(((inp * field) as f64, (out * field) as f64))
        }
        _ => None,
    }
}

/// The uniform bounds of a layer's weight and bias (`None`: zero bias).
pub(crate) fn bounds(init: Init, fan_in: f64, fan_out: f64) -> (f64, Option<f64>) {
    match init {
        Init::Torch => {
            let bound = 1.0 / fan_in.sqrt();
            (bound, Some(bound))
        }
        Init::Keras => ((6.0 / (fan_in + fan_out)).sqrt(), None),
        // Only for reference: tch's layers draw these themselves (dense
        // biases; conv biases are 0).
        Init::Tch => ((6.0 / fan_in).sqrt(), Some(1.0 / fan_in.sqrt())),
    }
}
