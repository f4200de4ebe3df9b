//! Execution slots: where runs can execute at the same time.
//!
//! A slot is one place a worker can run: a share of one GPU (several small
//! runs fit on one card) or a share of the CPU cores. Each slot gets a
//! compact number that is passed to its worker, and the environment that
//! pins it: `CUDA_VISIBLE_DEVICES` for a GPU slot, a thread count for a CPU
//! slot, chosen so that concurrent CPU runs × threads ≤ cores.
//!
//! CPU thread budgets follow the queue unless the user fixed them (`--jobs`,
//! `resources.cpu_threads_per_run`): the slots then share the cores
//! ([`SlotDevice::CpuShare`]) and each run's budget is chosen as it starts,
//! from the cores the running runs leave free and the runs still waiting
//! (see [`CoreShare::budget`]). A lone run gets every core (up to
//! [`MAX_AUTO_THREADS`]); runs that would form a last, partial wave run
//! first, wide; a long queue gets the fixed layout.

use crate::experiment::Devices;

/// What a slot runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotDevice {
    /// A CPU slot with a fixed thread budget.
    Cpu {
        threads: u32,
    },
    /// A CPU slot whose budget is chosen when a run starts in it, from
    /// `cores` shared by every such slot, at most `max_threads`. The run
    /// itself is started in a [`SlotDevice::Cpu`] slot of the same id.
    /// With `grow`, a running run may take up cores freed at the tail of
    /// the sweep (nothing left waiting) at its next epoch.
    CpuShare {
        cores: u32,
        max_threads: u32,
        grow: bool,
    },
    Gpu {
        index: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub id: usize,
    pub device: SlotDevice,
}

impl Slot {
    /// Environment for a worker in this slot. A shared CPU slot is given
    /// its budget as a run starts in it ([`Slot::with_threads`]); asked
    /// before that, it offers one thread.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("SWEEP_SLOT".to_string(), self.id.to_string())];
        let device = match self.device {
            SlotDevice::CpuShare { .. } => SlotDevice::Cpu { threads: 1 },
            ref other => other.clone(),
        };
        match device {
            SlotDevice::CpuShare { .. } => unreachable!("replaced above"),
            SlotDevice::Cpu { threads } => {
                env.push(("SWEEP_DEVICE".into(), "cpu".into()));
                env.push(("SWEEP_THREADS".into(), threads.to_string()));
                env.push(("OMP_NUM_THREADS".into(), threads.to_string()));
                env.push(("CUDA_VISIBLE_DEVICES".into(), String::new()));
            }
            SlotDevice::Gpu { index } => {
                env.push(("SWEEP_DEVICE".into(), "cuda:0".into()));
                // `index` is nvidia-smi's, which counts in PCI bus order;
                // CUDA counts fastest-first unless told otherwise.
                env.push(("CUDA_DEVICE_ORDER".into(), "PCI_BUS_ID".into()));
                env.push(("CUDA_VISIBLE_DEVICES".into(), index.to_string()));
                env.push(("SWEEP_THREADS".into(), "2".into()));
            }
        }
        env
    }

    /// This slot with a fixed budget of `threads`, as a run is started in
    /// it (the slot id stays).
    pub fn with_threads(&self, threads: u32) -> Slot {
        Slot {
            id: self.id,
            device: SlotDevice::Cpu { threads },
        }
    }

    pub fn describe(&self) -> String {
        match self.device {
            SlotDevice::Cpu { threads } => format!("cpu×{threads}"),
            SlotDevice::CpuShare {
                cores, max_threads, ..
            } => format!("cpu×1-{}", max_threads.min(cores)),
            SlotDevice::Gpu { index } => format!("cuda:{index}"),
        }
    }
}

/// What the machine offers and what the user asked for.
#[derive(Debug, Clone)]
pub struct SlotRequest {
    pub devices: Devices,
    /// GPUs found on the machine (indices).
    pub gpus: Vec<u32>,
    pub runs_per_gpu: Option<u32>,
    /// Concurrent CPU runs (`--jobs`).
    pub jobs: Option<u32>,
    pub cpu_threads_per_run: Option<u32>,
    pub cores: u32,
    /// `resources.grow_threads`: runs still training at the tail of a sweep
    /// take up freed cores at their next epoch. Only with budgets that
    /// follow the queue.
    pub grow_threads: bool,
}

/// The most threads a CPU run is given when its budget follows the queue.
///
/// Measured on the 2-core VM of docs/benchmarks.md only: two threads train
/// 2.1-2.6x faster than one there. Beyond two cores it is a documented
/// choice, not a measurement: small MedMNIST models (28-64 px, batch 128)
/// have too little work per operation to keep more than about 8 intra-op
/// threads busy, and above that a second run makes better use of the cores.
/// Part 7 of the GPU check (`cputhreads`, docs/gpu.md) measures it on that
/// machine's 16-core host.
pub const MAX_AUTO_THREADS: u32 = 8;

/// How the shared CPU slots of one sweep divide the machine's cores: what
/// a run starting in one of them is given (see [`CoreShare::budget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreShare {
    /// Every core the slots share.
    pub cores: u32,
    /// How many shared slots there are (runs at a time, at most).
    pub slots: u32,
    /// The most threads one run is given ([`MAX_AUTO_THREADS`] or fewer).
    pub max_threads: u32,
    /// `resources.grow_threads`: runs at the tail take up freed cores.
    pub grow: bool,
}

/// What the scheduler sees as a run starts in a shared CPU slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartingRun {
    /// Cores no running run holds.
    pub free_cores: u32,
    /// Shared slots with no run, this one's included.
    pub free_slots: u32,
    /// Runs not yet started, this one included (queued and waiting).
    pub pending: u32,
}

impl CoreShare {
    /// How `slots` share the cores, when their budgets follow the queue
    /// (shared CPU slots); `None` for fixed CPU slots and GPU slots.
    pub fn of(slots: &[Slot]) -> Option<CoreShare> {
        let mut shared = slots.iter().filter_map(|slot| match slot.device {
            SlotDevice::CpuShare {
                cores,
                max_threads,
                grow,
            } => Some((cores, max_threads, grow)),
            _ => None,
        });
        let (cores, max_threads, grow) = shared.next()?;
        Some(CoreShare {
            cores,
            slots: 1 + shared.count() as u32,
            max_threads,
            grow,
        })
    }

    /// The device of a shared slot with no run in it.
    pub fn slot_device(&self) -> SlotDevice {
        SlotDevice::CpuShare {
            cores: self.cores,
            max_threads: self.max_threads,
            grow: self.grow,
        }
    }

    /// The fixed layout's budget: cores / slots, what every run of a long
    /// queue gets.
    pub fn even_threads(&self) -> u32 {
        (self.cores / self.slots.max(1)).max(1)
    }

    /// How many of `pending` runs, started on an idle machine, go first as
    /// a wide wave on every core (see [`Self::budget`]); 0 when the queue
    /// fills whole waves, fits in one, or its left-over runs could not use
    /// every core within the cap.
    pub fn wide_first(&self, pending: u32) -> u32 {
        let slots = self.slots.max(1);
        let leftover = pending % slots;
        let fills_the_cores = leftover * self.max_threads.max(1) >= self.cores;
        if pending > slots && leftover > 0 && fills_the_cores {
            leftover
        } else {
            0
        }
    }

    /// The thread budget of a run starting now, and the number of runs
    /// that still belong to the same wide first wave (`wide_left`, kept by
    /// the caller between starts; 0 outside such a wave).
    ///
    /// Three regimes, checked in this order:
    ///
    /// * **A wide first wave.** When nothing runs yet and the queue does
    ///   not fill whole waves of `slots` runs, the `r = pending mod slots`
    ///   runs left over would otherwise form a last, partial wave that
    ///   leaves cores idle at the end of the sweep (3 runs on 2 cores: two
    ///   on a core each, then the third alone on one core). They run first
    ///   instead, sharing every core, and the rest then fills whole waves:
    ///   3 runs on 2 cores give 2 threads to the first, then 1 and 1. Only
    ///   when `r` runs can use every core within the cap.
    /// * **Everything can start now** (`pending ≤ free_slots`): the free
    ///   cores are shared between the pending runs, so a lone run gets
    ///   every core (up to the cap).
    /// * **A long queue:** [`Self::even_threads`], the fixed layout, or the
    ///   free cores when fewer are left, so no core idles while a run
    ///   waits.
    ///
    /// Each start takes its share in turn, so a remainder goes to the runs
    /// that start last (5 free cores, 2 starting runs: 2, then 3). Never
    /// more than the free cores (the caller starts nothing while none is
    /// free), at least 1, at most `max_threads`.
    pub fn budget(&self, now: StartingRun, wide_left: &mut u32) -> u32 {
        let max = self.max_threads.max(1);
        let nothing_runs = now.free_cores >= self.cores && now.free_slots >= self.slots;
        if nothing_runs {
            let wide = self.wide_first(now.pending);
            if wide > 0 {
                *wide_left = wide;
            }
        }
        let threads = if let Some(share) = now.free_cores.checked_div(*wide_left) {
            *wide_left -= 1;
            share
        } else if now.pending <= now.free_slots {
            now.free_cores / now.pending.max(1)
        } else {
            self.even_threads().min(now.free_cores)
        };
        threads.clamp(1, max)
    }
}

/// Concurrent runs per GPU when neither the file nor the command line says
/// and the driver cannot report memory to pack by (see
/// [`super::gpu_memory`]): small MedMNIST models leave most of a card idle,
/// while the largest measured model (`densenet161` at 224 px, 44.6 GiB on
/// an H200 with the default evaluation batch) fits twice, not three times,
/// on an 80 GiB card.
pub const DEFAULT_RUNS_PER_GPU: u32 = 2;

/// Why the requested devices cannot be laid out as slots.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("`cuda` was requested but no GPU was found (nvidia-smi lists none)")]
    NoGpuFound,
    #[error("cuda:{missing} was requested but the GPUs found are {found:?}")]
    GpuNotFound { missing: u32, found: Vec<u32> },
}

/// A thread budget fixed by `SWEEP_THREADS` in `sweep`'s own environment
/// (a positive integer), which `sweep run` takes as
/// `resources.cpu_threads_per_run` when the file leaves that `auto`.
pub fn threads_from_env() -> Option<u32> {
    parse_threads(std::env::var("SWEEP_THREADS").ok().as_deref())
}

fn parse_threads(value: Option<&str>) -> Option<u32> {
    value?.trim().parse().ok().filter(|&t| t >= 1)
}

/// Lays out the slots. `auto` uses every GPU found, else the CPU.
pub fn plan_slots(req: &SlotRequest) -> Result<Vec<Slot>, SlotError> {
    let gpus: Vec<u32> = match &req.devices {
        Devices::Cpu => Vec::new(),
        Devices::Auto => req.gpus.clone(),
        Devices::Cuda(ids) if ids.is_empty() => {
            if req.gpus.is_empty() {
                return Err(SlotError::NoGpuFound);
            }
            req.gpus.clone()
        }
        Devices::Cuda(ids) => {
            if let Some(missing) = ids.iter().find(|i| !req.gpus.contains(i)) {
                return Err(SlotError::GpuNotFound {
                    missing: *missing,
                    found: req.gpus.clone(),
                });
            }
            ids.clone()
        }
    };
    let mut slots = Vec::new();
    if gpus.is_empty() && req.jobs.is_none() && req.cpu_threads_per_run.is_none() {
        // Budgets follow the queue; as many slots as today's fixed layout,
        // so a long queue runs as it always did.
        let cores = req.cores.max(1);
        let jobs = (cores / (cores / 2).clamp(1, 4)).max(1);
        for id in 0..jobs as usize {
            slots.push(Slot {
                id,
                device: SlotDevice::CpuShare {
                    cores,
                    max_threads: MAX_AUTO_THREADS.min(cores),
                    grow: req.grow_threads,
                },
            });
        }
    } else if gpus.is_empty() {
        let cores = req.cores.max(1);
        let threads = req
            .cpu_threads_per_run
            .unwrap_or_else(|| match req.jobs {
                Some(j) => (cores / j.max(1)).max(1),
                None => (cores / 2).clamp(1, 4),
            })
            .clamp(1, cores);
        let jobs = req.jobs.unwrap_or((cores / threads).max(1)).max(1);
        for id in 0..jobs as usize {
            slots.push(Slot {
                id,
                device: SlotDevice::Cpu { threads },
            });
        }
    } else {
        let per_gpu = req.runs_per_gpu.unwrap_or(DEFAULT_RUNS_PER_GPU).max(1);
        for _ in 0..per_gpu {
            for &index in &gpus {
                slots.push(Slot {
                    id: slots.len(),
                    device: SlotDevice::Gpu { index },
                });
            }
        }
    }
    Ok(slots)
}

/// GPUs this sweep may use, as `nvidia-smi` indices: every GPU it lists, or
/// only those named by a `CUDA_VISIBLE_DEVICES` already set around `sweep`
/// (a shared machine or a batch system handing out cards that way). Empty
/// when `nvidia-smi` is absent or finds none. Asking the driver's tool keeps
/// libtorch out of the scheduler.
pub fn detect_gpus() -> Vec<u32> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=index,uuid", "--format=csv,noheader"])
        .output();
    let listed = match out {
        Ok(o) if o.status.success() => parse_gpu_list(&String::from_utf8_lossy(&o.stdout)),
        _ => Vec::new(),
    };
    let inherited = std::env::var("CUDA_VISIBLE_DEVICES").ok();
    visible_gpus(&listed, inherited.as_deref())
}

/// A GPU as `nvidia-smi` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGpu {
    pub index: u32,
    /// `GPU-…`; empty when the driver did not report one.
    pub uuid: String,
}

/// Lines of `index, uuid` (the uuid may be missing); others are skipped.
pub fn parse_gpu_list(text: &str) -> Vec<ListedGpu> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(',').map(str::trim);
            let index = fields.next()?.parse().ok()?;
            let uuid = fields.next().unwrap_or_default().to_string();
            Some(ListedGpu { index, uuid })
        })
        .collect()
}

/// The listed GPUs that `cuda_visible_devices` lets this process use, read
/// as CUDA reads it: unset means all; otherwise a comma-separated list of
/// indices (in PCI bus order, nvidia-smi's) or `GPU-` uuids (a unique prefix
/// is enough), which ends at the first entry naming no listed GPU, so an
/// empty value or `-1` hides every GPU. Listed order is kept, duplicates
/// dropped. MIG instances (`MIG-…`) are not GPUs sweep can pin, and end the
/// list like any other unknown entry.
pub fn visible_gpus(listed: &[ListedGpu], cuda_visible_devices: Option<&str>) -> Vec<u32> {
    let Some(value) = cuda_visible_devices else {
        return listed.iter().map(|g| g.index).collect();
    };
    let mut chosen = Vec::new();
    for entry in value.split(',').map(str::trim) {
        let found = match entry.parse::<u32>() {
            Ok(index) => listed.iter().find(|g| g.index == index),
            Err(_) if entry.starts_with("GPU-") => {
                let mut matching = listed.iter().filter(|g| g.uuid.starts_with(entry));
                match (matching.next(), matching.next()) {
                    (Some(gpu), None) => Some(gpu),
                    _ => None,
                }
            }
            Err(_) => None,
        };
        let Some(gpu) = found else { break };
        if !chosen.contains(&gpu.index) {
            chosen.push(gpu.index);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(devices: Devices, gpus: Vec<u32>, cores: u32) -> SlotRequest {
        SlotRequest {
            devices,
            gpus,
            runs_per_gpu: None,
            jobs: None,
            cpu_threads_per_run: None,
            cores,
            grow_threads: false,
        }
    }

    #[test]
    fn fixed_cpu_slots_keep_threads_times_jobs_within_cores() {
        for cores in [1, 2, 3, 8, 16, 64] {
            for (jobs, per_run) in [(Some(2), None), (None, Some(3)), (Some(3), Some(1))] {
                let mut r = req(Devices::Auto, vec![], cores);
                r.jobs = jobs;
                r.cpu_threads_per_run = per_run;
                let slots = plan_slots(&r).unwrap();
                let SlotDevice::Cpu { threads } = slots[0].device else {
                    panic!()
                };
                if jobs.is_none() {
                    assert!(
                        threads * slots.len() as u32 <= cores.max(1),
                        "{cores} cores: {} × {threads}",
                        slots.len()
                    );
                }
            }
        }
        let mut r = req(Devices::Cpu, vec![0], 8);
        r.jobs = Some(4);
        let slots = plan_slots(&r).unwrap();
        assert_eq!(slots.len(), 4);
        assert_eq!(slots[0].device, SlotDevice::Cpu { threads: 2 });
        // `--jobs 2` on 2 cores is the fixed layout of earlier versions.
        let mut r = req(Devices::Cpu, vec![], 2);
        r.jobs = Some(2);
        assert_eq!(
            plan_slots(&r).unwrap(),
            [0, 1].map(|id| Slot {
                id,
                device: SlotDevice::Cpu { threads: 1 }
            })
        );
    }

    #[test]
    fn unfixed_cpu_slots_share_the_cores_as_many_as_the_fixed_layout() {
        for (cores, slots_then) in [(1, 1), (2, 2), (3, 3), (8, 2), (16, 4), (64, 16)] {
            let slots = plan_slots(&req(Devices::Auto, vec![], cores)).unwrap();
            assert_eq!(slots.len(), slots_then, "{cores} cores");
            assert_eq!(
                slots[0].device,
                SlotDevice::CpuShare {
                    cores,
                    max_threads: cores.min(MAX_AUTO_THREADS),
                    grow: false
                }
            );
        }
        let slots = plan_slots(&req(Devices::Cpu, vec![], 2)).unwrap();
        assert_eq!(slots[0].describe(), "cpu×1-2");
        assert_eq!(slots[1].with_threads(2).describe(), "cpu×2");
        assert!(
            slots[1]
                .with_threads(2)
                .env()
                .contains(&("SWEEP_THREADS".into(), "2".into()))
        );
    }

    #[test]
    fn sweep_threads_fixes_a_budget_only_when_it_is_a_positive_count() {
        assert_eq!(parse_threads(Some("3")), Some(3));
        assert_eq!(parse_threads(Some(" 1\n")), Some(1));
        assert_eq!(parse_threads(Some("0")), None);
        assert_eq!(parse_threads(Some("auto")), None);
        assert_eq!(parse_threads(None), None);
    }

    /// A shared layout without tail growth: `cores` split among `slots`,
    /// at most `max_threads` a run.
    fn share(cores: u32, slots: u32, max_threads: u32) -> CoreShare {
        CoreShare {
            cores,
            slots,
            max_threads,
            grow: false,
        }
    }

    /// Budgets of `pending` runs started one after another from an idle
    /// machine, as long as cores and slots are free (what the loop does
    /// before any run ends).
    fn first_starts(share: CoreShare, pending: u32) -> Vec<u32> {
        let (mut free_cores, mut free_slots, mut wide_left) = (share.cores, share.slots, 0);
        let mut budgets = Vec::new();
        for started in 0..pending {
            if free_cores == 0 || free_slots == 0 {
                break;
            }
            let now = StartingRun {
                free_cores,
                free_slots,
                pending: pending - started,
            };
            let threads = share.budget(now, &mut wide_left);
            budgets.push(threads);
            free_cores -= threads;
            free_slots -= 1;
        }
        budgets
    }

    #[test]
    fn runs_starting_on_an_idle_machine_share_every_core() {
        let two = share(2, 2, 2);
        // A lone run: every core. Two runs: one each.
        assert_eq!(first_starts(two, 1), [2]);
        assert_eq!(first_starts(two, 2), [1, 1]);
        // Three or five runs: the odd one first, on both cores, alone; the
        // rest then fill whole waves of two.
        assert_eq!(first_starts(two, 3), [2]);
        assert_eq!(first_starts(two, 5), [2]);
        assert_eq!(first_starts(two, 4), [1, 1]);
        // 32 cores, 8 slots, cap 8: three runs get the cap each.
        let big = share(32, 8, 8);
        assert_eq!(first_starts(big, 3), [8, 8, 8]);
        // 12 runs: 4 left over, which fill the machine at the cap.
        assert_eq!(first_starts(big, 12), [8, 8, 8, 8]);
        // 10 runs: the 2 left over could use only 16 cores, so no wide
        // wave: the fixed layout's 4 threads each.
        assert_eq!(first_starts(big, 10), [4; 8]);
        assert_eq!(first_starts(big, 16), [4; 8]);
        // What `sweep run`'s header announces.
        assert_eq!([1, 2, 3, 4, 5].map(|n| two.wide_first(n)), [0, 0, 1, 0, 1]);
        assert_eq!([3, 10, 12, 16].map(|n| big.wide_first(n)), [0, 0, 4, 0]);
        // A remainder goes to the later starts: 5 cores, 2 runs.
        let five = share(5, 2, 8);
        assert_eq!(first_starts(five, 2), [2, 3]);
        // One core: one run at a time, one thread.
        let one = share(1, 1, 1);
        assert_eq!(first_starts(one, 3), [1]);
    }

    #[test]
    fn a_run_starting_beside_running_runs_takes_what_they_leave() {
        let big = share(32, 8, 8);
        let mut wide_left = 0;
        // A long queue and 8 cores freed by a wide run: the fixed layout's 4.
        let after_wide = StartingRun {
            free_cores: 8,
            free_slots: 5,
            pending: 8,
        };
        assert_eq!(big.budget(after_wide, &mut wide_left), 4);
        // Fewer free cores than that: what is free, so no core idles.
        let short = StartingRun {
            free_cores: 3,
            free_slots: 2,
            pending: 8,
        };
        assert_eq!(big.budget(short, &mut wide_left), 3);
        // The last pending run: every free core, up to the cap.
        let last = StartingRun {
            free_cores: 12,
            free_slots: 3,
            pending: 1,
        };
        assert_eq!(big.budget(last, &mut wide_left), 8);
        assert_eq!(wide_left, 0, "no wave starts while runs run");
    }

    #[test]
    fn gpu_slots_interleave_devices_and_pin_them() {
        let mut r = req(Devices::Auto, vec![0, 1], 16);
        r.runs_per_gpu = Some(3);
        let slots = plan_slots(&r).unwrap();
        let devices: Vec<String> = slots.iter().map(Slot::describe).collect();
        assert_eq!(
            devices,
            ["cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0", "cuda:1"]
        );
        assert!(
            slots[1]
                .env()
                .contains(&("CUDA_VISIBLE_DEVICES".into(), "1".into()))
        );
    }

    #[test]
    fn gpu_slots_name_the_bus_order_their_index_is_counted_in() {
        let slots = plan_slots(&req(Devices::Auto, vec![2], 4)).unwrap();
        let env = slots[0].env();
        assert!(env.contains(&("CUDA_DEVICE_ORDER".into(), "PCI_BUS_ID".into())));
        assert!(env.contains(&("CUDA_VISIBLE_DEVICES".into(), "2".into())));
    }

    #[test]
    fn an_inherited_cuda_visible_devices_narrows_the_gpus() {
        let listed = parse_gpu_list(
            "0, GPU-aaaa1111\n1, GPU-bbbb2222\n2, GPU-bbbb3333\n3, GPU-cccc4444\nNo devices\n",
        );
        assert_eq!(listed.len(), 4);
        assert_eq!(visible_gpus(&listed, None), [0, 1, 2, 3]);
        assert_eq!(visible_gpus(&listed, Some("3,1")), [3, 1]);
        assert_eq!(visible_gpus(&listed, Some(" 2 , 2 ")), [2]);
        assert_eq!(visible_gpus(&listed, Some("GPU-cccc,GPU-aaaa1111")), [3, 0]);
        // CUDA stops at the first entry it cannot use.
        assert_eq!(visible_gpus(&listed, Some("1,7,2")), [1]);
        assert_eq!(
            visible_gpus(&listed, Some("0,GPU-bbbb")),
            [0],
            "ambiguous uuid prefix"
        );
        assert_eq!(visible_gpus(&listed, Some("MIG-0123,1")), Vec::<u32>::new());
        assert!(visible_gpus(&listed, Some("")).is_empty());
        assert!(visible_gpus(&listed, Some("-1")).is_empty());
        // An older driver without uuids still answers by index.
        assert_eq!(visible_gpus(&parse_gpu_list("0\n1\n"), Some("1")), [1]);
    }

    #[test]
    fn asking_for_missing_gpus_is_an_error() {
        let none = plan_slots(&req(Devices::Cuda(vec![]), vec![], 4)).unwrap_err();
        assert_eq!(none, SlotError::NoGpuFound);
        assert!(none.to_string().contains("no GPU"), "{none}");
        let missing = plan_slots(&req(Devices::Cuda(vec![3]), vec![0], 4)).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "cuda:3 was requested but the GPUs found are [0]"
        );
    }
}
