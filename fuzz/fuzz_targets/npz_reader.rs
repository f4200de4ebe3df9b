//! `.npz` archives: arbitrary bytes through the zip, `.npy` and MedMNIST readers.
#![no_main]

#[path = "../harness/npz_reader.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
