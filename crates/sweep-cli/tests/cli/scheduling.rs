//! The scheduler under stress: concurrent sweeps on one results folder, the
//! orchestrator killed with SIGKILL mid-sweep, selection and forcing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::common::text;

/// `sweep ARGS` with the default training threads (these tests time and
/// kill real sweeps, so they do not pin `SWEEP_THREADS`).
fn sweep_cmd(args: &[&str]) -> Command {
    let mut cmd = crate::common::sweep_command();
    cmd.env_remove("SWEEP_THREADS").args(args);
    cmd
}

fn sweep(args: &[&str]) -> Output {
    sweep_cmd(args).output().expect("sweep runs")
}

/// 6 short runs on generated data.
const SIX: &str = "
name: six
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: [1e-3, 2e-3, 3e-3]
  seed: [0, 1]
train:
  epochs: 2
  batch_size: 64
  subset: 128
";

fn setup(yaml: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("exp.yaml");
    std::fs::write(&file, yaml).unwrap();
    let results = tmp.path().join("results");
    (tmp, file, results)
}

fn completion_times(results: &Path) -> Vec<(String, SystemTime)> {
    let mut v: Vec<(String, SystemTime)> = std::fs::read_dir(results)
        .map(|rd| {
            rd.filter_map(|e| {
                let p = e.ok()?.path();
                let m = std::fs::metadata(p.join("complete.json")).ok()?;
                Some((
                    p.file_name()?.to_string_lossy().to_string(),
                    m.modified().ok()?,
                ))
            })
            .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Number of times each run folder's worker started training, counted from
/// the JSON event stream of every sweep that touched it.
fn started_runs(outputs: &[&Output]) -> Vec<String> {
    let mut keys = Vec::new();
    for o in outputs {
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
                && v["event"] == "started"
            {
                keys.push(v["key"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    keys.sort();
    keys
}

#[test]
fn two_sweeps_at_once_train_each_run_exactly_once() {
    let (_tmp, file, results) = setup(SIX);
    let args = [
        "run",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--json",
        "--jobs",
        "1",
    ];
    let a = sweep_cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = sweep_cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", text(&a));
    assert!(b.status.success(), "{}", text(&b));
    let started = started_runs(&[&a, &b]);
    let mut unique = started.clone();
    unique.dedup();
    assert_eq!(
        started.len(),
        6,
        "each of 6 runs trained once, got {started:?}"
    );
    assert_eq!(unique.len(), 6);
    assert_eq!(completion_times(&results).len(), 6);
}

#[test]
fn sigkill_of_the_orchestrator_loses_nothing_and_retrains_nothing() {
    let (_tmp, file, results) = setup(SIX);
    let args = [
        "run",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--jobs",
        "1",
    ];
    // Kill at several moments: as early as possible, and after some runs finished.
    for wait_for_done in [0usize, 2, 4] {
        let mut child = sweep_cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while completion_times(&results).len() < wait_for_done && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let before = completion_times(&results);
    assert!(before.len() >= 4, "{before:?}");
    // Orphaned workers may still be finishing; a new sweep waits for them.
    let out = sweep(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("6/6 runs done"), "{}", text(&out));
    let after = completion_times(&results);
    assert_eq!(after.len(), 6);
    for (key, time) in &before {
        let now = after.iter().find(|(k, _)| k == key).map(|(_, t)| *t);
        assert_eq!(now, Some(*time), "finished run {key} was retrained");
    }
    let plan = sweep(&[
        "plan",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert!(
        v["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "done")
    );
}

#[test]
fn only_force_and_exit_codes() {
    let (_tmp, file, results) = setup(SIX);
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    let one = sweep(&[
        "run",
        f,
        "--results",
        r,
        "--only",
        "lr=0.002",
        "--only",
        "seed=1",
    ]);
    assert!(one.status.success(), "{}", text(&one));
    assert!(
        text(&one).contains("1/1 runs done (1 trained, 0 cached)"),
        "{}",
        text(&one)
    );
    let first = completion_times(&results);
    assert_eq!(first.len(), 1);
    std::thread::sleep(Duration::from_millis(20));
    let forced = sweep(&[
        "run",
        f,
        "--results",
        r,
        "--only",
        "lr=2e-3",
        "--only",
        "seed=1",
        "--force",
    ]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert!(text(&forced).contains("1 trained"), "{}", text(&forced));
    assert_ne!(
        completion_times(&results)[0].1,
        first[0].1,
        "--force retrains"
    );
    let bad = sweep(&["run", f, "--results", r, "--only", "lr=banana"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("lr=banana"), "{}", text(&bad));
}

#[test]
fn fail_fast_stops_launching_after_the_first_failure() {
    let (_tmp, file, results) = setup(SIX);
    let out = sweep_cmd(&[
        "run",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--jobs",
        "1",
        "--fail-fast",
        "--max-retries",
        "0",
    ])
    .env("SWEEP_TEST_ABORT_AT_EPOCH", "1")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("1 failed, 5 not run"), "{}", text(&out));
}

/// A run that dies after epoch 2 of 3 continues at epoch 3 and ends with
/// exactly the numbers of an uninterrupted run.
#[test]
fn a_killed_run_resumes_from_its_last_epoch_with_identical_results() {
    let yaml = "
name: resume
grid:
  dataset: synthetic:dermamnist
  arch: small_cnn
  lr: 1e-3
train:
  epochs: 3
  batch_size: 64
  subset: 128
  augmentation: {rotation: 10, hflip: 0.5}
  reduce_lr_on_plateau: {patience: 0, factor: 0.5}
";
    let (tmp, file, _) = setup(yaml);
    crate::common::assert_resumes_like_an_uninterrupted_run(&file, tmp.path(), 3);
}

/// The final val scores are those of the weights kept: the best epoch's row
/// of history.csv, or the last row when early stopping keeps the last weights.
#[test]
fn final_val_scores_are_those_of_the_kept_epoch() {
    for (restore, expect_last) in [("true", false), ("false", true)] {
        let yaml = format!(
            "
name: kept
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: 3e-3
train:
  epochs: 4
  batch_size: 32
  subset: 96
  checkpoint: val_auc
  early_stopping: {{monitor: val_loss, patience: 10, restore_best: {restore}}}
"
        );
        let (_tmp, file, results) = setup(&yaml);
        let out = sweep(&[
            "run",
            file.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out));
        let run = std::fs::read_dir(&results)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.join("metrics.json").exists())
            .unwrap();
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("metrics.json")).unwrap()).unwrap();
        let mut history = csv::Reader::from_path(run.join("history.csv")).unwrap();
        let header = history.headers().unwrap().clone();
        let column = |name: &str| header.iter().position(|h| h == name).unwrap();
        let rows: Vec<csv::StringRecord> = history.records().map(|r| r.unwrap()).collect();
        let kept = if expect_last {
            rows.len()
        } else {
            metrics["best_epoch"].as_u64().unwrap() as usize
        };
        let row = &rows[kept - 1];
        let val_loss: f64 = row[column("val_loss")].parse().unwrap();
        let val_auc: f64 = row[column("val_auc")].parse().unwrap();
        // serde_json's default float parsing may be one ulp off.
        let same = |a: f64, b: f64| (a - b).abs() <= 1e-12;
        let (loss, auc) = (
            metrics["val_loss"].as_f64().unwrap(),
            metrics["val"]["auc"].as_f64().unwrap(),
        );
        assert!(
            same(loss, val_loss),
            "restore_best {restore}: {loss} vs {val_loss}"
        );
        assert!(
            same(auc, val_auc),
            "restore_best {restore}: {auc} vs {val_auc}"
        );
    }
}

/// First Ctrl-C: no new runs, running ones stop after their current epoch
/// (saved); the next `sweep run` continues from there.
#[test]
fn ctrl_c_stops_after_the_current_epoch_and_the_run_resumes() {
    use std::io::{BufRead, BufReader};
    let yaml = "
name: interrupt
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: [1e-3, 2e-3]
train:
  epochs: 6
  batch_size: 32
  subset: 512
";
    let (_tmp, file, results) = setup(yaml);
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    let mut child = sweep_cmd(&["run", f, "--results", r, "--jobs", "1", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("\"event\":\"epoch\"") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        rest.iter().any(|l| l.contains("\"interrupted\"")),
        "{rest:?}"
    );
    let dirs: Vec<PathBuf> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("spec.json").exists())
        .collect();
    assert_eq!(dirs.len(), 1, "the second run never started");
    assert!(!dirs[0].join("complete.json").exists());
    assert!(
        dirs[0].join("resume.json").exists(),
        "the interrupted run saved its epoch"
    );

    let resumed = sweep(&["run", f, "--results", r, "--json"]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let first_epochs: Vec<u64> = String::from_utf8_lossy(&resumed.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            v["event"] == "epoch"
                && v["key"].as_str() == dirs[0].file_name().and_then(|n| n.to_str())
        })
        .filter_map(|v| v["epoch"].as_u64())
        .collect();
    assert!(
        first_epochs.first().is_some_and(|&e| e > 1),
        "resumed, not restarted: {first_epochs:?}"
    );
}
