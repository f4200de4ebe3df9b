//! `cargo run --release -p sweep-train --example model_costs -- ARCH SIZE [BATCH]`
//! prints one JSON line: parameters, seconds per training step (Adam, CPU or
//! `SWEEP_DEVICE=cuda`) and the process's peak RSS. Run once per model and
//! size (a fresh process each, so peak memory is the model's own);
//! `scripts/model_costs.sh` loops over the zoo and is how docs/benchmarks.md
//! was filled.

use std::time::Instant;

use sweep_core::train_options::Optimizer as Spec;
use sweep_train::models::{self, ModelConfig};
use sweep_train::optim::Optimizer;
use tch::{Device, Kind, Tensor, nn};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arch = args.get(1).map_or("chest_cnn", String::as_str);
    let size: i64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(28);
    let batch: i64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(32);
    sweep_train::torch_runtime::init_torch();
    let device = match std::env::var("SWEEP_DEVICE").as_deref() {
        Ok("cuda") => Device::Cuda(0),
        _ => Device::Cpu,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as i32;
    tch::set_num_threads(threads);
    tch::manual_seed(0);
    let vs = nn::VarStore::new(device);
    let cfg = ModelConfig::new(3, 14, size);
    let model = models::build(arch, &vs.root(), &cfg).expect("model builds");
    let (params, trainable) = models::param_count(&vs);
    let mut opt = Optimizer::new(&Spec::default(), &vs, 1e-4);
    let x = Tensor::randn([batch, 3, size, size], (Kind::Float, device));
    let y = Tensor::rand([batch, 14], (Kind::Float, device)).round();
    let mut step = || {
        let logits = model.forward_t(&x, true);
        let loss =
            logits.binary_cross_entropy_with_logits::<Tensor>(&y, None, None, tch::Reduction::Mean);
        opt.backward_step(&loss);
        loss.double_value(&[])
    };
    step(); // warm-up
    let steps = 3;
    let started = Instant::now();
    for _ in 0..steps {
        step();
    }
    let per_step = started.elapsed().as_secs_f64() / f64::from(steps);
    println!(
        "{{\"arch\":\"{arch}\",\"size\":{size},\"batch\":{batch},\"params\":{params},\"trainable\":{trainable},\"seconds_per_step\":{per_step:.4},\"images_per_second\":{:.1},\"peak_rss_mib\":{:.0},\"threads\":{threads}}}",
        batch as f64 / per_step,
        peak_rss_mib()
    );
}
