//! Experiment files: arbitrary bytes through validation and capped expansion.
#![no_main]

#[path = "../harness/spec_parser.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
