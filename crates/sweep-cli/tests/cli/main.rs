//! End-to-end tests of the `sweep` binary, linked into one test binary so
//! libtorch (which the worker links) is linked once rather than per file.
//! Each module starts the real `sweep` (and through it `sweep-worker`)
//! through the helpers in `common`.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

mod common;
mod data_command;
mod end_to_end;
mod executables;
mod exports;
mod external_command;
mod faults;
mod generated_weights;
mod gpu_packing;
mod gpu_unusable;
mod html_report;
mod image_folders;
mod results_alone;
mod run_labels;
mod sampled_axes;
mod scheduling;
mod schema_command;
mod slurm_backend;
mod studies;
mod tensorboard_curves;
mod torchscript_examples;
mod weights_command;
mod worker_devices;
