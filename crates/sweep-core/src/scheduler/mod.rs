//! The scheduler: runs the pending part of a plan across execution slots,
//! one worker process per run, without ever training a run twice or losing a
//! finished one.
//!
//! * [`slots`] — where runs may execute (GPU shares, CPU thread budgets).
//! * [`gpu_memory`] — how many runs share a GPU, from measured footprints.
//! * [`lease`] — the per-run lock that makes concurrent sweeps safe.
//! * [`policy`] — what to do after a failure.
//! * [`engine`] — the loop itself (see its diagram).

pub mod engine;
pub mod gpu_memory;
pub mod lease;
pub mod policy;
pub mod slots;

pub use engine::{Job, Options, Progress, Reporter, Summary, run};
pub use gpu_memory::GpuPacking;
pub use policy::RetryPolicy;
pub use slots::{Slot, SlotDevice, SlotError, SlotRequest, detect_gpus, plan_slots};
