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
//! * [`experiment`] and [`options`] are the validated types.
//! * [`expand`] turns the grid into fully resolved [`run_spec::RunSpec`]s.
//! * [`hash`] gives each run its content address.
//! * [`store`] defines the results folder and what "done" means.
//! * [`plan`] joins the three: every run, its key, its status.
//! * [`triage`] decides what `sweep run` does with each run of a plan.
//! * [`select`] reads `FIELD=VALUE` conditions (`run --only`, `report
//!   --where`) against the [`run_view`] of each run.
//! * [`scheduler`] runs pending runs across GPU/CPU slots, one worker process
//!   each; [`events`] and [`launch`] are the worker protocol.

pub mod decode_folders;
pub mod events;
pub mod expand;
pub mod experiment;
pub mod fingerprints;
pub mod hash;
pub mod launch;
pub mod options;
pub mod plan;
pub mod run_spec;
pub mod run_view;
pub mod scheduler;
pub mod select;
pub mod slurm;
pub mod spec;
pub mod store;
pub mod triage;
