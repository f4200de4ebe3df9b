//! Runs N steps of sweep's fused Adam or AdamW (`sweep_train::fused_adam`)
//! on tensors given in a `.npz`, and writes the results to another one, so
//! that `bench/fused_adam_check.py` can compare them with `torch.optim`'s
//! fused optimisers on the same device (CPU here, CUDA on a GPU machine).
//!
//! Why a separate program: the kernel only runs inside the trainer, where
//! its input (gradients of a real model) cannot be reproduced in Python
//! bit for bit; here both sides start from the same parameters and apply the
//! same gradients, so they must agree to rounding.
//!
//! Input (`IN.npz`, float32):
//!   `param.<i>`         the initial parameters
//!   `grad.<step>.<i>`   the gradient of parameter i at step 1..=steps
//!   `hyper` (float64)   [lr, beta1, beta2, eps, weight_decay, adamw (0/1), steps]
//! Output (`OUT.npz`): `param.<i>`, `exp_avg.<i>`, `exp_avg_sq.<i>` after the
//! last step.
//!
//! Usage: fused_adam_check IN.npz OUT.npz [cpu|cuda:N]

use std::collections::HashMap;
use std::process::ExitCode;

use sweep_train::fused_adam::{AdamStep, FusedAdam, Group};
use tch::{Device, Kind, Tensor};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (input, output, device) = match args.as_slice() {
        [i, o] => (i, o, "cpu"),
        [i, o, d] => (i, o, d.as_str()),
        _ => {
            eprintln!("usage: fused_adam_check IN.npz OUT.npz [cpu|cuda:N]");
            return ExitCode::from(2);
        }
    };
    sweep_train::torch_runtime::init_torch();
    match run(input, output, device) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fused_adam_check: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_device(name: &str) -> Result<Device, String> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        other => other
            .strip_prefix("cuda:")
            .and_then(|i| i.parse().ok())
            .map(Device::Cuda)
            .ok_or_else(|| format!("device {other:?}: expected cpu, cuda or cuda:N")),
    }
}

fn run(input: &str, output: &str, device: &str) -> Result<(), String> {
    let device = parse_device(device)?;
    let mut tensors: HashMap<String, Tensor> = Tensor::read_npz(input)
        .map_err(|e| format!("{input}: {e}"))?
        .into_iter()
        .map(|(name, t)| (name, t.to_device(device)))
        .collect();
    let hyper = tensors
        .remove("hyper")
        .ok_or_else(|| format!("{input}: no `hyper` array"))?
        .to_device(Device::Cpu)
        .to_kind(Kind::Double);
    let hyper: Vec<f64> = Vec::try_from(&hyper).map_err(|e| format!("hyper: {e}"))?;
    let [lr, beta1, beta2, eps, weight_decay, adamw, steps] = hyper[..] else {
        return Err(format!("hyper: expected 7 values, got {}", hyper.len()));
    };
    let hp = AdamStep {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        decoupled_weight_decay: adamw != 0.0,
    };
    let count = (0..)
        .take_while(|i| tensors.contains_key(&format!("param.{i}")))
        .count();
    if count == 0 {
        return Err(format!("{input}: no `param.0` array"));
    }
    let take = |tensors: &mut HashMap<String, Tensor>, name: String| {
        tensors
            .remove(&name)
            .ok_or_else(|| format!("{input}: no `{name}` array"))
    };
    let params: Vec<Tensor> = (0..count)
        .map(|i| take(&mut tensors, format!("param.{i}")))
        .collect::<Result<_, _>>()?;
    let exp_avgs: Vec<Tensor> = params.iter().map(Tensor::zeros_like).collect();
    let exp_avg_sqs: Vec<Tensor> = params.iter().map(Tensor::zeros_like).collect();

    let mut adam = FusedAdam::new();
    for step in 1..=(steps as i64) {
        let mut groups = Vec::with_capacity(count);
        for (i, param) in params.iter().enumerate() {
            groups.push(Group {
                param,
                grad: take(&mut tensors, format!("grad.{step}.{i}"))?,
                exp_avg: &exp_avgs[i],
                exp_avg_sq: &exp_avg_sqs[i],
            });
        }
        adam.step(groups, step, hp)?;
    }

    let mut named = Vec::with_capacity(3 * count);
    for (i, ((p, m), v)) in params.iter().zip(&exp_avgs).zip(&exp_avg_sqs).enumerate() {
        named.push((format!("param.{i}"), p.to_device(Device::Cpu)));
        named.push((format!("exp_avg.{i}"), m.to_device(Device::Cpu)));
        named.push((format!("exp_avg_sq.{i}"), v.to_device(Device::Cpu)));
    }
    Tensor::write_npz(&named, output).map_err(|e| format!("{output}: {e}"))
}
