//! `cargo bench -p sweep-report --bench report`: reads and aggregates 10,000
//! finished runs (generated metrics.json + history.csv in the trainer's
//! layout) and prints the median of three passes against the target
//! (< 1 s). Generation is not timed. A benchmark, never a test.

use std::path::Path;
use std::time::Instant;

use serde_json::json;
use sweep_core::fingerprints::{Fingerprint, FingerprintError, Fingerprints};
use sweep_core::plan::plan;
use sweep_core::store::{HISTORY_FILE, METRICS_FILE, Store, write_atomic};
use sweep_data::catalog::DatasetRef;
use sweep_metrics::metric_summary::{Labels, TaskKind, evaluate};
use sweep_report::{Format, RenderOptions, ReportOptions, build_report, render};

struct Fixed;
impl Fingerprints for Fixed {
    fn fingerprint(&self, _: &DatasetRef, _: &Path) -> Result<Fingerprint, FingerprintError> {
        Ok(("0".repeat(64), None))
    }
}

const GRID: &str = "
name: big
grid:
  dataset: dermamnist
  arch: [chest_cnn, small_cnn, resnet18, derma_cnn]
  lr: [1e-2, 3e-3, 1e-3, 3e-4, 1e-4]
  batch_size: [32, 64, 128, 256, 512]
  seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
  folds: 5
";

fn main() {
    let tmp = std::env::temp_dir().join(format!("sweep-report-bench-{}", std::process::id()));
    let store = Store::new(&tmp);
    let exp = sweep_core::spec::load_str(GRID, Path::new("big.yaml")).expect("valid");
    // 4 × 5 × 5 × 20 × 5 folds = 10,000 runs.
    let runs_before = plan(&exp, Default::default(), Path::new("."), &store, &Fixed);
    let n = runs_before.runs.len();
    let y: Vec<usize> = (0..200).map(|i| i % 7).collect();
    let probs: Vec<f64> = (0..200 * 7)
        .map(|i| ((i * 37) % 101) as f64 / 101.0 / 7.0)
        .collect();
    let summary = evaluate(TaskKind::MultiClass, &Labels::Classes(&y), &probs, 7).expect("metrics");
    let history = "epoch,lr,train_loss,train_accuracy,train_auc,train_sensitivity,train_specificity,train_f1,val_loss,val_accuracy,val_auc,val_sensitivity,val_specificity,val_f1,seconds\n1,0.001,1.5,0.3,0.6,0.3,0.8,0.2,1.4,0.3,0.6,0.3,0.8,0.2,20.0\n";
    for run in &runs_before.runs {
        let key = run.key.as_ref().expect("key");
        let dir = store.run_dir(key);
        std::fs::create_dir_all(&dir).expect("dir");
        let metrics = json!({
            "key": key, "dataset": run.spec.dataset, "arch": run.spec.arch, "task": "multi-class",
            "params": 4321, "trainable_params": 4321, "epochs_run": 1, "best_epoch": 1,
            "stopped_early": false, "train_seconds": 60.0, "wall_seconds": 62.0, "device": "cpu",
            "threads": 1, "samples": [200, 200, 200], "weights": {"pos_weight": null, "class_weights": null},
            "train": summary, "val": summary, "test": summary,
            "train_loss": 1.1, "val_loss": 1.2, "test_loss": 1.25,
            "versions": {"sweep": "0.1.0", "torch": "2.13.0", "tch": "0.26"},
        });
        write_atomic(
            &dir.join(METRICS_FILE),
            &serde_json::to_vec(&metrics).expect("json"),
        )
        .expect("write");
        write_atomic(&dir.join(HISTORY_FILE), history.as_bytes()).expect("write");
        Store::complete(&dir, key, &[METRICS_FILE, HISTORY_FILE]).expect("complete");
    }
    // Three timed passes: the first right after the files were written (the
    // kernel may still be flushing them), then two with the store settled.
    let mut totals = Vec::new();
    for pass in 1..=3 {
        let started = Instant::now();
        let p = plan(&exp, Default::default(), Path::new("."), &store, &Fixed);
        let planned = started.elapsed().as_secs_f64();
        let report = build_report(&store, &p.runs, &ReportOptions::default()).expect("report");
        let text = render(&report, Format::Markdown, &RenderOptions::default());
        let total = started.elapsed().as_secs_f64();
        assert_eq!(p.count("done"), n);
        assert!(text.lines().count() > 100);
        println!(
            "report over {n} finished runs, pass {pass}: {total:.3} s (plan + status {planned:.3} s, load + aggregate + render {:.3} s)",
            total - planned,
        );
        totals.push(total);
    }
    totals.sort_by(f64::total_cmp);
    let median = totals[1];
    println!(
        "report over {n} finished runs: median {median:.3} s; target < 1 s; ratio {median:.2}"
    );
    let _ = std::fs::remove_dir_all(tmp);
}
