//! Training side of `sweep`, the only crate that links libtorch.
//!
//! `worker` is the entry point: spec.json → [`data`] (tensors on the device)
//! → [`models`] (laid out by [`memory_format`]) → [`fit`] (loop with [`loss`], [`optim`] (Adam through [`fused_adam`]), [`callbacks`],
//! [`augment`], per-epoch [`resume`] state) → [`outputs`] + completion marker. [`torch_runtime`] loads
//! CUDA when present and reports devices; [`host_memory`] tunes the C
//! allocator for the worker. [`weights_convert`] turns published state
//! dicts into the zoo's safetensors (`sweep-worker convert-weights`).

pub mod augment;
pub mod callbacks;
pub mod data;
pub mod fit;
pub mod fused_adam;
pub mod host_memory;
pub mod log;
pub mod loss;
pub mod memory_format;
pub mod models;
pub mod optim;
pub mod outputs;
pub mod pretrained;
pub mod resume;
pub mod tch_release;
pub mod torch_runtime;
pub mod weights_convert;
pub mod worker;
