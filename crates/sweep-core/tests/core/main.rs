//! Integration tests of sweep-core in one test binary: spec expansion and
//! hashing, the shipped examples and invalid specs, the fuzz corpus, and GPU
//! packing.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

mod examples_validate;
mod expand_and_hash;
mod fuzz_corpus;
mod gpu_packing;
mod invalid_specs;
mod train_semantics;
mod worker_command;
