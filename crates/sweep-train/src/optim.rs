//! Optimisers (with checkpointable state) and per-epoch learning-rate schedules.

use sweep_core::train_options::{Optimizer as OptimizerSpec, OptimizerKind, Schedule};
use tch::{Tensor, nn};

use crate::fused_adam::{AdamStep, FusedAdam, Group};

/// Adam, AdamW and SGD implemented on tensors, with PyTorch's update rules.
///
/// libtorch's optimisers keep their state (Adam's moments, SGD's momentum
/// buffers) where tch cannot read it, and a run that resumes after a crash
/// must continue with exactly that state. Owning the update makes the state
/// a list of named tensors that is checkpointed with the weights.
pub struct Optimizer {
    spec: OptimizerSpec,
    lr: f64,
    /// Completed steps (Adam's bias correction uses it).
    pub step: i64,
    params: Vec<(String, Tensor)>,
    /// Adam: first moment; SGD: momentum buffer.
    first: Vec<Option<Tensor>>,
    /// Adam: second moment.
    second: Vec<Option<Tensor>>,
    /// Adam's step counter as the fused kernel reads it.
    fused: FusedAdam,
}

impl Optimizer {
    /// An optimiser over every trainable variable of `vs`, in name order.
    pub fn new(spec: &OptimizerSpec, vs: &nn::VarStore, lr: f64) -> Self {
        let mut params: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let n = params.len();
        Optimizer {
            spec: spec.clone(),
            lr,
            step: 0,
            params,
            first: (0..n).map(|_| None).collect(),
            second: (0..n).map(|_| None).collect(),
            fused: FusedAdam::new(),
        }
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Gradients of `loss` with respect to every parameter, then one update.
    ///
    /// The gradients are returned by the autograd engine rather than
    /// accumulated into each parameter's `.grad`: that is what PyTorch 2's
    /// `zero_grad(set_to_none=True)` achieves, and it spares one zeroing
    /// pass and one accumulation pass over every gradient per step (tch can
    /// only zero a `.grad` in place, never unset it). The numbers are the
    /// same: accumulating into zeros adds exactly nothing.
    pub fn backward_step(&mut self, loss: &Tensor) {
        let params: Vec<&Tensor> = self.params.iter().map(|(_, p)| p).collect();
        let grads = Tensor::run_backward(&[loss], &params, false, false);
        self.update(grads);
    }

    fn update(&mut self, grads: Vec<Tensor>) {
        let _guard = tch::no_grad_guard();
        self.step += 1;
        match self.spec.name {
            OptimizerKind::Adam | OptimizerKind::Adamw => self.adam_update(grads),
            OptimizerKind::Sgd => self.sgd_update(grads),
        }
    }

    /// Adam/AdamW with libtorch's fused kernel ([`crate::fused_adam`]):
    /// PyTorch's update rule, one pass over each parameter's tensors.
    /// Parameters without a gradient are skipped, as in PyTorch.
    fn adam_update(&mut self, grads: Vec<Tensor>) {
        let s = &self.spec;
        let hp = AdamStep {
            lr: self.lr,
            beta1: s.beta1,
            beta2: s.beta2,
            eps: s.eps,
            weight_decay: s.weight_decay,
            decoupled_weight_decay: s.name == OptimizerKind::Adamw,
        };
        for (i, grad) in grads.iter().enumerate() {
            if grad.defined() && self.first[i].is_none() {
                let p = &self.params[i].1;
                self.first[i] = Some(p.zeros_like());
                self.second[i] = Some(p.zeros_like());
            }
        }
        let groups: Vec<Group<'_>> = grads
            .into_iter()
            .enumerate()
            .filter(|(_, grad)| grad.defined())
            .map(|(i, grad)| Group {
                param: &self.params[i].1,
                grad,
                exp_avg: self.first[i].as_ref().expect("created above"),
                exp_avg_sq: self.second[i].as_ref().expect("created above"),
            })
            .collect();
        if let Err(e) = self.fused.step(groups, self.step, hp) {
            panic!("Adam step failed in libtorch: {e}");
        }
    }

    /// SGD with momentum (and Nesterov), PyTorch's rule, tensor by tensor.
    fn sgd_update(&mut self, grads: Vec<Tensor>) {
        let s = &self.spec;
        let (lr, wd) = (self.lr, s.weight_decay);
        for (i, ((_, p), grad)) in self.params.iter_mut().zip(grads).enumerate() {
            if !grad.defined() {
                continue;
            }
            let mut grad = if wd != 0.0 { &grad + &*p * wd } else { grad };
            if s.momentum != 0.0 {
                let buf = match self.first[i].take() {
                    None => grad.copy(),
                    Some(b) => b * s.momentum + &grad,
                };
                grad = if s.nesterov {
                    &grad + &buf * s.momentum
                } else {
                    buf.shallow_clone()
                };
                self.first[i] = Some(buf);
            }
            let _ = p.g_sub_(&(grad * lr));
        }
    }

    /// The state as named tensors (`opt.first.<var>`, `opt.second.<var>`).
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, (name, _)) in self.params.iter().enumerate() {
            if let Some(t) = &self.first[i] {
                out.push((format!("opt.first.{name}"), t.shallow_clone()));
            }
            if let Some(t) = &self.second[i] {
                out.push((format!("opt.second.{name}"), t.shallow_clone()));
            }
        }
        out
    }

    /// Restores [`Self::state`] and the step count. Each moment takes its
    /// parameter's device and memory layout (saved files are contiguous).
    pub fn load_state(&mut self, named: &std::collections::HashMap<String, Tensor>, step: i64) {
        let _guard = tch::no_grad_guard();
        for (i, (name, param)) in self.params.iter().enumerate() {
            let get = |prefix: &str| {
                named.get(&format!("opt.{prefix}.{name}")).map(|saved| {
                    let mut moment = param.zeros_like();
                    moment.copy_(saved);
                    moment
                })
            };
            self.first[i] = get("first");
            self.second[i] = get("second");
        }
        self.step = step;
    }
}

/// Learning rate for `epoch` (1-based) under a fixed schedule, starting at `base`.
/// ReduceLROnPlateau multiplies on top of this (see `callbacks`).
///
/// Multi-step follows PyTorch's `MultiStepLR` stepped after every epoch:
/// after `done` steps the rate is `base · gamma^(milestones ≤ done)`, so a
/// milestone `m` first applies to epoch `m + 1` (1-based).
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
        Schedule::Multistep { milestones, gamma } => {
            let passed = milestones
                .iter()
                .filter(|&&m| m <= epoch.saturating_sub(1))
                .count();
            base * gamma.powi(passed as i32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sweep_core::train_options::Optimizer as Spec;

    /// One parameter w=[1, -2], loss = sum(w^2)/2 so grad = w; two steps.
    fn two_steps(spec: Spec, lr: f64) -> Vec<f32> {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let w = vs
            .root()
            .var_copy("w", &Tensor::from_slice(&[1.0f32, -2.0]));
        let mut opt = Optimizer::new(&spec, &vs, lr);
        for _ in 0..2 {
            let loss = (&w * &w).sum(tch::Kind::Float) * 0.5;
            opt.backward_step(&loss);
        }
        Vec::try_from(&w).unwrap()
    }

    /// Expected values: the same two steps with `torch.optim` 2.13 in Python.
    fn check(spec: Spec, expected: [f32; 2]) {
        let w = two_steps(spec, 0.1);
        for (got, want) in w.iter().zip(expected) {
            assert!((got - want).abs() < 1e-5, "{w:?} vs {expected:?}");
        }
    }

    #[test]
    #[allow(clippy::approx_constant)] // 0.6931 is PyTorch's SGD result, not ln 2
    fn updates_match_pytorch() {
        check(Spec::default(), [0.800_412_24, -1.800_166_5]);
        let sgd = Spec {
            name: OptimizerKind::Sgd,
            momentum: 0.9,
            weight_decay: 0.1,
            ..Spec::default()
        };
        check(sgd.clone(), [0.6931, -1.3862]);
        check(
            Spec {
                weight_decay: 0.0,
                nesterov: true,
                ..sgd
            },
            [0.5751, -1.1502],
        );
        let adamw = Spec {
            name: OptimizerKind::Adamw,
            weight_decay: 0.5,
            ..Spec::default()
        };
        check(adamw, [0.708_248_4, -1.610_412_1]);
        check(
            Spec {
                weight_decay: 0.5,
                ..Spec::default()
            },
            [0.800_412_2, -1.800_166_5],
        );
    }

    /// Adam's rule written out, applied to `(param, m, v)` with gradient `g`.
    fn textbook_adam(
        state: &mut (Tensor, Tensor, Tensor),
        g: &Tensor,
        spec: &Spec,
        lr: f64,
        t: i64,
    ) {
        let (p, m, v) = state;
        let wd = spec.weight_decay;
        let g = if spec.name == OptimizerKind::Adam {
            g + &*p * wd
        } else {
            g.shallow_clone()
        };
        if spec.name == OptimizerKind::Adamw {
            *p = &*p * (1.0 - lr * wd);
        }
        *m = &*m * spec.beta1 + &g * (1.0 - spec.beta1);
        *v = &*v * spec.beta2 + &g * &g * (1.0 - spec.beta2);
        let t = t as f64;
        let denom = v.sqrt() / (1.0 - spec.beta2.powf(t)).sqrt() + spec.eps;
        *p = &*p - &*m / denom * (lr / (1.0 - spec.beta1.powf(t)));
    }

    /// The fused kernel walks raw memory, so this runs it on channels-last
    /// conv weights, a gradient in another layout than its parameter, and
    /// tensors long enough for its vectorised loop, and checks every
    /// parameter against the rule written out, step by step.
    #[test]
    fn fused_adam_follows_the_rule_on_channels_last_weights() {
        use crate::memory_format::{nhwc_as_nchw, weights_to_channels_last};
        for name in [OptimizerKind::Adam, OptimizerKind::Adamw] {
            tch::manual_seed(0);
            let vs = nn::VarStore::new(tch::Device::Cpu);
            let conv = nn::conv2d(vs.root() / "conv", 3, 16, 3, Default::default());
            // Scales the pooled features through its transpose, so autograd
            // returns its gradient as a column-major view: another layout.
            let scale = vs.root().randn("scale", &[16, 4], 1.0, 0.3);
            weights_to_channels_last(&vs);
            let x = nhwc_as_nchw(&Tensor::randn([4, 6, 6, 3], tch::kind::FLOAT_CPU));
            let spec = Spec {
                name,
                weight_decay: 0.1,
                ..Spec::default()
            };
            let lr = 0.01;
            let mut opt = Optimizer::new(&spec, &vs, lr);
            let mut reference: Vec<(Tensor, Tensor, Tensor)> = opt
                .params
                .iter()
                .map(|(_, p)| (p.detach().copy(), p.zeros_like(), p.zeros_like()))
                .collect();
            for t in 1..=3 {
                let loss = |w: &Tensor, b: &Tensor, scale: &Tensor| {
                    (x.conv2d(w, Some(b), [1, 1], [0, 0], [1, 1], 1).mean_dim(
                        [2i64, 3].as_slice(),
                        false,
                        tch::Kind::Float,
                    ) * scale.tr())
                    .square()
                    .mean(tch::Kind::Float)
                };
                // Parameters in name order: conv.bias, conv.weight, scale.
                let leaves: Vec<Tensor> = reference
                    .iter()
                    .map(|(p, _, _)| p.detach().set_requires_grad(true))
                    .collect();
                let reference_loss = loss(&leaves[1], &leaves[0], &leaves[2]);
                let grads = Tensor::run_backward(&[reference_loss], &leaves, false, false);
                let _guard = tch::no_grad_guard();
                for (state, g) in reference.iter_mut().zip(&grads) {
                    textbook_adam(state, g, &spec, lr, t);
                }
                drop(_guard);
                opt.backward_step(&loss(&conv.ws, conv.bs.as_ref().unwrap(), &scale));
                for ((var, fused), (want, _, _)) in opt.params.iter().zip(&reference) {
                    let diff = (fused - want).abs().max().double_value(&[]);
                    let scale = want.abs().max().double_value(&[]);
                    assert!(
                        diff <= 1e-6 * (1.0 + scale),
                        "{name:?} step {t} {var}: off by {diff} (largest value {scale})"
                    );
                }
            }
            assert!(crate::memory_format::is_channels_last(&conv.ws));
        }
    }

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

    /// The rates of `torch.optim.lr_scheduler.MultiStepLR(opt, [3, 5], 0.1)`
    /// with `scheduler.step()` after each epoch, as PyTorch 2.13 prints
    /// `optimizer.param_groups[0]["lr"]` at the start of epochs 1..=7.
    #[test]
    fn multistep_matches_pytorch_stepped_per_epoch() {
        let multistep = Schedule::Multistep {
            milestones: vec![3, 5],
            gamma: 0.1,
        };
        let lrs: Vec<f64> = (1..=7).map(|e| scheduled_lr(&multistep, 1.0, e)).collect();
        let pytorch = [1.0, 1.0, 1.0, 0.1, 0.1, 0.01, 0.01];
        for (epoch, (got, want)) in lrs.iter().zip(pytorch).enumerate() {
            assert!(
                (got - want).abs() < 1e-12,
                "epoch {}: {got} vs {want}",
                epoch + 1
            );
        }
    }
}
