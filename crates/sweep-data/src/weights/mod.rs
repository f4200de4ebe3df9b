//! Pretrained weights a run can start from, without Python: what exists
//! ([`catalog`]) and what this machine holds ([`cache`]).
//!
//! Three of the reference studies fine-tune ImageNet-pretrained networks.
//! `sweep weights pull` downloads the published files with the same
//! resumable, checksummed machinery as `sweep data` ([`crate::download`]),
//! converts them once into a safetensors file under the model zoo's own
//! variable names (that step needs libtorch and runs in `sweep-worker`), and
//! keeps them in a cache folder shared by every clone. Experiment files name
//! them (`pretrained: imagenet`, `{weights: NAME}`), and the converted file's
//! SHA-256 enters each run's key.
//!
//! Trust: torchvision publishes the first 8 hex digits of each file's
//! SHA-256 in its name, and a download must start with them. The rest of the
//! digest, and for Hugging Face files all of it, cannot be pinned here: the
//! first pull records the full SHA-256 of the converted file in a sidecar,
//! and every later use is checked against that record (trust on first use).

pub mod cache;
pub mod catalog;

pub use cache::{Check, WeightsCache, WeightsRecord, WeightsState};
pub use catalog::{Layout, WeightsEntry};
