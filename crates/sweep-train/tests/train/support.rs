//! Model construction shared by the model tests: one configuration and one
//! CPU build helper, so every test builds models the same way.

use sweep_train::models::{self, ModelConfig};
use tch::{Device, nn};

/// A model configuration from its three numbers.
pub(crate) fn cfg(in_channels: i64, num_outputs: i64, image_size: i64) -> ModelConfig {
    ModelConfig::new(in_channels, num_outputs, image_size)
}

/// `arch` built on the CPU with fresh weights, with the store that holds them.
pub(crate) fn built(arch: &str, c: &ModelConfig) -> (nn::VarStore, models::Model) {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = models::build(arch, &vs.root(), c).unwrap();
    (vs, model)
}
