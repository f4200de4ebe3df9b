//! Integration tests of sweep-core in one test binary: spec expansion and
//! hashing, the shipped examples and invalid specs, the fuzz corpus, and GPU
//! packing.

mod examples_validate;
mod expand_and_hash;
mod fuzz_corpus;
mod gpu_packing;
mod invalid_specs;
