//! End-to-end: the real `sweep` binary on small experiments, on the CPU.
//!
//! These run actual training (tiny synthetic sets, one or two epochs), so
//! they prove the whole path: spec → plan → worker process → results store →
//! cache hit on the second run.

use std::path::{Path, PathBuf};

use crate::common::{skip, sweep_with_env as sweep, text};
use crate::generated_weights::generated_weights;
use crate::studies::{assert_study_table, study_columns};
use crate::torchscript_examples::with_exported_modules;

fn write(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, yaml).unwrap();
    p
}

const TINY: &str = "
name: tiny
grid:
  dataset: [synthetic:breastmnist, synthetic:dermamnist]
  arch: small_cnn
  lr: [1e-3, 3e-3]
train:
  epochs: 1
  batch_size: 64
  subset: 128
  checkpoint: val_auc
";

fn result_dirs(results: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    v.sort();
    v
}

#[test]
fn sweep_trains_then_everything_is_cached() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "tiny.yaml", TINY);
    let results = tmp.path().join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());

    let first = sweep(&["run", f, "--results", r, "--devices", "cpu"], &[]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("4/4 runs done (4 trained, 0 cached)"),
        "{}",
        text(&first)
    );

    let dirs = result_dirs(&results);
    assert_eq!(dirs.len(), 4);
    for d in &dirs {
        for f in [
            "spec.json",
            "metrics.json",
            "history.csv",
            "predictions.csv",
            "best.safetensors",
            "complete.json",
        ] {
            assert!(d.join(f).is_file(), "{} lacks {f}", d.display());
        }
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("metrics.json")).unwrap()).unwrap();
        assert!(m["params"].as_u64().unwrap() > 1000);
        assert_eq!(m["device"], "cpu");
        assert!(m["test"]["accuracy"].as_f64().unwrap() >= 0.0);
    }

    let second = sweep(&["run", f, "--results", r], &[]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains("4/4 runs done (0 trained, 4 cached)"),
        "{}",
        text(&second)
    );

    let plan = sweep(&["plan", f, "--results", r, "--json"], &[]);
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
fn a_crashing_run_is_isolated_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "tiny.yaml",
        &TINY.replace("lr: [1e-3, 3e-3]", "lr: 1e-3"),
    );
    let results = tmp.path().join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    // Every worker aborts (SIGABRT) at epoch 1: both runs fail, the sweep itself does not.
    let out = sweep(
        &["run", f, "--results", r],
        &[("SWEEP_TEST_ABORT_AT_EPOCH", "1")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("0/2 runs done"), "{}", text(&out));
    for d in result_dirs(&results) {
        let failure: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("failure.json")).unwrap()).unwrap();
        assert_eq!(failure["kind"], "crashed");
        assert!(
            failure["message"].as_str().unwrap().contains("signal"),
            "{failure}"
        );
        assert!(!d.join("complete.json").exists());
    }
    // Failed runs are not retried silently; --retry-failed trains them.
    let again = sweep(&["run", f, "--results", r], &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("--retry-failed"), "{}", text(&again));
    let retry = sweep(&["run", f, "--results", r, "--retry-failed"], &[]);
    assert!(retry.status.success(), "{}", text(&retry));
}

#[test]
fn same_spec_gives_identical_metrics_on_cpu() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = TINY.replace("lr: [1e-3, 3e-3]", "lr: 1e-3").replace(
        "dataset: [synthetic:breastmnist, synthetic:dermamnist]",
        "dataset: synthetic:dermamnist",
    );
    let file = write(tmp.path(), "tiny.yaml", &yaml);
    let mut metrics = Vec::new();
    for name in ["a", "b"] {
        let results = tmp.path().join(name);
        let out = sweep(
            &[
                "run",
                file.to_str().unwrap(),
                "--results",
                results.to_str().unwrap(),
            ],
            &[],
        );
        assert!(out.status.success(), "{}", text(&out));
        let dir = &result_dirs(&results)[0];
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap();
        metrics.push((m["test"].clone(), m["val_loss"].clone()));
    }
    assert_eq!(metrics[0], metrics[1]);
}

#[test]
fn bad_experiment_file_exits_nonzero_with_location() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "bad.yaml",
        "name: x\ngrid:\n  dataset: breastmnist\n  arch: chest_cnn\n  lr: 0\n",
    );
    let out = sweep(&["validate", file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("bad.yaml:5:7: grid.lr: expected a number > 0, found 0"),
        "{}",
        text(&out)
    );
    let plan = sweep(&["plan", file.to_str().unwrap()], &[]);
    assert_ne!(plan.status.code(), Some(0));
}

/// Real MedMNIST data (`SWEEP_DATA_DIR`): a small model for two epochs on
/// BreastMNIST must beat chance and leave complete results.
#[test]
fn trains_on_real_breastmnist_when_available() {
    let Some(data) = std::env::var_os("SWEEP_DATA_DIR").map(PathBuf::from) else {
        skip("SWEEP_DATA_DIR is not set (point it at a folder with breastmnist.npz)");
        return;
    };
    if !data.join("breastmnist.npz").is_file() {
        skip(&format!("{} has no breastmnist.npz", data.display()));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "breast.yaml",
        "name: breast\ngrid:\n  dataset: breastmnist\n  arch: chest_cnn\n  lr: 1e-3\n  pos_weight: auto\ntrain:\n  epochs: 3\n  batch_size: 32\n  checkpoint: val_auc\n",
    );
    let results = tmp.path().join("results");
    let out = sweep(
        &[
            "run",
            file.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let dir = &result_dirs(&results)[0];
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["samples"], serde_json::json!([546, 78, 156]));
    let auc = m["test"]["auc"].as_f64().unwrap();
    assert!(
        auc > 0.6,
        "test AUC {auc} should beat chance on BreastMNIST"
    );
    let pw = m["weights"]["pos_weight"][0].as_f64().unwrap();
    assert!(
        (pw - 147.0 / 399.0).abs() < 1e-9,
        "auto pos_weight = negatives/positives of train: {pw}"
    );
    let history = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    assert_eq!(history.lines().count(), 4, "header + 3 epochs:\n{history}");
}

/// Every `worker.log` under `dir`, with its text.
fn worker_logs(dir: &Path) -> Vec<(PathBuf, String)> {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut logs = Vec::new();
    for entry in listing.flatten() {
        let path = entry.path();
        if path.is_dir() {
            logs.extend(worker_logs(&path));
        } else if path.file_name().is_some_and(|n| n == "worker.log") {
            logs.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    logs
}

/// The worker log of the run that loaded the weights `name`.
fn log_loading(logs: &[(PathBuf, String)], name: &str) -> String {
    let line = format!("pretrained weights {name} (");
    logs.iter()
        .find(|(_, text)| text.contains(&line))
        .map(|(_, text)| text.clone())
        .unwrap_or_else(|| panic!("no run loaded `{name}`; logs: {logs:#?}"))
}

/// Every shipped reference-study experiment runs end to end in its smoke
/// form, on generated look-alikes of its datasets and, for the studies that
/// fine-tune published weights, generated weights of the same shapes
/// (`generated_weights`); each study's report then has its study's table
/// columns (`studies.rs`).
#[test]
fn every_example_experiment_runs_in_smoke_form() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let tmp = tempfile::tempdir().unwrap();
    let weights = generated_weights();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for file in &files {
        let results = tmp.path().join(file.file_stem().unwrap());
        // Files naming a TorchScript module run from a copy beside it.
        let scratch = tmp.path().join("modules").join(file.file_stem().unwrap());
        let Some(file) = &with_exported_modules(file, &scratch) else {
            continue;
        };
        let started = std::time::Instant::now();
        let out = sweep(
            &[
                "run",
                file.to_str().unwrap(),
                "--smoke",
                "--synthetic",
                "--results",
                results.to_str().unwrap(),
            ],
            &weights.env(),
        );
        assert!(out.status.success(), "{}: {}", file.display(), text(&out));
        eprintln!(
            "{}: {:.1} s",
            file.file_name().unwrap().to_string_lossy(),
            started.elapsed().as_secs_f64()
        );
        let stem = file.file_stem().unwrap().to_string_lossy();
        if let Some(columns) = study_columns(&stem) {
            assert_study_table(file, &results, columns, &weights.env());
        }
    }
    eprintln!("weights generated in {:.1} s", weights.took.as_secs_f64());

    // The pretrained runs really start from the files: ResNet-18 at 28 px
    // with torchvision's stem takes every tensor but the 1000-class head.
    let resnet = log_loading(
        &worker_logs(&tmp.path().join("chestmnist_resnet18")),
        "resnet18_imagenet",
    );
    assert!(
        resnet.contains("loaded 100 tensors; class count differs, head re-initialised: fc.bias [14] (file [1000]), fc.weight [14, 512] (file [1000, 512])"),
        "{resnet}"
    );
    // ViT-B/16 made at 224 px, run at the smoke's 32 px: 4 px patches and an
    // 8x8 grid, so the patch kernel and position embeddings are resampled.
    let vit = log_loading(
        &worker_logs(&tmp.path().join("chestmnist_architectures")),
        "vit_b16_in21k",
    );
    assert!(
        vit.contains("head re-initialised: heads.head.bias [14] (file [1000]), heads.head.weight [14, 768] (file [1000, 768])")
            && vit.contains("resampled to the model's image size: conv_proj.weight [768, 3, 4, 4] (file [768, 3, 16, 16]), encoder.pos_embedding [1, 65, 768] (file [1, 197, 768])"),
        "{vit}"
    );
}

#[test]
fn an_exploding_loss_is_reported_as_diverged() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "boom.yaml",
        "name: boom\ngrid:\n  dataset: synthetic:breastmnist\n  arch: small_cnn\n  lr: 1e12\ntrain:\n  epochs: 2\n  subset: 128\n  optimizer: sgd\n",
    );
    let results = tmp.path().join("results");
    let out = sweep(
        &[
            "run",
            file.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let dir = &result_dirs(&results)[0];
    let failure: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("failure.json")).unwrap()).unwrap();
    assert_eq!(failure["kind"], "diverged", "{failure}");
    assert!(text(&out).contains("diverged"), "{}", text(&out));
}

/// The hostile-input corpus through the real binary: every file is refused
/// with its location and a non-zero exit, and nothing panics or hangs.
#[test]
fn every_invalid_fixture_is_refused_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/invalid");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 50, "corpus has {} files", files.len());
    let started = std::time::Instant::now();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let out = sweep(&args, &[]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "validation must not hang"
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(!all.contains("panicked"), "{all}");
    for f in &files {
        let name = Path::new(f).file_name().unwrap().to_string_lossy();
        assert!(
            all.contains(&format!("problem in {f}")) || all.contains(&format!("problems in {f}")),
            "no verdict for {name}"
        );
    }
    assert!(
        !all.contains("\nok: "),
        "an invalid file was accepted:\n{all}"
    );
}

/// `sweep report` over a finished sweep, in every text format, plus a run
/// that failed: it is footnoted, not dropped, and the report still renders.
#[test]
fn report_renders_every_format_and_footnotes_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "tiny.yaml",
        &TINY.replace("lr: [1e-3, 3e-3]", "lr: 1e-3\n  seed: [0, 1]"),
    );
    let results = tmp.path().join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    let out = sweep(
        &[
            "run",
            f,
            "--results",
            r,
            "--only",
            "dataset=synthetic:breastmnist",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    // The dermamnist runs crash; their rows must show the missing runs.
    let crash = sweep(
        &["run", f, "--results", r, "--max-retries", "0"],
        &[("SWEEP_TEST_ABORT_AT_EPOCH", "1")],
    );
    assert_eq!(crash.status.code(), Some(1));
    for format in ["table", "md", "csv", "latex", "json"] {
        let rep = sweep(&["report", f, "--results", r, "--format", format], &[]);
        assert!(rep.status.success(), "{format}: {}", text(&rep));
        let body = String::from_utf8_lossy(&rep.stdout).to_string();
        assert!(body.contains("breastmnist"), "{format}: {body}");
        assert!(
            body.contains("crashed") || format == "csv",
            "{format} must footnote the crashed runs: {body}"
        );
    }
    let csv = sweep(
        &[
            "report",
            f,
            "--results",
            r,
            "--format",
            "csv",
            "--metrics",
            "val_auc",
        ],
        &[],
    );
    let header = String::from_utf8_lossy(&csv.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        header.contains("val_auc_mean")
            && header.contains("val_auc_std")
            && header.contains("val_auc_n"),
        "{header}"
    );
    let per_class = sweep(
        &[
            "report",
            f,
            "--results",
            r,
            "--per-class",
            "--where",
            "dataset=synthetic:breastmnist",
        ],
        &[],
    );
    assert!(per_class.status.success(), "{}", text(&per_class));
    assert!(
        String::from_utf8_lossy(&per_class.stdout).contains("malignant"),
        "{}",
        text(&per_class)
    );
}

/// A reason a figure is missing is printed once, naming how many
/// configurations it holds for: four one-epoch rows give one note, not four.
#[test]
fn a_missing_figure_reason_shared_by_rows_is_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "tiny.yaml", TINY);
    let results = tmp.path().join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    let out = sweep(&["run", f, "--results", r], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let html = tmp.path().join("html");
    let rep = sweep(
        &[
            "report",
            f,
            "--results",
            r,
            "--format",
            "html",
            "--out",
            html.to_str().unwrap(),
        ],
        &[],
    );
    assert!(rep.status.success(), "{}", text(&rep));
    let stderr = String::from_utf8_lossy(&rep.stderr);
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("learning curves:"))
        .collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(
        notes[0].contains("4 configurations (")
            && notes[0].ends_with(
                "history.csv records one epoch per run: learning curves need at least two"
            ),
        "{}",
        notes[0]
    );
}
