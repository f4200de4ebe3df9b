//! Runs trained by an experiment's own command (`worker:`), end to end
//! through `sweep` and `sweep-worker`: metrics computed from the command's
//! predictions, caching, an edit that makes runs stale, and every failure
//! the protocol names (docs/protocol.md), each with its message.
//!
//! The commands are small Python scripts that need nothing but the
//! standard library, so these tests run wherever `python3` does.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{sweep, sweep_command, text};

/// A stand-in training command: reads `inputs.json`, records that it
/// started, and writes predictions whose scores depend only on the sample
/// (so sweep's metrics can be checked against the files). Its first
/// argument picks a behaviour.
const FAKE: &str = r#"
import json, os, sys, time
inputs = json.load(open(os.environ["SWEEP_INPUTS"]))
mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
with open(os.path.join(os.environ["SWEEP_CODE_DIR"], "starts.log"), "a") as f:
    f.write(inputs["key"] + "\n")
if os.path.realpath(os.getcwd()) != os.path.realpath(os.environ["SWEEP_RUN_DIR"]):
    sys.exit("not started in the run folder")
if os.environ.get("SWEEP_DEVICE") != "cpu":
    sys.exit("no device given")
if mode == "crash":
    print("boom: bad thing", file=sys.stderr)
    sys.exit(3)
if mode == "slow":
    time.sleep(float(sys.argv[2]))
print(json.dumps({"event": "started", "key": inputs["key"], "device": "cpu", "params": 7,
                  "train_samples": len(inputs["indices"]["train"]),
                  "val_samples": len(inputs["indices"]["val"]), "epochs": 1}))
print("some chatter that is not an event")
outs = inputs["num_outputs"]
def write(path, idx, cols, drop):
    rows = ["index," + ",".join("p_%d" % j for j in range(cols))]
    for i, pool in enumerate(idx):
        rows.append("%d," % i + ",".join(str((pool % 10) / 10) for _ in range(cols)))
    open(path, "w").write("\n".join(rows[:len(rows) - drop]) + "\n")
if mode != "missing-val":
    write(inputs["outputs"]["val_predictions"], inputs["indices"]["val"], outs, 0)
write(inputs["outputs"]["test_predictions"], inputs["indices"]["test"],
      outs + (mode == "classes"), mode == "short")
open(inputs["outputs"]["history"], "w").write("epoch,train_loss,val_loss\n1,0.5,0.4\n")
"#;

/// A project folder with the fake command in `train.py`.
fn project(yaml: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("train.py"), FAKE).unwrap();
    let file = tmp.path().join("x.yaml");
    std::fs::write(&file, yaml).unwrap();
    let results = tmp.path().join("results");
    (tmp, file, results)
}

fn run(file: &Path, results: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--devices",
        "cpu",
    ];
    args.extend_from_slice(extra);
    sweep(&args)
}

fn starts(tmp: &Path) -> Vec<String> {
    std::fs::read_to_string(tmp.join("starts.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The run folders under `results`, sorted.
fn run_dirs(results: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(results)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("spec.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

const BESIDE: &str = "\
name: beside
worker: {command: [python3, train.py], code: [train.py]}
grid:
  dataset: synthetic:breastmnist
  arch: fake_net
  folds: {k: 2}
include:
  - {arch: small_cnn, worker: none}
train:
  epochs: 1
  subset: 64
";

#[test]
fn a_command_trains_runs_that_sweep_scores_caches_and_reports() {
    let (tmp, file, results) = project(BESIDE);
    let f = file.to_str().unwrap();
    let validate = sweep(&["validate", f]);
    assert!(validate.status.success(), "{}", text(&validate));
    assert!(
        text(&validate).contains(
            "commands this experiment runs (each as its own process in its run's folder, never through a shell):\n  fake_net: python3 train.py\n"
        ),
        "{}",
        text(&validate)
    );

    let first = run(&file, &results, &[]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("4/4 runs done (4 trained, 0 cached)"),
        "{}",
        text(&first)
    );
    assert_eq!(starts(tmp.path()).len(), 2, "one start per fold");

    for dir in run_dirs(&results) {
        let metrics = json(&dir.join("metrics.json"));
        if metrics["arch"] != "fake_net" {
            continue;
        }
        // Every number comes from the predictions: recompute the test accuracy.
        let csv = std::fs::read_to_string(dir.join("predictions.csv")).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("index,y_0,p_0"));
        let (mut right, mut n) = (0usize, 0usize);
        for line in lines {
            let cells: Vec<&str> = line.split(',').collect();
            let y: u8 = cells[1].parse().unwrap();
            let p: f64 = cells[2].parse().unwrap();
            right += usize::from(u8::from(p >= 0.5) == y);
            n += 1;
        }
        assert_eq!(metrics["test"]["n_samples"], n);
        assert_eq!(
            metrics["test"]["accuracy"].as_f64(),
            Some(right as f64 / n as f64)
        );
        assert_eq!(metrics["epochs_run"], 1);
        // From the command's `started` event: the report's Params column.
        assert_eq!(metrics["params"], 7, "{metrics}");
        assert_eq!(
            metrics["command"],
            serde_json::json!(["python3", "train.py"])
        );
        let complete = std::fs::read_to_string(dir.join("complete.json")).unwrap();
        for name in ["inputs.json", "val_predictions.csv", "history.csv"] {
            assert!(complete.contains(name), "{complete}");
        }
        let log = std::fs::read_to_string(dir.join("worker.log")).unwrap();
        assert!(log.contains("some chatter that is not an event"), "{log}");
        // The command's history.csv becomes TensorBoard curves, as the
        // trainer's does: one event file, under tb/<label>/.
        let events: Vec<_> = std::fs::read_dir(dir.join("tb"))
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .map(|f| f.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("tfevents"))
            .collect();
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(std::fs::metadata(&events[0]).unwrap().len() > 0);
    }

    let again = run(&file, &results, &[]);
    assert!(
        text(&again).contains("4/4 runs done (0 trained, 4 cached)"),
        "{}",
        text(&again)
    );
    assert_eq!(starts(tmp.path()).len(), 2);

    let report = sweep(&[
        "report",
        f,
        "--results",
        results.to_str().unwrap(),
        "--baseline",
        "arch=small_cnn",
    ]);
    assert!(report.status.success(), "{}", text(&report));
    assert!(text(&report).contains("fake_net"), "{}", text(&report));
    // The command's model name selects its runs like any arch.
    let only = sweep(&[
        "report",
        f,
        "--results",
        results.to_str().unwrap(),
        "--where",
        "arch=fake_net",
        "--format",
        "csv",
    ]);
    assert!(only.status.success(), "{}", text(&only));
    assert!(!text(&only).contains("small_cnn"), "{}", text(&only));

    // An edit to the command's code: its runs are stale, and the plan says why.
    let mut code = std::fs::read_to_string(tmp.path().join("train.py")).unwrap();
    code.push_str("# tuned\n");
    std::fs::write(tmp.path().join("train.py"), code).unwrap();
    let plan = sweep(&["plan", f, "--results", results.to_str().unwrap()]);
    let shown = text(&plan);
    let reasons: Vec<&str> = shown.lines().filter(|l| l.starts_with("stale ")).collect();
    assert_eq!(reasons.len(), 2, "{shown}");
    for line in reasons {
        assert!(
            line.contains(": code changed since it finished (")
                && line.ends_with("): train.py edited"),
            "{line}"
        );
    }
    assert!(
        shown.contains("2 done, 0 pending, 0 failed, 2 stale"),
        "{shown}"
    );
}

const THREE_WAYS: &str = "\
name: bad
grid:
  dataset: synthetic:breastmnist
  arch: fake_net
  worker:
    - {command: [python3, train.py, missing-val], code: [train.py]}
    - {command: [python3, train.py, short], code: [train.py]}
    - {command: [python3, train.py, classes], code: [train.py]}
train:
  epochs: 1
  subset: 64
";

#[test]
fn predictions_that_are_missing_or_do_not_fit_fail_as_invalid_output() {
    let (tmp, file, results) = project(THREE_WAYS);
    let out = run(&file, &results, &["--max-retries", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(starts(tmp.path()).len(), 3, "invalid output is not retried");
    let mut messages: Vec<String> = run_dirs(&results)
        .iter()
        .map(|dir| {
            let failure = json(&dir.join("failure.json"));
            assert_eq!(failure["kind"], "invalid-output", "{failure}");
            let message = failure["message"].as_str().unwrap();
            message.replace(&format!("{}/", dir.display()), "")
        })
        .collect();
    messages.sort();
    assert_eq!(
        messages,
        [
            "predictions.csv: 2 score columns, but `synthetic:breastmnist` has 1 output (p_0..p_0)",
            "predictions.csv: 31 rows, but the test split has 32 samples",
            "val_predictions.csv is missing: the command exited 0 without writing its validation predictions",
        ]
    );
    assert!(text(&out).contains("invalid-output"), "{}", text(&out));
}

#[test]
fn a_crashing_command_is_retried_and_its_failure_names_the_log() {
    let yaml = BESIDE
        .replace("[python3, train.py]", "[python3, train.py, crash]")
        .replace("  folds: {k: 2}\n", "")
        .replace("include:\n  - {arch: small_cnn, worker: none}\n", "");
    let (tmp, file, results) = project(&yaml);
    let out = run(&file, &results, &["--max-retries", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(starts(tmp.path()).len(), 2, "tried, then retried once");
    let dir = &run_dirs(&results)[0];
    let failure = json(&dir.join("failure.json"));
    assert_eq!(failure["kind"], "crashed");
    assert_eq!(failure["attempts"], 2);
    assert_eq!(
        failure["message"],
        format!(
            "`python3 train.py crash` exited with status 3: boom: bad thing; see {}",
            dir.join("worker.log").display()
        )
    );
}

#[test]
fn a_command_that_cannot_be_found_fails_before_any_run_starts() {
    let yaml = BESIDE.replace("[python3, train.py]", "[no-such-python-xyz, train.py]");
    let (_tmp, file, results) = project(&yaml);
    let f = file.to_str().unwrap();
    let want = format!(
        "{f}:2:20: worker.command[0]: program `no-such-python-xyz` not found on PATH: the command cannot be started"
    );
    for args in [
        vec!["validate", f],
        vec!["plan", f, "--results", results.to_str().unwrap()],
        vec!["run", f, "--results", results.to_str().unwrap()],
    ] {
        let out = sweep(&args);
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(&want), "{args:?}: {}", text(&out));
    }
    assert!(run_dirs(&results).is_empty(), "no run was started");
    // Commands that only read results do not need the program: a report
    // on a laptop without the command's interpreter still works.
    let r = results.to_str().unwrap();
    for args in [
        vec!["report", f, "--results", r],
        vec!["status", f, "--results", r],
        vec!["explain", f, "--results", r],
    ] {
        let out = sweep(&args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert!(!text(&out).contains("not found on PATH"), "{args:?}");
    }
}

#[test]
fn sigkill_of_sweep_mid_run_then_a_rerun_trains_each_run_once() {
    let yaml = BESIDE
        .replace("[python3, train.py]", "[python3, train.py, slow, '1.5']")
        .replace("include:\n  - {arch: small_cnn, worker: none}\n", "")
        .replace("{k: 2}", "{k: 3}");
    let (tmp, file, results) = project(&yaml);
    let args = [
        "run",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--devices",
        "cpu",
        "--jobs",
        "1",
    ];
    let mut child = sweep_command()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while starts(tmp.path()).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: the worker and its command carry on
    child.wait().unwrap();
    let out = sweep(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("3/3 runs done"), "{}", text(&out));
    let mut started = starts(tmp.path());
    started.sort();
    let before = started.len();
    started.dedup();
    assert_eq!(
        (before, started.len()),
        (3, 3),
        "each run trained exactly once"
    );
}
