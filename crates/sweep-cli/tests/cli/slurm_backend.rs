//! `sweep run --backend slurm` against a real Slurm: a single-node cluster
//! (Debian's Slurm 22.05, munged + slurmctld + slurmd on loopback, two fake
//! GPUs) brought up by the project's `scripts/slurm-local/up.sh` under a
//! temporary folder on free ports, and stopped by its PID files afterwards,
//! whatever happens in between.
//!
//! It proves the cluster path end to end: one job array per submission,
//! results identical to a local sweep of the same file, nothing submitted
//! twice, `sweep status` and `sweep cancel` on recorded jobs, cancelled runs
//! resubmitted, and GPU tasks seeing the `CUDA_VISIBLE_DEVICES` Slurm set.
//!
//! Recorded as skipped (`common::skip`) when the machine cannot host the
//! cluster: not root, or Slurm missing and no `apt-get` to install it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::common::{skip, text};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Two distinct free loopback ports (both held until both are known).
fn free_ports() -> (u16, u16) {
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let (a, b) = (bind(), bind());
    let port = |l: &std::net::TcpListener| l.local_addr().unwrap().port();
    (port(&a), port(&b))
}

/// A running local cluster; dropping it runs `down.sh --purge`, which stops
/// exactly the daemons whose PID files `up.sh` wrote.
struct Cluster {
    root: PathBuf,
    env: Vec<(String, String)>,
}

impl Cluster {
    fn start(root: PathBuf) -> Result<Cluster, (Cluster, String)> {
        let (ctld, slurmd) = free_ports();
        let env = vec![
            ("SLURM_LOCAL_ROOT".to_string(), root.display().to_string()),
            ("SLURM_FAKE_GPUS".to_string(), "2".to_string()),
            ("SLURM_CTLD_PORT".to_string(), ctld.to_string()),
            ("SLURM_D_PORT".to_string(), slurmd.to_string()),
        ];
        // The guard exists before up.sh runs, so a half-started cluster is stopped too.
        let cluster = Cluster { root, env };
        let out = Command::new(repo_root().join("scripts/slurm-local/up.sh"))
            .envs(cluster.env.iter().cloned())
            .output();
        match out {
            Ok(o) if o.status.success() => Ok(cluster),
            Ok(o) => {
                let why = format!("up.sh failed ({}):\n{}", o.status, text(&o));
                Err((cluster, why))
            }
            Err(e) => Err((cluster, format!("up.sh did not start: {e}"))),
        }
    }

    fn slurm_conf(&self) -> PathBuf {
        self.root.join("etc/slurm.conf")
    }

    /// A Slurm client command against this cluster.
    fn client(&self, program: &str, args: &[&str]) -> String {
        let out = Command::new(program)
            .args(args)
            .env("SLURM_CONF", self.slurm_conf())
            .output()
            .expect("slurm client runs");
        text(&out)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        match Command::new(repo_root().join("scripts/slurm-local/down.sh"))
            .arg("--purge")
            .envs(self.env.iter().cloned())
            .output()
        {
            Ok(o) => eprint!("{}", text(&o)),
            Err(e) => eprintln!("down.sh did not run: {e}"),
        }
    }
}

fn sweep(cluster: &Cluster, args: &[&str]) -> Output {
    crate::common::sweep_command()
        .args(args)
        .env("SLURM_CONF", cluster.slurm_conf())
        .output()
        .expect("sweep runs")
}

/// Two configurations × two folds of a synthetic dataset, one epoch each.
const SMOKE: &str = "
name: slurm_smoke
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: [1e-3, 3e-3]
  folds: {k: 2, stratified: true, split_seed: 0}
train:
  epochs: 1
  batch_size: 64
  subset: 128
  checkpoint: val_auc
resources:
  devices: cpu
  cpu_threads_per_run: 1
";

const ONE_RUN: &str = "
name: slurm_gpu
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: 1e-3
train:
  epochs: 1
  batch_size: 64
  subset: 128
";

fn run_dirs(results: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    v.sort();
    v
}

/// The submission folders under `results/.slurm/`.
fn submissions(results: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(results.join(".slurm"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

#[test]
fn slurm_backend_end_to_end() {
    let t0 = Instant::now();
    let tmp = tempfile::tempdir().unwrap();

    // Cluster options without `--backend` are a usage error, not silently ignored.
    let file = tmp.path().join("smoke.yaml");
    std::fs::write(&file, SMOKE).unwrap();
    let f = file.to_str().unwrap();
    let usage = Command::new(env!("CARGO_BIN_EXE_sweep"))
        .args(["run", f, "--wait"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage));
    assert!(text(&usage).contains("--backend"), "{}", text(&usage));

    if !is_root() {
        skip("the local Slurm cluster needs root (slurmd, munged, fake GPU devices)");
        return;
    }
    if !on_path("sbatch") && !on_path("apt-get") {
        skip("sbatch is not installed and apt-get is unavailable to install slurm-wlm");
        return;
    }
    // munged runs as user `munge` and must reach its socket under the temp folder.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let cluster = match Cluster::start(tmp.path().join("slurm")) {
        Ok(c) => c,
        Err((_guard, why)) => panic!("{why}"),
    };
    eprintln!("[{:5.1}s] cluster up", t0.elapsed().as_secs_f64());

    // 1. The smoke sweep as one job array (2 tasks × 2 runs, 2 at once), waited for,
    //    with the report job chained after it.
    let r1 = tmp.path().join("slurm-results");
    let r1s = r1.to_str().unwrap();
    let out = sweep(
        &cluster,
        &[
            "run",
            f,
            "--results",
            r1s,
            "--backend",
            "slurm",
            "--wait",
            "--cpus-per-run",
            "1",
            "--runs-per-task",
            "2",
            "--array-parallelism",
            "2",
            "--time",
            "00:10:00",
            "--dependency-report",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let log = text(&out);
    assert!(
        log.contains("4/4 runs done (4 trained on Slurm, 0 cached), 0 failed"),
        "{log}"
    );
    let job_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !job_id.is_empty() && job_id.chars().all(|c| c.is_ascii_digit()),
        "stdout is the job id: {log}"
    );
    let subs = submissions(&r1);
    assert_eq!(subs.len(), 1, "one submission: {subs:?}");
    let record = read_json(&subs[0].join("job.json"));
    assert_eq!(record["job_id"], job_id.as_str());
    assert_eq!(record["array"], "0-1%2");
    let tasks = record["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t.as_array().unwrap().len() == 2));
    let script = std::fs::read_to_string(subs[0].join("job.sbatch")).unwrap();
    for line in [
        "#!/bin/bash\n",
        "#SBATCH --cpus-per-task=1\n",
        "#SBATCH --time=00:10:00\n",
        "export SWEEP_DEVICE=cpu\n",
    ] {
        assert!(script.contains(line), "{line:?} missing from\n{script}");
    }
    let listed: Vec<String> = std::fs::read_to_string(subs[0].join("runs.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(listed.len(), 4);
    let dirs = run_dirs(&r1);
    assert_eq!(dirs.len(), 4);
    for d in &dirs {
        assert!(
            d.join("complete.json").is_file(),
            "{} not complete",
            d.display()
        );
        assert!(listed.contains(&d.canonicalize().unwrap().display().to_string()));
    }
    // Slurm itself says every task completed.
    let states = cluster.client(
        "squeue",
        &["-h", "-r", "-t", "all", "-j", &job_id, "-o", "%i %T"],
    );
    assert_eq!(states.matches("COMPLETED").count(), 2, "{states}");
    let report = std::fs::read_to_string(subs[0].join("report.md")).unwrap_or_default();
    assert!(
        report.contains("| 0.003 |") && report.contains("synthetic:breastmnist"),
        "report.md:\n{report}"
    );
    eprintln!("[{:5.1}s] slurm sweep done", t0.elapsed().as_secs_f64());

    // 2. The same file locally, into another results folder: identical numbers.
    let r2 = tmp.path().join("local-results");
    let local = sweep(&cluster, &["run", f, "--results", r2.to_str().unwrap()]);
    assert!(local.status.success(), "{}", text(&local));
    assert!(
        text(&local).contains("4/4 runs done (4 trained"),
        "{}",
        text(&local)
    );
    let local_dirs = run_dirs(&r2);
    assert_eq!(
        dirs.iter().map(|d| d.file_name()).collect::<Vec<_>>(),
        local_dirs.iter().map(|d| d.file_name()).collect::<Vec<_>>(),
        "same run keys"
    );
    for (a, b) in dirs.iter().zip(&local_dirs) {
        let (ma, mb) = (
            read_json(&a.join("metrics.json")),
            read_json(&b.join("metrics.json")),
        );
        assert_eq!(ma["test"], mb["test"], "{}", a.display());
        assert_eq!(ma["val_loss"], mb["val_loss"], "{}", a.display());
        assert_eq!(ma["device"], "cpu");
    }
    eprintln!("[{:5.1}s] local sweep matches", t0.elapsed().as_secs_f64());

    // 3. Everything is cached now: nothing is submitted, status shows the finished array.
    let again = sweep(
        &cluster,
        &["run", f, "--results", r1s, "--backend", "slurm"],
    );
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("nothing to submit; 4/4 runs done"),
        "{}",
        text(&again)
    );
    assert_eq!(submissions(&r1).len(), 1);
    let status = sweep(&cluster, &["status", f, "--results", r1s]);
    let st = text(&status);
    assert!(st.contains("4 runs — 4 done"), "{st}");
    assert!(
        st.contains(&format!("slurm: job {job_id} ")) && st.contains("2 COMPLETED"),
        "{st}"
    );

    // 4. A held array: queued in status, not submitted twice, cancelled, then
    //    resubmitted and trained.
    let r3 = tmp.path().join("cancel-results");
    let r3s = r3.to_str().unwrap();
    let held = sweep(
        &cluster,
        &[
            "run",
            f,
            "--results",
            r3s,
            "--backend",
            "slurm",
            "--sbatch-arg=--hold",
        ],
    );
    assert!(held.status.success(), "{}", text(&held));
    let held_id = String::from_utf8_lossy(&held.stdout).trim().to_string();
    let st = text(&sweep(&cluster, &["status", f, "--results", r3s]));
    assert!(
        st.contains("(4 queued on Slurm)") && st.contains("JobHeldUser"),
        "{st}"
    );
    let dup = sweep(
        &cluster,
        &["run", f, "--results", r3s, "--backend", "slurm"],
    );
    assert!(dup.status.success(), "{}", text(&dup));
    assert!(text(&dup).contains("4 already queued"), "{}", text(&dup));
    assert_eq!(
        submissions(&r3).len(),
        1,
        "queued runs are not submitted twice"
    );
    let cancel = sweep(&cluster, &["cancel", f, "--results", r3s]);
    assert!(cancel.status.success(), "{}", text(&cancel));
    assert!(
        text(&cancel).contains(&format!("cancelled Slurm job {held_id}")),
        "{}",
        text(&cancel)
    );
    let states = cluster.client(
        "squeue",
        &["-h", "-r", "-t", "all", "-j", &held_id, "-o", "%T"],
    );
    assert!(
        !states.trim().is_empty() && states.lines().all(|l| l.trim() == "CANCELLED"),
        "{states}"
    );
    let st = text(&sweep(&cluster, &["status", f, "--results", r3s]));
    assert!(
        st.contains("4 pending (0 queued on Slurm)") && st.contains("ended CANCELLED"),
        "{st}"
    );
    let resumed = sweep(
        &cluster,
        &[
            "run",
            f,
            "--results",
            r3s,
            "--backend",
            "slurm",
            "--wait",
            "--cpus-per-run",
            "1",
        ],
    );
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert!(
        text(&resumed).contains("4/4 runs done (4 trained on Slurm"),
        "{}",
        text(&resumed)
    );
    eprintln!(
        "[{:5.1}s] cancel and resubmit done",
        t0.elapsed().as_secs_f64()
    );

    // 5. One run on a (fake) GPU: the task sees the device Slurm granted it,
    // and a worker that cannot use that device refuses it (`no-device`)
    // rather than training on the CPU.
    let gpu_file = tmp.path().join("gpu.yaml");
    std::fs::write(&gpu_file, ONE_RUN).unwrap();
    let r4 = tmp.path().join("gpu-results");
    let gpu = sweep(
        &cluster,
        &[
            "run",
            gpu_file.to_str().unwrap(),
            "--results",
            r4.to_str().unwrap(),
            "--backend",
            "slurm",
            "--wait",
            "--gpus-per-run",
            "1",
        ],
    );
    let sub = &submissions(&r4)[0];
    let script = std::fs::read_to_string(sub.join("job.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --gres=gpu:1\n"), "{script}");
    let output = std::fs::read_dir(sub)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("task-")
        })
        .map(|p| std::fs::read_to_string(p).unwrap())
        .expect("the task's output file");
    let visible = output
        .split("CUDA_VISIBLE_DEVICES=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("");
    assert!(
        visible == "0" || visible == "1",
        "the task should see one of the node's two GPUs, got {visible:?}:\n{output}"
    );
    let run = &run_dirs(&r4)[0];
    let host_has_gpu = Command::new("nvidia-smi")
        .arg("-L")
        .output()
        .is_ok_and(|o| o.status.success());
    if run.join("complete.json").is_file() {
        // Only where the node's fake GPU index is also a real card.
        assert!(host_has_gpu, "trained without a GPU:\n{}", text(&gpu));
        assert!(gpu.status.success(), "{}", text(&gpu));
    } else {
        // The worker's `failed` event, read back from the task's output.
        let printed = text(&gpu);
        assert!(!gpu.status.success(), "{printed}");
        assert!(printed.contains("no-device: "), "{printed}");
        assert!(
            printed.contains(&format!("CUDA_VISIBLE_DEVICES=\"{visible}\"")),
            "{printed}"
        );
    }
    eprintln!("[{:5.1}s] gpu task done", t0.elapsed().as_secs_f64());
    drop(cluster);
    eprintln!("[{:5.1}s] cluster down", t0.elapsed().as_secs_f64());
}
