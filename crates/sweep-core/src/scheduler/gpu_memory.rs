//! How many runs fit on a GPU at once, decided from measured memory.
//!
//! A MedMNIST model at 28 px uses a few hundred MiB of an 80 GiB card, a
//! DenseNet at 224 px tens of GiB; no fixed `runs_per_gpu` suits both. So
//! unless the user fixes the density, the scheduler packs by memory:
//!
//! 1. The first run of each *memory shape* (dataset, architecture, batch
//!    sizes, optimiser, input size and channels: what decides its footprint,
//!    not its learning rate, seed or fold) runs alone on its GPU while the
//!    driver's `memory.used` is sampled. Its peak above what the card used
//!    before it started is that shape's footprint (CUDA context, weights,
//!    optimiser state, activations, the preloaded dataset and the caching
//!    allocator's slack: all of it is memory another run cannot have).
//! 2. Footprints are kept in `<results>/gpu_footprints.json`, so later
//!    sweeps over the same shapes pack from the start.
//! 3. A run with a known footprint starts on a GPU when the footprints of
//!    the runs already there plus its own, each with [`HEADROOM`], fit in
//!    what the card had free when none of this sweep's runs were on it.
//!    At most [`MAX_RUNS_PER_GPU`] runs share a card.
//!
//! An out-of-memory failure is retried alone on its GPU (the engine's rule);
//! that retry is measured again and replaces the footprint, so a shape that
//! was under-estimated packs less densely from then on.
//!
//! Everything is read from `nvidia-smi`, so the scheduler still needs no
//! CUDA library, and tests substitute a script for it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::slots::DEFAULT_RUNS_PER_GPU;
use crate::run_spec::RunSpec;
use crate::store::write_atomic;

/// Most runs that share one GPU when packing by memory: beyond this the
/// card's compute (or the host's cores), not its memory, is the limit for
/// small models. Measured on an H200 (docs/benchmarks.md, On a GPU): 8
/// packed 28 px `chest_cnn` runs give 4.39× the images/s of one, still 26 %
/// more than 4, at 22 % GPU utilisation.
pub const MAX_RUNS_PER_GPU: u32 = 8;

/// Each footprint is taken as this much larger than measured: allocations
/// vary a little between runs of one shape (fold sizes, cuDNN workspaces).
pub const HEADROOM: f64 = 1.15;

/// File beside the run folders that keeps measured footprints.
pub const FOOTPRINTS_FILE: &str = "gpu_footprints.json";

/// One GPU's memory as the driver reports it, in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuReading {
    pub used_mib: u64,
    pub total_mib: u64,
}

/// Reads GPU memory with `nvidia-smi` (or a stand-in program in tests).
#[derive(Debug, Clone)]
pub struct GpuMemoryProbe {
    pub program: PathBuf,
}

impl Default for GpuMemoryProbe {
    fn default() -> Self {
        GpuMemoryProbe {
            program: PathBuf::from("nvidia-smi"),
        }
    }
}

const QUERY: [&str; 2] = [
    "--query-gpu=index,memory.used,memory.total",
    "--format=csv,noheader,nounits",
];

impl GpuMemoryProbe {
    /// Every GPU's reading, or `None` when the program fails or says nothing
    /// usable (then the scheduler packs at a fixed density instead).
    pub fn read(&self) -> Option<HashMap<u32, GpuReading>> {
        readings_of(
            std::process::Command::new(&self.program)
                .args(QUERY)
                .output(),
        )
    }

    /// [`Self::read`] without blocking the scheduling loop.
    pub async fn read_async(&self) -> Option<HashMap<u32, GpuReading>> {
        readings_of(
            tokio::process::Command::new(&self.program)
                .args(QUERY)
                .output()
                .await,
        )
    }
}

/// The readings in a finished query's output, if it succeeded.
fn readings_of(output: std::io::Result<std::process::Output>) -> Option<HashMap<u32, GpuReading>> {
    let out = output.ok()?;
    out.status
        .success()
        .then(|| parse_readings(&String::from_utf8_lossy(&out.stdout)))
        .flatten()
}

/// How many of a GPU's slots are used at once.
#[derive(Debug, Clone, Default)]
pub enum GpuPacking {
    /// All of them: the density the slots were planned with.
    #[default]
    Fixed,
    /// As many as measured memory allows; the slots are only a ceiling.
    /// `readings` is the GPUs' memory before any run of this pass started.
    ByMemory {
        probe: GpuMemoryProbe,
        readings: HashMap<u32, GpuReading>,
    },
}

/// Slots per GPU and how they are filled. A density the user asked for
/// (`--runs-per-gpu`, `resources.runs_per_gpu`) is used as given; otherwise
/// up to [`MAX_RUNS_PER_GPU`] slots filled by measured memory, or the fixed
/// [`DEFAULT_RUNS_PER_GPU`] when the driver cannot report memory.
pub fn choose_packing(
    requested: Option<u32>,
    gpus: &[u32],
    probe: &GpuMemoryProbe,
) -> (Option<u32>, GpuPacking) {
    if requested.is_some() || gpus.is_empty() {
        return (requested, GpuPacking::Fixed);
    }
    match probe.read() {
        Some(readings) => (
            Some(MAX_RUNS_PER_GPU),
            GpuPacking::ByMemory {
                probe: probe.clone(),
                readings,
            },
        ),
        None => (Some(DEFAULT_RUNS_PER_GPU), GpuPacking::Fixed),
    }
}

/// Parses `index, used, total` lines; `None` if any line is malformed (an
/// old driver printing `[N/A]`, say) or there are none.
pub fn parse_readings(text: &str) -> Option<HashMap<u32, GpuReading>> {
    let mut readings = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [index, used, total] = fields[..] else {
            return None;
        };
        let reading = GpuReading {
            used_mib: used.parse().ok()?,
            total_mib: total.parse().ok()?,
        };
        readings.insert(index.parse().ok()?, reading);
    }
    (!readings.is_empty()).then_some(readings)
}

/// The fields of a run that decide how much GPU memory it takes, as one
/// string (the key of [`Footprints`]).
pub fn memory_shape(run: &RunSpec) -> String {
    let t = &run.train;
    serde_json::json!({
        "dataset": run.dataset,
        "arch": run.arch,
        "batch_size": t.batch_size,
        "eval_batch_size": t.eval_batch_size,
        "optimizer": t.optimizer.name,
        "input_channels": t.input_channels,
        "input_size": t.input_size,
        "subset": t.subset,
        "pretrained": t.pretrained.is_some(),
    })
    .to_string()
}

/// Measured footprints in MiB by memory shape, kept in the results folder.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Footprints {
    pub mib: BTreeMap<String, u64>,
}

impl Footprints {
    /// The saved footprints; none when the file is absent or unreadable
    /// (they are only an optimisation: runs are measured again).
    pub fn load(results: &Path) -> Self {
        std::fs::read(results.join(FOOTPRINTS_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, results: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(results)?;
        let bytes = serde_json::to_vec_pretty(self).expect("serialisable");
        write_atomic(&results.join(FOOTPRINTS_FILE), &bytes)
    }
}

/// A run measuring its shape's footprint alone on a GPU.
#[derive(Debug, Clone)]
struct Measurement {
    shape: String,
    baseline_mib: u64,
    peak_mib: u64,
}

/// The packing state of one scheduling pass.
#[derive(Debug)]
pub struct Packer {
    probe: GpuMemoryProbe,
    results: PathBuf,
    footprints: Footprints,
    /// What each GPU had free when none of this pass's runs were on it.
    budget_mib: HashMap<u32, u64>,
    /// Footprints (with headroom) of the runs now on each GPU.
    reserved_mib: HashMap<u32, u64>,
    measurements: HashMap<u32, Measurement>,
}

/// Where a run may start, as far as memory goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Its footprint fits beside the runs already on the GPU.
    Packed { reserve_mib: u64 },
    /// Unknown footprint: it must run alone and is measured.
    Measure,
    /// Not now.
    Wait,
}

impl Packer {
    /// A packer for the GPUs in `readings`, with the footprints saved in
    /// `results`.
    pub fn new(probe: GpuMemoryProbe, results: &Path, readings: &HashMap<u32, GpuReading>) -> Self {
        Packer {
            probe,
            results: results.to_path_buf(),
            footprints: Footprints::load(results),
            budget_mib: readings
                .iter()
                .map(|(&i, r)| (i, r.total_mib.saturating_sub(r.used_mib)))
                .collect(),
            reserved_mib: HashMap::new(),
            measurements: HashMap::new(),
        }
    }

    pub fn footprint(&self, shape: &str) -> Option<u64> {
        self.footprints.mib.get(shape).copied()
    }

    /// May a run of `shape` start on `gpu`, where `busy` of this pass's
    /// runs are now?
    pub fn admit(&self, gpu: u32, busy: usize, shape: &str) -> Admission {
        if self.measurements.contains_key(&gpu) || busy as u32 >= MAX_RUNS_PER_GPU {
            return Admission::Wait;
        }
        let Some(mib) = self.footprint(shape) else {
            return if busy == 0 {
                Admission::Measure
            } else {
                Admission::Wait
            };
        };
        let reserve_mib = (mib as f64 * HEADROOM).ceil() as u64;
        let reserved = self.reserved_mib.get(&gpu).copied().unwrap_or(0);
        let budget = self.budget_mib.get(&gpu).copied().unwrap_or(0);
        // A lone run is always let through: if it does not fit, the
        // out-of-memory failure says so better than waiting forever.
        if busy == 0 || reserved + reserve_mib <= budget {
            Admission::Packed { reserve_mib }
        } else {
            Admission::Wait
        }
    }

    /// A packed run started on `gpu`.
    pub fn reserve(&mut self, gpu: u32, mib: u64) {
        *self.reserved_mib.entry(gpu).or_default() += mib;
    }

    /// A packed run left `gpu`.
    pub fn release(&mut self, gpu: u32, mib: u64) {
        if let Some(r) = self.reserved_mib.get_mut(&gpu) {
            *r = r.saturating_sub(mib);
        }
    }

    /// A run of `shape` starts alone on `gpu` to be measured. The card's
    /// current use (other programs') is the baseline and sets the budget.
    pub fn start_measuring(&mut self, gpu: u32, shape: &str) {
        let used = self
            .probe
            .read()
            .and_then(|r| r.get(&gpu).copied())
            .map(|r| {
                self.budget_mib
                    .insert(gpu, r.total_mib.saturating_sub(r.used_mib));
                r.used_mib
            })
            .unwrap_or(0);
        self.measurements.insert(
            gpu,
            Measurement {
                shape: shape.to_string(),
                baseline_mib: used,
                peak_mib: used,
            },
        );
    }

    pub fn measuring(&self) -> bool {
        !self.measurements.is_empty()
    }

    pub fn measuring_on(&self, gpu: u32) -> bool {
        self.measurements.contains_key(&gpu)
    }

    /// One sample of every GPU that has a run being measured.
    pub async fn sample(&mut self) {
        let Some(readings) = self.probe.read_async().await else {
            return;
        };
        for (gpu, m) in &mut self.measurements {
            if let Some(r) = readings.get(gpu) {
                m.peak_mib = m.peak_mib.max(r.used_mib);
            }
        }
    }

    /// The measured run on `gpu` ended. A successful one records its
    /// footprint (and saves the file); a failed one records nothing, since
    /// it may have stopped before reaching its peak. Returns the footprint.
    pub fn finish_measuring(&mut self, gpu: u32, succeeded: bool) -> Option<u64> {
        let m = self.measurements.remove(&gpu)?;
        let mib = m.peak_mib.saturating_sub(m.baseline_mib);
        if !succeeded || mib == 0 {
            return None;
        }
        self.footprints.mib.insert(m.shape, mib);
        self.save();
        Some(mib)
    }

    /// An out-of-memory run: its shape's footprint is no longer trusted, so
    /// its retry (and the next run of that shape, in this sweep or a later
    /// one) is measured again.
    pub fn forget(&mut self, shape: &str) {
        if self.footprints.mib.remove(shape).is_some() {
            self.save();
        }
    }

    fn save(&self) {
        if let Err(e) = self.footprints.save(&self.results) {
            eprintln!("warning: cannot save GPU footprints: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_parse_and_reject_what_is_not_numbers() {
        let r = parse_readings("0, 523, 81559\n1, 10, 81559\n").unwrap();
        assert_eq!(
            r[&0],
            GpuReading {
                used_mib: 523,
                total_mib: 81559
            }
        );
        assert_eq!(r[&1].used_mib, 10);
        assert!(parse_readings("0, [N/A], 81559\n").is_none());
        assert!(parse_readings("0, 5\n").is_none());
        assert!(parse_readings("").is_none());
    }

    #[test]
    fn memory_shape_ignores_what_does_not_change_memory() {
        let exp = crate::spec::load_str(
            "name: m\ngrid:\n  dataset: retinamnist\n  arch: resnet18\n  lr: 0.001\n",
            Path::new("m.yaml"),
        )
        .expect("valid");
        let run = crate::expand::expand(&exp, false).remove(0);
        let mut other = run.clone();
        other.lr = 0.1;
        other.seed = 7;
        assert_eq!(memory_shape(&run), memory_shape(&other));
        other.train.batch_size = 256;
        assert_ne!(memory_shape(&run), memory_shape(&other));
        other = run.clone();
        other.arch = "resnet50".into();
        assert_ne!(memory_shape(&run), memory_shape(&other));
    }

    fn packer(total: u64, used: u64) -> Packer {
        let dir = std::env::temp_dir().join(format!(
            "sweep-packer-{}-{total}-{used}",
            std::process::id()
        ));
        let readings = HashMap::from([(
            0,
            GpuReading {
                used_mib: used,
                total_mib: total,
            },
        )]);
        Packer::new(
            GpuMemoryProbe {
                program: "/nonexistent/nvidia-smi".into(),
            },
            &dir,
            &readings,
        )
    }

    #[test]
    fn unknown_shapes_run_alone_and_known_ones_pack_within_the_budget() {
        let mut p = packer(10_000, 1_000); // 9,000 MiB free
        assert_eq!(p.admit(0, 0, "a"), Admission::Measure);
        assert_eq!(p.admit(0, 1, "a"), Admission::Wait);
        p.footprints.mib.insert("a".into(), 2_000); // 2,300 with headroom
        let mut running = 0;
        while let Admission::Packed { reserve_mib } = p.admit(0, running, "a") {
            assert_eq!(reserve_mib, 2_300);
            p.reserve(0, reserve_mib);
            running += 1;
        }
        assert_eq!(running, 3, "3 × 2,300 ≤ 9,000 < 4 × 2,300");
        p.release(0, 2_300);
        assert!(matches!(p.admit(0, 2, "a"), Admission::Packed { .. }));
    }

    #[test]
    fn density_is_capped_and_a_lone_run_always_starts() {
        let mut p = packer(1_000_000, 0);
        p.footprints.mib.insert("tiny".into(), 10);
        p.footprints.mib.insert("huge".into(), 5_000_000);
        assert_eq!(
            p.admit(0, MAX_RUNS_PER_GPU as usize, "tiny"),
            Admission::Wait
        );
        assert!(matches!(p.admit(0, 0, "huge"), Admission::Packed { .. }));
        assert_eq!(p.admit(0, 1, "huge"), Admission::Wait);
    }

    #[test]
    fn a_failed_measurement_records_nothing() {
        let mut p = packer(10_000, 0);
        p.start_measuring(0, "a");
        assert!(p.measuring());
        assert_eq!(
            p.admit(0, 0, "b"),
            Admission::Wait,
            "the GPU is being measured"
        );
        p.measurements.get_mut(&0).unwrap().peak_mib = 700;
        assert_eq!(p.finish_measuring(0, false), None);
        assert_eq!(p.footprint("a"), None);
        assert!(!p.measuring());
    }
}
