//! Packing runs on a GPU by measured memory, end to end through the
//! scheduling loop, with a stand-in `nvidia-smi` whose reported memory use
//! grows with the number of stand-in workers running (3,000 MiB each over a
//! 1,000 MiB baseline) and workers that log when they start and end.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sweep_core::fingerprints::{Fingerprint, FingerprintError, Fingerprints};
use sweep_core::plan::plan;
use sweep_core::scheduler::gpu_memory::{
    FOOTPRINTS_FILE, Footprints, GpuMemoryProbe, HEADROOM, choose_packing, memory_shape,
};
use sweep_core::scheduler::{
    self, GpuPacking, Job, Progress, Reporter, RetryPolicy, ScheduleOptions, SlotRequest,
};
use sweep_core::store::Store;
use sweep_data::catalog::DatasetRef;

struct Fixed;
impl Fingerprints for Fixed {
    fn fingerprint(&self, _: &DatasetRef, _: &Path) -> Result<Fingerprint, FingerprintError> {
        Ok(("0".repeat(64), None))
    }
}

#[derive(Default)]
struct Recorder {
    measured: Vec<u64>,
    started_devices: Vec<String>,
}
impl Reporter for Recorder {
    fn report(&mut self, p: &Progress) {
        match p {
            Progress::Measured { mib, .. } => self.measured.push(*mib),
            Progress::Started { device, .. } => self.started_devices.push(device.clone()),
            _ => {}
        }
    }
}

/// A scratch folder with the stand-in GPU: `running/` holds one file per
/// running worker, `total` the card's size, `log` the workers' start/end
/// lines; while `oom-once` exists, the next worker to start removes it and
/// fails as out of memory.
struct FakeGpu {
    dir: PathBuf,
}

impl FakeGpu {
    fn new(name: &str, total_mib: u64) -> Self {
        let dir =
            std::env::temp_dir().join(format!("sweep-gpu-packing-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("running")).unwrap();
        let gpu = FakeGpu { dir };
        gpu.set_total(total_mib);
        let smi = gpu.dir.join("nvidia-smi");
        std::fs::write(
            &smi,
            format!(
                "#!/bin/sh\nn=$(ls '{d}/running' | wc -l)\necho \"0, $((1000 + 3000 * n)), $(cat '{d}/total')\"\n",
                d = gpu.dir.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&smi, std::fs::Permissions::from_mode(0o755)).unwrap();
        gpu
    }

    fn set_total(&self, mib: u64) {
        std::fs::write(self.dir.join("total"), mib.to_string()).unwrap();
    }

    fn probe(&self) -> GpuMemoryProbe {
        GpuMemoryProbe {
            program: self.dir.join("nvidia-smi"),
        }
    }

    fn worker(&self) -> ScheduleOptions {
        let d = self.dir.display();
        let script = format!(
            r#"k=$(basename "$1"); if rm '{d}/oom-once' 2>/dev/null; then echo '{{"event":"failed","kind":"oom","message":"CUDA out of memory"}}'; exit 1; fi; echo "start $k" >> '{d}/log'; touch '{d}/running/'$k; sleep 1.2; rm '{d}/running/'$k; echo "end $k" >> '{d}/log'; printf '{{"key":"%s","files":[]}}' "$k" > "$1/complete.json""#
        );
        ScheduleOptions {
            program: PathBuf::from("sh"),
            args: vec!["-c".into(), script, "sh".into()],
            policy: RetryPolicy::default(),
            timeout: None,
            packing: GpuPacking::Fixed,
        }
    }

    /// Most workers running at once, and whether the first ran alone.
    fn concurrency(&self) -> (usize, bool) {
        let lines = self.log();
        let (mut now, mut most) = (0usize, 0usize);
        for line in &lines {
            if line.starts_with("start") {
                now += 1;
                most = most.max(now);
            } else {
                now -= 1;
            }
        }
        let first_alone = lines.len() >= 2 && lines[1].starts_with("end");
        (most, first_alone)
    }

    /// The workers' `start KEY` / `end KEY` lines, in order.
    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The last worker to start ran alone.
    fn last_alone(&self) -> bool {
        let lines = self.log();
        let last_start = lines.iter().rposition(|l| l.starts_with("start")).unwrap();
        lines[..last_start]
            .iter()
            .filter(|l| l.starts_with("start"))
            .count()
            == lines[..last_start]
                .iter()
                .filter(|l| l.starts_with("end"))
                .count()
            && lines
                .get(last_start + 1)
                .is_some_and(|l| l.starts_with("end"))
    }

    fn clear_log(&self) {
        let _ = std::fs::remove_file(self.dir.join("log"));
    }
}

fn jobs(store: &Store, seeds: &str) -> Vec<Job> {
    let grid = format!(
        "name: packing\ngrid:\n  dataset: synthetic:breastmnist\n  arch: small_cnn\n  lr: 0.001\n  seed: [{seeds}]\n"
    );
    let exp = sweep_core::spec::load_str(&grid, Path::new("packing.yaml")).expect("valid");
    plan(&exp, Default::default(), Path::new("."), store, &Fixed)
        .runs
        .iter()
        .map(|r| Job::planned(r, "packing", String::new()).expect("keyed"))
        .collect()
}

fn run(gpu: &FakeGpu, store: &Store, jobs: Vec<Job>) -> Recorder {
    let (runs_per_gpu, packing) = choose_packing(None, &[0], &gpu.probe());
    assert!(matches!(packing, GpuPacking::ByMemory { .. }));
    let slots = scheduler::plan_slots(&SlotRequest {
        devices: sweep_core::experiment::Devices::Auto,
        gpus: vec![0],
        runs_per_gpu,
        jobs: None,
        cpu_threads_per_run: None,
        cores: 16,
        grow_threads: false,
    })
    .unwrap();
    let options = ScheduleOptions {
        packing,
        ..gpu.worker()
    };
    let n = jobs.len();
    let mut recorder = Recorder::default();
    let summary = scheduler::run(store, jobs, slots, &options, &mut recorder);
    assert_eq!(summary.trained.len(), n, "{:?}", summary.failed);
    recorder
}

#[test]
fn first_run_of_a_shape_is_measured_alone_then_runs_pack_as_memory_allows() {
    // 20,000 MiB card, 1,000 used by others: 19,000 free. Measured 3,000
    // MiB a run, so 3,450 with headroom: five fit, six do not.
    let gpu = FakeGpu::new("roomy", 20_000);
    let store = Store::new(gpu.dir.join("results"));
    let rec = run(&gpu, &store, jobs(&store, "0, 1, 2, 3, 4, 5"));
    let (most, first_alone) = gpu.concurrency();
    assert!(first_alone, "the first run is measured alone");
    assert!(
        rec.started_devices[0].contains("measuring"),
        "{:?}",
        rec.started_devices
    );
    assert_eq!(rec.measured, [3000]);
    assert_eq!(most, 5, "3,450 MiB each in 19,000 free");
    const {
        assert!(3000.0 * HEADROOM * 5.0 <= 19_000.0 && 3000.0 * HEADROOM * 6.0 > 19_000.0);
    }
    let saved = Footprints::load(store.root());
    assert_eq!(saved.mib.values().copied().collect::<Vec<_>>(), [3000]);
    assert!(store.root().join(FOOTPRINTS_FILE).exists());

    // A later sweep of the same shape on a card with 7,000 MiB free packs
    // from its first run, two at a time (6,900 ≤ 7,000 < 10,350).
    gpu.clear_log();
    gpu.set_total(8_000);
    let rec = run(&gpu, &store, jobs(&store, "6, 7, 8, 9, 10"));
    let (most, first_alone) = gpu.concurrency();
    assert!(!first_alone, "known footprint: no measuring run");
    assert!(rec.measured.is_empty());
    assert_eq!(most, 2);
    let _ = std::fs::remove_dir_all(&gpu.dir);
}

#[test]
fn a_requested_density_or_a_silent_driver_means_fixed_slots() {
    let gpu = FakeGpu::new("fixed", 20_000);
    let (k, packing) = choose_packing(Some(3), &[0], &gpu.probe());
    assert_eq!(k, Some(3));
    assert!(matches!(packing, GpuPacking::Fixed));
    let silent = GpuMemoryProbe {
        program: gpu.dir.join("no-such-program"),
    };
    let (k, packing) = choose_packing(None, &[0], &silent);
    assert_eq!(k, Some(scheduler::slots::DEFAULT_RUNS_PER_GPU));
    assert!(matches!(packing, GpuPacking::Fixed));
    let (k, _) = choose_packing(None, &[], &gpu.probe());
    assert_eq!(k, None, "no GPU: CPU slots");
    let readings: HashMap<u32, _> = gpu.probe().read().unwrap();
    assert_eq!(readings[&0].total_mib, 20_000);
    let _ = std::fs::remove_dir_all(&gpu.dir);
}

#[test]
fn an_out_of_memory_run_is_retried_alone_and_its_shape_measured_again() {
    // The saved footprint (100 MiB) is far too small: all four runs start
    // together, one runs out of memory, and its retry runs alone, measured.
    let gpu = FakeGpu::new("oom", 20_000);
    let store = Store::new(gpu.dir.join("results"));
    let jobs = jobs(&store, "0, 1, 2, 3");
    let shape = memory_shape(&jobs[0].spec.input.run);
    let mut wrong = Footprints::default();
    wrong.mib.insert(shape.clone(), 100);
    wrong.save(store.root()).unwrap();
    std::fs::write(gpu.dir.join("oom-once"), "").unwrap();

    let rec = run(&gpu, &store, jobs);
    assert!(
        !gpu.dir.join("oom-once").exists(),
        "one worker ran out of memory"
    );
    assert_eq!(gpu.concurrency().0, 3, "the other three ran packed");
    assert!(gpu.last_alone(), "the retry ran alone");
    assert_eq!(rec.measured, [3000]);
    assert_eq!(Footprints::load(store.root()).mib[&shape], 3000);
    let _ = std::fs::remove_dir_all(&gpu.dir);
}
