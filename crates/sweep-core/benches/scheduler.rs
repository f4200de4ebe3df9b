//! `cargo bench -p sweep-core --bench scheduler`: the orchestrator's own
//! overheads, measured with a no-op worker (a shell one-liner that only
//! writes the completion marker), printed against their targets:
//!
//! * scheduler overhead per run (target < 50 ms),
//! * a fully cached re-plan of 200 finished runs (target < 1 s).

use std::path::{Path, PathBuf};
use std::time::Instant;

use sweep_core::fingerprints::{Fingerprint, FingerprintError, Fingerprints};
use sweep_core::plan::plan;
use sweep_core::scheduler::{
    self, Job, Progress, Reporter, RetryPolicy, ScheduleOptions, SlotRequest,
};
use sweep_core::store::Store;
use sweep_data::catalog::DatasetRef;

struct Fixed;
impl Fingerprints for Fixed {
    fn fingerprint(&self, _: &DatasetRef, _: &Path) -> Result<Fingerprint, FingerprintError> {
        Ok(("0".repeat(64), None))
    }
}

struct Quiet;
impl Reporter for Quiet {
    fn report(&mut self, _: &Progress) {}
}

const GRID: &str = "
name: bench
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: [1e-2, 3e-3, 1e-3, 3e-4, 1e-4]
  seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39]
";

const NOOP_WORKER: &str =
    r#"k=$(basename "$1"); printf '{"key":"%s","files":[]}' "$k" > "$1/complete.json""#;

fn main() {
    let tmp = std::env::temp_dir().join(format!("sweep-sched-bench-{}", std::process::id()));
    let store = Store::new(&tmp);
    let exp = sweep_core::spec::load_str(GRID, Path::new("bench.yaml")).expect("valid");
    let p = plan(&exp, Default::default(), Path::new("."), &store, &Fixed);
    let jobs: Vec<Job> = p
        .runs
        .iter()
        .map(|r| Job::planned(r, "bench", String::new()).expect("keyed"))
        .collect();
    let n = jobs.len();
    let slots = scheduler::plan_slots(&SlotRequest {
        devices: sweep_core::experiment::Devices::Cpu,
        gpus: vec![],
        runs_per_gpu: None,
        jobs: Some(1),
        cpu_threads_per_run: Some(1),
        cores: 1,
        grow_threads: false,
    })
    .expect("slots");
    let options = ScheduleOptions {
        program: PathBuf::from("sh"),
        args: vec!["-c".into(), NOOP_WORKER.into(), "sh".into()],
        policy: RetryPolicy::default(),
        timeout: None,
        packing: Default::default(),
    };
    // Cost of the no-op process alone, to subtract.
    let spawn_start = Instant::now();
    for _ in 0..20 {
        std::process::Command::new("sh")
            .args(["-c", "true"])
            .status()
            .expect("sh");
    }
    let spawn = spawn_start.elapsed().as_secs_f64() / 20.0;

    let started = Instant::now();
    let summary = scheduler::run(&store, jobs, slots, &options, &mut Quiet);
    let per_run = started.elapsed().as_secs_f64() / n as f64;
    assert_eq!(
        summary.trained.len(),
        n,
        "{:?}",
        summary.failed.first().map(|f| &f.2)
    );
    println!(
        "scheduler overhead per run: {:.1} ms ({:.1} ms of it is starting `sh`); target < 50 ms; ratio {:.2}",
        per_run * 1e3,
        spawn * 1e3,
        per_run / 0.050
    );

    let started = Instant::now();
    let replan = plan(&exp, Default::default(), Path::new("."), &store, &Fixed);
    let cached = started.elapsed().as_secs_f64();
    assert_eq!(replan.count("done"), n);
    println!(
        "fully cached re-plan of {n} runs: {cached:.3} s; target < 1 s; ratio {:.2}",
        cached / 1.0
    );
    let _ = std::fs::remove_dir_all(tmp);
}
