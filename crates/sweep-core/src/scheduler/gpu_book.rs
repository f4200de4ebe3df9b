//! Which GPU may take the next run: the loop's per-GPU bookkeeping.
//!
//! Slots alone do not decide placement on a GPU. A run retried after
//! running out of memory must have its card to itself, and so must a run
//! whose memory is being measured; when packing by memory (see
//! [`super::gpu_memory`]) a run also needs its footprint to fit beside the
//! runs already there. [`GpuBook`] keeps what that takes (runs per GPU, the
//! GPUs held alone, the packer and what each running run reserved) and
//! undoes a run's share when it ends.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::gpu_memory::{Admission, GpuPacking, Packer, memory_shape};
use super::job::{Job, QueuedJob};
use super::slots::{Slot, SlotDevice};
use crate::store::FailureKind;

/// How a run is placed in the slot chosen for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    /// No memory bookkeeping: a CPU slot, or a GPU filled at fixed density.
    Plain,
    /// Alone on its GPU while its memory is measured.
    Measured,
    /// Holds this many MiB of its GPU's memory budget.
    Packed { reserve_mib: u64 },
}

/// A free slot that may take the run at the head of the queue.
#[derive(Debug, Clone)]
pub(super) struct SlotChoice {
    /// Position in the list of free slots.
    pub index: usize,
    pub placement: Placement,
    /// The run's memory shape, when packing by memory.
    shape: Option<String>,
}

/// A run placed on a GPU with memory bookkeeping, to undo when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GpuRun {
    pub gpu: u32,
    pub placement: Placement,
}

/// How an attempt ended, as far as memory bookkeeping cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Done,
    Failed(FailureKind),
    /// Busy elsewhere, interrupted or killed: neither done nor a failure.
    Unfinished,
}

/// Per-GPU admission for one scheduling pass.
#[derive(Debug)]
pub(super) struct GpuBook {
    /// Runs of this pass on each GPU.
    busy: HashMap<u32, usize>,
    /// GPUs that a run has to itself.
    exclusive: HashSet<u32>,
    /// Present when packing by memory.
    packer: Option<Packer>,
    /// Running runs with memory bookkeeping, by slot id.
    placed: HashMap<usize, GpuRun>,
}

impl GpuBook {
    /// The book for `packing`, with footprints kept in `results`.
    pub(super) fn new(packing: &GpuPacking, results: &Path) -> Self {
        let packer = match packing {
            GpuPacking::Fixed => None,
            GpuPacking::ByMemory { probe, readings } => {
                Some(Packer::new(probe.clone(), results, readings))
            }
        };
        GpuBook {
            busy: HashMap::new(),
            exclusive: HashSet::new(),
            packer,
            placed: HashMap::new(),
        }
    }

    /// The free slot `queued` may start in now, if any: the last fitting
    /// one in `free`.
    pub(super) fn choose(&self, free: &[Slot], queued: &QueuedJob) -> Option<SlotChoice> {
        let shape = self
            .packer
            .as_ref()
            .map(|_| memory_shape(&queued.job.spec.input.run));
        free.iter().enumerate().rev().find_map(|(index, slot)| {
            let placement = self.admit(slot, queued.alone, shape.as_deref())?;
            Some(SlotChoice {
                index,
                placement,
                shape: shape.clone(),
            })
        })
    }

    /// How a run may be placed in `slot` now; `None` if it may not.
    fn admit(&self, slot: &Slot, alone: bool, shape: Option<&str>) -> Option<Placement> {
        let SlotDevice::Gpu { index } = slot.device else {
            return Some(Placement::Plain);
        };
        let busy = self.busy.get(&index).copied().unwrap_or(0);
        if self.exclusive.contains(&index) || (alone && busy > 0) {
            return None;
        }
        match (&self.packer, shape) {
            // A retry after running out of memory is measured again.
            (Some(packer), _) if alone => {
                (!packer.measuring_on(index)).then_some(Placement::Measured)
            }
            (Some(packer), Some(shape)) => match packer.admit(index, busy, shape) {
                Admission::Packed { reserve_mib } => Some(Placement::Packed { reserve_mib }),
                Admission::Measure => Some(Placement::Measured),
                Admission::Wait => None,
            },
            _ => Some(Placement::Plain),
        }
    }

    /// A run starts in `slot` as `choice` said. Returns whether it is
    /// being measured alone.
    pub(super) fn occupy(&mut self, slot: &Slot, alone: bool, choice: SlotChoice) -> bool {
        let SlotDevice::Gpu { index } = slot.device else {
            return false;
        };
        *self.busy.entry(index).or_default() += 1;
        let mut measuring = false;
        if let Some(packer) = self.packer.as_mut() {
            match choice.placement {
                Placement::Measured => {
                    packer.start_measuring(index, choice.shape.as_deref().unwrap_or_default());
                    self.exclusive.insert(index);
                    measuring = true;
                }
                Placement::Packed { reserve_mib } => packer.reserve(index, reserve_mib),
                Placement::Plain => {}
            }
            if choice.placement != Placement::Plain {
                let run = GpuRun {
                    gpu: index,
                    placement: choice.placement,
                };
                self.placed.insert(slot.id, run);
            }
        }
        if alone {
            self.exclusive.insert(index);
        }
        measuring
    }

    /// The run in `slot` ended: its GPU is shared again. Returns its memory
    /// bookkeeping, for [`Self::settle`].
    pub(super) fn vacate(&mut self, slot: &Slot) -> Option<GpuRun> {
        if let SlotDevice::Gpu { index } = slot.device {
            if let Some(n) = self.busy.get_mut(&index) {
                *n = n.saturating_sub(1);
            }
            self.exclusive.remove(&index);
        }
        self.placed.remove(&slot.id)
    }

    /// Closes the memory bookkeeping of `run` (of `job`), which ended with
    /// `outcome`: frees its reservation, or records its measured footprint,
    /// which it returns. Running out of memory makes its shape's footprint
    /// untrusted, so that shape is measured again.
    pub(super) fn settle(&mut self, run: GpuRun, outcome: Outcome, job: &Job) -> Option<u64> {
        let packer = self.packer.as_mut()?;
        let measured = match run.placement {
            Placement::Packed { reserve_mib } => {
                packer.release(run.gpu, reserve_mib);
                None
            }
            Placement::Measured => packer.finish_measuring(run.gpu, outcome == Outcome::Done),
            Placement::Plain => None,
        };
        if outcome == Outcome::Failed(FailureKind::Oom) {
            packer.forget(&memory_shape(&job.spec.input.run));
        }
        measured
    }

    /// Whether some run is being measured (its GPU must be sampled).
    pub(super) fn measuring(&self) -> bool {
        self.packer.as_ref().is_some_and(Packer::measuring)
    }

    /// One memory sample of every GPU being measured.
    pub(super) async fn sample(&mut self) {
        if let Some(packer) = self.packer.as_mut() {
            packer.sample().await;
        }
    }
}
