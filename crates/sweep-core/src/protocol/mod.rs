//! The contract between `sweep` and each `sweep-worker` process, in one
//! place: what the worker prints ([`events`]: one JSON object a line on its
//! stdout), how it ends ([`exit`]: the exit codes beyond 0 and 1 and how an
//! abnormal end is described), and who may train a run ([`lease`]: an
//! advisory lock on `results/<key>/.lock`, held by the worker while it
//! trains); [`thread_grant`] hands a running worker freed cores. The local scheduler, the Slurm backend, `sweep status` and the
//! worker all speak it; a worker written in another language needs only
//! this module's rules.

pub mod events;
pub mod exit;
pub mod lease;
pub mod thread_grant;
