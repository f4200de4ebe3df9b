//! The core of `sweep`, free of libtorch so it builds and tests in seconds.
//!
//! Data flows through the modules in this order:
//!
//! ```text
//! experiment file ─ spec ─▶ Experiment ─ expand ─▶ RunSpec… ─ hash ─▶ RunKey
//!                                                     │
//!                                  plan ◀── store (results/<key>/…) ◀── trainer
//! ```
//!
//! * [`spec`] reads and validates YAML, reporting every problem with its place.
//! * [`experiment`] and [`train_options`] are the validated types.
//! * [`expand`] turns the grid into fully resolved [`run_spec::RunSpec`]s.
//! * [`fingerprints`] identifies each run's data; [`hash`] gives each run its
//!   content address.
//! * [`store`] defines the results folder and what "done" means.
//! * [`plan`] joins the three: every run, its key, its status;
//!   [`decode_folders`] decodes the image folders its pending runs need,
//!   [`stage_modules`] copies the TorchScript modules they train.
//! * [`recorded`] keeps what `sweep run` planned in the results folder;
//!   [`run_folders`] reads what each run folder recorded, so reports need
//!   no data, and [`explain`] says why two runs' keys differ.
//! * [`triage`] decides what `sweep run` does with each run of a plan;
//!   [`run_label`] names each run by the fields that vary among them.
//! * [`select`] reads `FIELD=VALUE` conditions (`run --only`, `report
//!   --where`) against the [`run_view`] of each run.
//! * [`tensorboard`] writes each run's live training curves.
//! * [`worker_command`] is a run trained by the user's own program.
//! * [`scheduler`] runs pending runs across GPU/CPU slots, one worker process
//!   each; [`protocol`] is what a worker and its launcher agree on.

pub mod code_fingerprint;
pub mod decode_folders;
pub mod expand;
pub mod experiment;
pub mod explain;
pub mod fingerprints;
pub mod hash;
pub mod notation;
pub mod plan;
pub mod protocol;
pub mod recorded;
pub mod run_folders;
pub mod run_label;
pub mod run_spec;
pub mod run_view;
pub mod scheduler;
pub mod select;
pub mod slurm;
pub mod spec;
pub mod stage_modules;
pub mod store;
pub mod superseded;
pub mod tensorboard;
pub mod train_options;
pub mod triage;
pub mod worker_command;
