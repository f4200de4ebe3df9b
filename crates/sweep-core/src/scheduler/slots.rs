//! Execution slots: where runs can execute at the same time.
//!
//! A slot is one place a worker can run: a share of one GPU (several small
//! runs fit on one card) or a share of the CPU cores. Each slot gets a
//! compact number that is passed to its worker, and the environment that
//! pins it: `CUDA_VISIBLE_DEVICES` for a GPU slot, a thread count for a CPU
//! slot, chosen so that concurrent CPU runs × threads ≤ cores.

use crate::experiment::Devices;

/// What a slot runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotDevice {
    Cpu { threads: u32 },
    Gpu { index: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub id: usize,
    pub device: SlotDevice,
}

impl Slot {
    /// Environment for a worker in this slot.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("SWEEP_SLOT".to_string(), self.id.to_string())];
        match self.device {
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

    pub fn describe(&self) -> String {
        match self.device {
            SlotDevice::Cpu { threads } => format!("cpu×{threads}"),
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
}

/// Concurrent runs per GPU when neither the file nor the command line says
/// and the driver cannot report memory to pack by (see
/// [`super::gpu_memory`]): small MedMNIST models leave most of a card idle.
pub const DEFAULT_RUNS_PER_GPU: u32 = 2;

/// Why the requested devices cannot be laid out as slots.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("`cuda` was requested but no GPU was found (nvidia-smi lists none)")]
    NoGpuFound,
    #[error("cuda:{missing} was requested but the GPUs found are {found:?}")]
    GpuNotFound { missing: u32, found: Vec<u32> },
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
    if gpus.is_empty() {
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
        }
    }

    #[test]
    fn cpu_slots_keep_threads_times_jobs_within_cores() {
        for cores in [1, 2, 3, 8, 16, 64] {
            let slots = plan_slots(&req(Devices::Auto, vec![], cores)).unwrap();
            let SlotDevice::Cpu { threads } = slots[0].device else {
                panic!()
            };
            assert!(
                threads * slots.len() as u32 <= cores.max(1),
                "{cores} cores: {} × {threads}",
                slots.len()
            );
        }
        let mut r = req(Devices::Cpu, vec![0], 8);
        r.jobs = Some(4);
        let slots = plan_slots(&r).unwrap();
        assert_eq!(slots.len(), 4);
        assert_eq!(slots[0].device, SlotDevice::Cpu { threads: 2 });
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
