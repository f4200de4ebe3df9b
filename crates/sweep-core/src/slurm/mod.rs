//! The Slurm backend: `sweep run --backend slurm` trains the pending runs of
//! a plan as one Slurm job array instead of local worker processes, for
//! sweeps larger than one machine.
//!
//! Nothing about results changes: each array task runs the same
//! `sweep worker <run dir>` the local scheduler runs, against a results
//! folder every node sees, so the store, its leases and its completion
//! markers keep every guarantee (a run is trained once and is done only
//! when `complete.json` verifies).
//!
//! * [`resources`] — what each task asks for, validated, and its `#SBATCH` lines.
//! * [`script`] — the batch scripts (only quoted paths this program chose).
//! * [`record`] — `results/.slurm/<experiment>-<time>/`: run list, script, job record.
//! * [`client`] — `sbatch`/`squeue`/`scontrol`/`sacct`/`scancel` and their parsers.
//! * [`backend`] — one `sweep run --backend slurm`: submit, then follow.
//! * [`submit`] — which runs go into a new array, and `sbatch`.
//! * [`follow`] — `--wait`: the runs' progress as run events.
//! * [`view`] — what `sweep status` and `sweep cancel` see of the arrays.
//! * [`failures`] — `failure.json` for tasks that failed.
//! * [`error`] — what can go wrong, naming the file or command.

pub mod backend;
pub mod client;
pub mod error;
pub mod failures;
pub mod follow;
pub mod record;
pub mod resources;
pub mod script;
pub mod submit;
pub mod view;

pub use backend::{Outcome, Request, SlurmReporter, run};
pub use error::SlurmError;
pub use resources::SlurmOptions;
pub use view::{StatusView, cancel, status};
