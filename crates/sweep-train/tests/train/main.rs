//! Integration tests of sweep-train, linked into one test binary so libtorch
//! is linked once rather than once per file. Shared model helpers live in
//! `support`.
//!
//! `augment_seed.rs` is a separate binary (see Cargo.toml): it needs torch's
//! process-wide generator to itself. So are `init.rs`, which draws every
//! zoo architecture's weights many times over and would change what the
//! seeded tests here draw, and `semantics_runs.rs`, whose runs set
//! libtorch's process-wide inter-op thread count.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

mod link_smoke;
mod lora;
mod models_reference;
mod pretrained;
mod registry_matches_spec;
mod support;
mod torch_python;
mod vit_resample;
mod weights_convert;
mod zoo_reference;
