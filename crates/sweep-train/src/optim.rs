//! Optimisers and per-epoch learning-rate schedules, built from the spec.

use sweep_core::options::{Optimizer as OptimizerSpec, OptimizerKind, Schedule};
use tch::nn::{self, OptimizerConfig};

/// Builds the optimiser for every trainable variable of `vs`.
pub fn build(
    spec: &OptimizerSpec,
    vs: &nn::VarStore,
    lr: f64,
) -> Result<nn::Optimizer, tch::TchError> {
    match spec.name {
        OptimizerKind::Adam => nn::Adam {
            beta1: spec.beta1,
            beta2: spec.beta2,
            wd: spec.weight_decay,
            eps: spec.eps,
            amsgrad: false,
        }
        .build(vs, lr),
        OptimizerKind::Adamw => nn::AdamW {
            beta1: spec.beta1,
            beta2: spec.beta2,
            wd: spec.weight_decay,
            eps: spec.eps,
            amsgrad: false,
        }
        .build(vs, lr),
        OptimizerKind::Sgd => nn::Sgd {
            momentum: spec.momentum,
            dampening: 0.0,
            wd: spec.weight_decay,
            nesterov: spec.nesterov,
        }
        .build(vs, lr),
    }
}

/// Learning rate for `epoch` (1-based) under a fixed schedule, starting at `base`.
/// ReduceLROnPlateau multiplies on top of this (see `callbacks`).
pub fn scheduled_lr(schedule: &Schedule, base: f64, epoch: u32) -> f64 {
    let done = f64::from(epoch.saturating_sub(1));
    match schedule {
        Schedule::Constant => base,
        Schedule::Step { step_size, gamma } => {
            base * gamma.powf((done / f64::from(*step_size)).floor())
        }
        Schedule::Cosine { t_max, eta_min } => {
            let t = done.min(f64::from(*t_max));
            eta_min
                + (base - eta_min) * (1.0 + (std::f64::consts::PI * t / f64::from(*t_max)).cos())
                    / 2.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_and_cosine_schedules() {
        let step = Schedule::Step {
            step_size: 2,
            gamma: 0.1,
        };
        let lrs: Vec<f64> = (1..=5).map(|e| scheduled_lr(&step, 1.0, e)).collect();
        assert!(
            (lrs[0] - 1.0).abs() < 1e-12
                && (lrs[2] - 0.1).abs() < 1e-12
                && (lrs[4] - 0.01).abs() < 1e-12
        );
        let cos = Schedule::Cosine {
            t_max: 4,
            eta_min: 0.0,
        };
        assert!((scheduled_lr(&cos, 1.0, 1) - 1.0).abs() < 1e-12);
        assert!((scheduled_lr(&cos, 1.0, 3) - 0.5).abs() < 1e-12);
        assert!(scheduled_lr(&cos, 1.0, 5).abs() < 1e-12);
    }
}
