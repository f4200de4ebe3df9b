//! What the scheduling loop tells the user, as events.
//!
//! The loop never prints: it emits [`Progress`] to a [`Reporter`], and the
//! command line renders those as a progress bar, plain lines or JSON.

use crate::hash::RunKey;
use crate::protocol::events::WorkerEvent;
use crate::store::FailureKind;

/// What the loop tells its reporter.
#[derive(Debug, Clone)]
pub enum Progress {
    Started {
        slot: usize,
        device: String,
        key: RunKey,
        label: String,
        attempt: u32,
    },
    Worker {
        slot: usize,
        key: RunKey,
        event: WorkerEvent,
    },
    /// Another process is training this run; it will be picked up when done.
    Waiting {
        key: RunKey,
        label: String,
        holder: Option<u32>,
    },
    /// Another process finished this run while we waited.
    CachedByOther {
        key: RunKey,
        label: String,
    },
    Finished {
        slot: usize,
        key: RunKey,
        label: String,
        result: Result<(), (FailureKind, String)>,
        seconds: f64,
        will_retry: bool,
    },
    Interrupted {
        killing: bool,
    },
    /// A run measured alone on a GPU: runs of its shape now take this much.
    Measured {
        key: RunKey,
        label: String,
        gpu: u32,
        mib: u64,
    },
}

pub trait Reporter {
    fn report(&mut self, progress: &Progress);
}
