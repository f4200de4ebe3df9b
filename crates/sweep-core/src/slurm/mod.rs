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
//! * [`options`] — what each task asks for, validated, and its `#SBATCH` lines.
//! * [`script`] — the batch scripts (only quoted paths this program chose).
//! * [`record`] — `results/.slurm/<experiment>-<time>/`: run list, script, job record.
//! * [`client`] — `sbatch`/`squeue`/`scontrol`/`sacct`/`scancel` and their parsers.
//! * [`backend`] — submit, follow (`--wait`), status and cancel.

pub mod backend;
pub mod client;
pub mod options;
pub mod record;
pub mod script;

pub use backend::{Outcome, Request, StatusView, cancel, run, status};
pub use options::SlurmOptions;
