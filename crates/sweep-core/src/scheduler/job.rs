//! What the scheduler is asked to run, and how a run waits in its queue.
//!
//! A [`Job`] is one run as the caller hands it over; a `QueuedJob` is that
//! run plus what the loop has learnt about it (which attempt comes next, and
//! whether it must have its GPU to itself after running out of memory).

use crate::hash::RunKey;
use crate::plan::PlannedRun;
use crate::store::SpecFile;

/// One run to execute.
#[derive(Debug, Clone)]
pub struct Job {
    pub spec: SpecFile,
    /// Short human description (dataset, arch, lr, fold…).
    pub label: String,
}

impl Job {
    /// The job that trains a planned run of `experiment`; `None` when the
    /// run has no key (its dataset could not be fingerprinted).
    pub fn planned(run: &PlannedRun, experiment: &str, label: String) -> Option<Job> {
        Some(Job {
            spec: SpecFile {
                key: run.key.clone()?,
                input: run.input.clone()?,
                data_file: run.data_file.clone(),
                experiments: vec![experiment.to_string()],
                label: Some(label.clone()),
                workdir: run.spec.worker.as_ref().and_then(|w| w.folder.clone()),
            },
            label,
        })
    }

    pub fn key(&self) -> &RunKey {
        &self.spec.key
    }
}

/// A job waiting for a slot (or for another process's lease).
#[derive(Debug, Clone)]
pub(crate) struct QueuedJob {
    pub job: Job,
    /// The attempt it will make next, from 1.
    pub attempt: u32,
    /// Must run with no other run of this pass on its GPU: the retry of a
    /// run that ran out of memory.
    pub alone: bool,
}

impl QueuedJob {
    /// A job's first attempt, placed like any other.
    pub(crate) fn first(job: Job) -> Self {
        QueuedJob {
            job,
            attempt: 1,
            alone: false,
        }
    }

    /// The attempt after a failed one; `alone` when it ran out of memory.
    pub(crate) fn retry(self, alone: bool) -> Self {
        QueuedJob {
            attempt: self.attempt + 1,
            alone,
            job: self.job,
        }
    }
}
