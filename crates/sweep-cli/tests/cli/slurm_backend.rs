//! `sweep run --backend slurm` against a real Slurm: a single-node cluster
//! (Debian's Slurm 22.05, munged + slurmctld + slurmd on loopback, two fake
//! GPUs) brought up by the project's `scripts/slurm-local/up.sh` under a
//! temporary folder on free ports, and stopped by its PID files afterwards,
//! whatever happens in between.
//!
//! It proves the cluster path end to end: one job array per submission,
//! results identical to a local sweep of the same file, nothing submitted
//! twice, `sweep status` and `sweep cancel` on recorded jobs, cancelled runs
//! resubmitted, GPU tasks seeing the `CUDA_VISIBLE_DEVICES` Slurm set, a
//! failed task recorded in `failure.json` (shown by `sweep status`, skipped
//! until `--retry-failed`), `--json` events, a run trained by the
//! experiment's own command (`worker:`), and a requeued task resuming from
//! its last saved epoch and finishing once.
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

/// Diverges at once: the worker reports `diverged` and exits non-zero.
const BOOM: &str = "
name: slurm_boom
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: 1e12
train:
  epochs: 2
  subset: 128
  optimizer: sgd
";

/// Long enough (many epochs) to be requeued while it trains.
const LONG: &str = "
name: slurm_long
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: 1e-3
train:
  epochs: 40
  batch_size: 32
  subset: 512
resources:
  devices: cpu
";

/// The JSON objects of a `--json` run's stdout; panics on any other line.
fn json_events(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

fn event<'a>(events: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} event in {events:#?}"))
}

/// Step 6: a task whose worker fails leaves `failure.json` as a local failure
/// does: `sweep status` lists it as failed, `sweep run` skips it, and
/// `--retry-failed` submits it again. The waited run reports with `--json`.
fn a_failed_task_is_recorded(cluster: &Cluster, tmp: &Path) {
    let file = tmp.join("boom.yaml");
    std::fs::write(&file, BOOM).unwrap();
    let f = file.to_str().unwrap();
    let results = tmp.join("boom-results");
    let r = results.to_str().unwrap();
    let args = ["run", f, "--results", r, "--backend", "slurm"];
    let out = sweep(cluster, &[&args[..], &["--wait", "--json"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let events = json_events(&out);
    let job = event(&events, "slurm_submitted")["job"]
        .as_str()
        .expect("the job id")
        .to_string();
    assert_eq!(event(&events, "slurm_planned")["to_submit"], 1);
    let failed = event(&events, "run_failed");
    assert_eq!(failed["reason"], "diverged", "{failed}");
    let finished = event(&events, "slurm_finished");
    assert_eq!(finished["done"], 0, "{finished}");
    assert_eq!(
        finished["failed"].as_array().unwrap().len(),
        1,
        "{finished}"
    );

    let dir = &run_dirs(&results)[0];
    let failure = read_json(&dir.join("failure.json"));
    assert_eq!(failure["kind"], "diverged", "{failure}");
    assert_eq!(failure["attempts"], 1, "{failure}");
    let message = failure["message"].as_str().unwrap();
    assert!(
        message.ends_with(&format!("(Slurm task {job}_0)")),
        "{message}"
    );

    let st = text(&sweep(cluster, &["status", f, "--results", r]));
    assert!(st.contains("1 runs — 0 done, 0 running, 1 failed"), "{st}");
    assert!(st.contains("diverged: "), "{st}");
    let again = sweep(cluster, &args);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(
        text(&again).contains("--retry-failed to retry"),
        "{}",
        text(&again)
    );
    assert_eq!(
        submissions(&results).len(),
        1,
        "a failed run is not resubmitted"
    );
    let retried = sweep(cluster, &[&args[..], &["--retry-failed"]].concat());
    assert!(retried.status.success(), "{}", text(&retried));
    assert_eq!(
        submissions(&results).len(),
        2,
        "--retry-failed resubmits it"
    );
    let cancel = sweep(cluster, &["cancel", f, "--results", r]);
    assert!(cancel.status.success(), "{}", text(&cancel));
}

/// A run trained by the experiment's own command (`worker:`) goes through
/// an array task like any run: the task's worker hands it to the command,
/// which sees the task's environment, and the run completes with metrics
/// sweep computed from its predictions.
fn an_external_command_runs_as_an_array_task(cluster: &Cluster, tmp: &Path) {
    let project = tmp.join("external");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("train.py"),
        r#"
import json, os
inputs = json.load(open(os.environ["SWEEP_INPUTS"]))
assert os.environ["SWEEP_DEVICE"] == "cpu" and os.environ.get("SLURM_JOB_ID")
for split, path in (("val", "val_predictions"), ("test", "test_predictions")):
    rows = ["p_0"] + ["0.%d" % (i % 10) for i in inputs["indices"][split]]
    open(inputs["outputs"][path], "w").write(chr(10).join(rows) + chr(10))
"#,
    )
    .unwrap();
    let file = project.join("external.yaml");
    std::fs::write(
        &file,
        "name: slurm_external\nworker: {command: [python3, train.py], code: [train.py]}\n\
         grid:\n  dataset: synthetic:breastmnist\n  arch: own_net\ntrain:\n  subset: 128\n",
    )
    .unwrap();
    let results = project.join("results");
    let out = sweep(
        cluster,
        &[
            "run",
            file.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
            "--backend",
            "slurm",
            "--wait",
            "--time",
            "00:05:00",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1/1 runs done (1 trained on Slurm, 0 cached), 0 failed"),
        "{}",
        text(&out)
    );
    let dir = &run_dirs(&results)[0];
    let metrics = read_json(&dir.join("metrics.json"));
    assert_eq!(metrics["arch"], "own_net");
    assert_eq!(
        metrics["command"],
        serde_json::json!(["python3", "train.py"])
    );
    assert!(metrics["test"]["auc"].is_number(), "{metrics}");
}

/// Step 7: a running task requeued (`scontrol requeue`) stops after its epoch,
/// runs again, resumes from the saved epoch and finishes once.
fn a_requeued_task_resumes(cluster: &Cluster, tmp: &Path) {
    let file = tmp.join("long.yaml");
    std::fs::write(&file, LONG).unwrap();
    let results = tmp.join("long-results");
    let wait = Command::new(env!("CARGO_BIN_EXE_sweep"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
            "--backend",
            "slurm",
            "--wait",
            "--json",
            "--cpus-per-run",
            "1",
        ])
        .env_remove("SWEEP_RESULTS_DIR")
        .env("SLURM_CONF", cluster.slurm_conf())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sweep runs");
    // Wait for the first saved epoch, then requeue the task under it.
    let t0 = Instant::now();
    let saved = loop {
        let dir = results
            .is_dir()
            .then(|| run_dirs(&results).into_iter().next())
            .flatten();
        if let Some(dir) = dir.filter(|d| d.join("resume.json").is_file()) {
            break dir;
        }
        assert!(t0.elapsed().as_secs() < 120, "no epoch saved in 120 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let record = read_json(&submissions(&results)[0].join("job.json"));
    let task = format!("{}_0", record["job_id"].as_str().unwrap());
    let requeue = cluster.client("scontrol", &["requeue", &task]);
    assert!(
        requeue.trim().is_empty(),
        "scontrol requeue {task}: {requeue}"
    );
    // Slurm holds a requeued job back for a while (BeginTime): let it
    // start again now rather than minutes later.
    let t1 = Instant::now();
    while t1.elapsed().as_secs() < 30 {
        let reason = cluster.client("squeue", &["-h", "-j", &task, "-o", "%r"]);
        if reason.contains("BeginTime") {
            let id = format!("JobId={task}");
            cluster.client("scontrol", &["update", &id, "StartTime=now"]);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    let out = wait.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let events = json_events(&out);
    assert_eq!(event(&events, "slurm_finished")["done"], 1);
    assert!(
        events.iter().any(|e| e["event"] == "run_done"),
        "{events:#?}"
    );
    let log = std::fs::read_to_string(saved.join("worker.log")).unwrap();
    let attempts: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("training from epoch"))
        .collect();
    assert_eq!(
        attempts.len(),
        2,
        "trained twice, not {}:\n{log}",
        attempts.len()
    );
    assert!(attempts[0].contains("training from epoch 1 of 40"), "{log}");
    assert!(attempts[1].ends_with("(resumed)"), "{log}");
    assert!(
        !attempts[1].contains("from epoch 1 of"),
        "resumed at epoch 1:\n{log}"
    );
    assert_eq!(log.matches("sweep worker: completed").count(), 1, "{log}");
    let history = std::fs::read_to_string(saved.join("history.csv")).unwrap();
    assert_eq!(
        history.lines().count(),
        1 + 40,
        "one row per epoch:\n{history}"
    );
    assert!(saved.join("complete.json").is_file());
}

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

    a_failed_task_is_recorded(&cluster, tmp.path());
    eprintln!("[{:5.1}s] failed task recorded", t0.elapsed().as_secs_f64());
    an_external_command_runs_as_an_array_task(&cluster, tmp.path());
    eprintln!(
        "[{:5.1}s] external command done",
        t0.elapsed().as_secs_f64()
    );
    a_requeued_task_resumes(&cluster, tmp.path());
    eprintln!(
        "[{:5.1}s] requeued task resumed",
        t0.elapsed().as_secs_f64()
    );
    drop(cluster);
    eprintln!("[{:5.1}s] cluster down", t0.elapsed().as_secs_f64());
}
