//! The scheduler: runs the pending part of a plan across execution slots,
//! one worker process per run, without ever training a run twice or losing a
//! finished one.
//!
//! * [`slots`] — where runs may execute (GPU shares, CPU thread budgets).
//! * [`gpu_memory`] — how many runs share a GPU, from measured footprints.
//! * [`policy`] — what to do after a failure.
//! * [`job`] — what is scheduled; [`progress`] — what the loop reports.
//! * [`engine`] — the loop itself (see its diagram), which places runs on
//!   GPUs through `gpu_book`, starts workers through `launcher` and follows
//!   each through `attempt`.

mod attempt;
pub mod engine;
mod gpu_book;
pub mod gpu_memory;
pub mod job;
mod launcher;
pub mod policy;
pub mod progress;
pub mod slots;

#[cfg(test)]
mod loop_tests;

pub use engine::{ScheduleOptions, Summary, run};
pub use gpu_memory::GpuPacking;
pub use job::Job;
pub use policy::RetryPolicy;
pub use progress::{Progress, Reporter};
pub use slots::{
    CoreShare, MAX_AUTO_THREADS, Slot, SlotDevice, SlotError, SlotRequest, detect_gpus, plan_slots,
    threads_from_env,
};
