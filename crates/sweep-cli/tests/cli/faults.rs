//! Disk and permission faults: a read-only results folder, a full disk, a
//! run folder deleted during or after a sweep, and results edited after a
//! run finished. Each must give a clear error or a re-run, never a wrong
//! table or a half-written run that looks done.
//!
//! Read-only and full file systems are real: a small tmpfs mounted in a
//! private mount namespace (`unshare -rm`, no root needed). Where user
//! namespaces are not available those two tests are recorded as skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;
use common::{skip, sweep, sweep_command, text};

const TWO_RUNS: &str = "
name: faults
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: [1e-3, 3e-3]
train:
  epochs: 1
  subset: 64
";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_sweep")
}

fn setup(yaml: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("faults.yaml");
    std::fs::write(&file, yaml).unwrap();
    let results = tmp.path().join("results");
    (tmp, file, results)
}

fn run_args<'a>(file: &'a Path, results: &'a Path) -> Vec<&'a str> {
    vec![
        "run",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--devices",
        "cpu",
        "--jobs",
        "1",
    ]
}

/// Runs `script` (sh) with a tmpfs of `options` mounted at `$MNT` in a
/// private mount namespace; `None` when this machine cannot do that.
fn with_tmpfs(options: &str, mount_point: &Path, script: &str) -> Option<Output> {
    let probe = Command::new("unshare")
        .args(["-rm", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !probe {
        skip("`unshare -rm` (user and mount namespaces) is not available here");
        return None;
    }
    std::fs::create_dir_all(mount_point).unwrap();
    let full = format!("mount -t tmpfs -o {options} tmpfs \"$MNT\" || exit 97\n{script}");
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", &full])
        .env("MNT", mount_point)
        .env("SWEEP", bin())
        .env("SWEEP_THREADS", "1")
        .env_remove("SWEEP_RESULTS_DIR")
        .output()
        .unwrap();
    if out.status.code() == Some(97) {
        skip(&format!("cannot mount a tmpfs here: {}", text(&out)));
        return None;
    }
    Some(out)
}

#[test]
fn a_read_only_results_folder_is_refused_before_any_run_starts() {
    let (tmp, file, _) = setup(TWO_RUNS);
    let mnt = tmp.path().join("ro");
    let script = format!(
        "\"$SWEEP\" run {} --results \"$MNT/results\" --devices cpu; echo \"exit=$?\"",
        file.display()
    );
    let Some(out) = with_tmpfs("ro,size=1m", &mnt, &script) else {
        return;
    };
    let t = text(&out);
    assert!(t.contains("exit=") && !t.contains("exit=0"), "{t}");
    assert!(t.contains("is not writable: Read-only file system"), "{t}");
    assert!(!t.contains("start "), "a run started: {t}");
}

#[test]
fn a_full_disk_fails_runs_clearly_and_leaves_nothing_that_looks_done() {
    let (tmp, file, _) = setup(TWO_RUNS);
    let mnt = tmp.path().join("full");
    // Room for the specs and logs, not for a checkpoint (small_cnn: ~0.9 MB).
    let script = format!(
        "\"$SWEEP\" run {f} --results \"$MNT/r\" --devices cpu --jobs 1 --max-retries 0; echo \"exit=$?\"\n\
         \"$SWEEP\" status {f} --results \"$MNT/r\"\n\
         find \"$MNT/r\" -name '*tmp*' | sed 's/^/leftover: /'",
        f = file.display()
    );
    let Some(out) = with_tmpfs("size=300k", &mnt, &script) else {
        return;
    };
    let t = text(&out);
    assert!(t.contains("exit=1"), "{t}");
    assert!(t.contains("No space left on device"), "{t}");
    assert!(t.contains("0 done"), "{t}");
    assert!(!t.contains("exit status 101"), "the worker panicked: {t}");
    assert!(
        !t.contains("leftover: "),
        "temporary files left behind: {t}"
    );
}

#[test]
fn a_run_folder_deleted_after_or_during_a_sweep_is_trained_again() {
    let (_tmp, file, results) = setup(TWO_RUNS);
    let first = sweep(&run_args(&file, &results));
    assert!(first.status.success(), "{}", text(&first));
    let dirs: Vec<PathBuf> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("complete.json").is_file())
        .collect();
    assert_eq!(dirs.len(), 2);
    std::fs::remove_dir_all(&dirs[0]).unwrap();
    let again = sweep(&run_args(&file, &results));
    let t = text(&again);
    assert!(again.status.success(), "{t}");
    assert!(t.contains("2/2 runs done (1 trained, 1 cached)"), "{t}");

    // During a sweep: delete each run's folder as soon as it appears.
    let (_tmp2, file, results) = setup(&TWO_RUNS.replace("epochs: 1", "epochs: 3"));
    let mut child = sweep_command()
        .args(run_args(&file, &results))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut deleted = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(entries) = std::fs::read_dir(&results) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir()
                    && !p.file_name().unwrap().to_string_lossy().starts_with('.')
                    && p.join("spec.json").is_file()
                    && deleted < 1
                    && std::fs::remove_dir_all(&p).is_ok()
                {
                    deleted += 1;
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(deleted, 1, "no run folder appeared to delete");
    let finish = sweep(&[&run_args(&file, &results)[..], &["--retry-failed"]].concat());
    let t = text(&finish);
    assert!(finish.status.success(), "{t}");
    assert!(t.contains("2/2 runs done"), "{t}");
}

#[test]
fn edited_results_are_retrained_or_kept_out_of_the_table() {
    let (_tmp, file, results) = setup(TWO_RUNS);
    assert!(sweep(&run_args(&file, &results)).status.success());
    let mut metrics: Vec<PathBuf> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path().join("metrics.json"))
        .filter(|p| p.is_file())
        .collect();
    metrics.sort();

    // Truncated: the run is stale and is trained again.
    let bytes = std::fs::read(&metrics[0]).unwrap();
    std::fs::write(&metrics[0], &bytes[..bytes.len() / 2]).unwrap();
    let status = sweep(&[
        "status",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    assert!(text(&status).contains("1 done"), "{}", text(&status));
    let again = sweep(&run_args(&file, &results));
    let t = text(&again);
    assert!(t.contains("2/2 runs done (1 trained, 1 cached)"), "{t}");

    // Same size, still valid JSON, another number: the report refuses it.
    let original = std::fs::read_to_string(&metrics[1]).unwrap();
    let forged = original.replacen("\"test_loss\":", "\"test_lesz\":", 1);
    assert_eq!(forged.len(), original.len());
    std::fs::write(&metrics[1], forged).unwrap();
    let report = sweep(&[
        "report",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    let t = text(&report);
    assert!(t.contains("content changed since the run finished"), "{t}");
}
