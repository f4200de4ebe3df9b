//! Integration tests of sweep-core in one test binary: spec expansion and
//! hashing, the shipped examples and invalid specs, the fuzz corpus, GPU
//! packing and the CI recipe in examples/ci/.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

mod ci_recipe;
mod examples_validate;
mod expand_and_hash;
mod fuzz_corpus;
mod gpu_packing;
mod invalid_specs;
mod json_schema;
mod sampled_axes;
mod train_semantics;
mod worker_command;
