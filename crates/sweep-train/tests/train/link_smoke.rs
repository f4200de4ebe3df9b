//! Proves a test binary of this crate starts without `LD_LIBRARY_PATH` (the
//! rpath from build.rs) and that libtorch really trains: a few Adam steps of
//! `chest_cnn` on a fixed random CPU batch must lower the loss.

use sweep_train::models::{self, ModelConfig};
use sweep_train::torch_runtime;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

#[test]
fn chest_cnn_loss_goes_down_under_adam() {
    let runtime = torch_runtime::init_torch();
    assert!(runtime.lib_dir.is_some());
    tch::manual_seed(0);

    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = ModelConfig::new(1, 3, 28);
    let model = models::build("chest_cnn", &vs.root(), &cfg).unwrap();
    let mut opt = nn::Adam::default().build(&vs, 1e-3).unwrap();

    let images = Tensor::randn([16, 1, 28, 28], (Kind::Float, Device::Cpu));
    let labels = Tensor::randint(3, [16], (Kind::Int64, Device::Cpu));
    // The loss Adam minimises: batch statistics (train mode), not the
    // running ones, which 15 steps at momentum 0.1 leave far from the
    // batch's, so an eval-mode loss may rise while training works. Other
    // tests of this binary share libtorch's global generator, so the batch
    // differs from run to run; the property holds for any batch.
    let batch_loss = || {
        tch::no_grad(|| {
            model
                .forward_t(&images, true)
                .cross_entropy_for_logits(&labels)
                .double_value(&[])
        })
    };

    let before = batch_loss();
    for _ in 0..15 {
        let loss = model
            .forward_t(&images, true)
            .cross_entropy_for_logits(&labels);
        opt.backward_step(&loss);
    }
    let after = batch_loss();
    assert!(before.is_finite() && after.is_finite());
    assert!(after < before, "loss {before} -> {after}");
}
