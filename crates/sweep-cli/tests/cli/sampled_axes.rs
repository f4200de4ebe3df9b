//! A sampled axis end to end: each drawn value trains as its own run, is
//! cached, and is reported; raising `samples` trains only the new draws.

use crate::common::{sweep, text};

fn experiment(samples: u32) -> String {
    format!(
        "
name: sampled
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: {{log_uniform: [1e-4, 1e-2], samples: {samples}, seed: 0}}
train:
  epochs: 1
  batch_size: 64
  subset: 64
"
    )
}

#[test]
fn drawn_values_train_cache_and_report_like_written_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("sampled.yaml");
    let results = tmp.path().join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());

    std::fs::write(&file, experiment(2)).unwrap();
    let first = sweep(&["run", f, "--results", r, "--devices", "cpu"]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("2/2 runs done (2 trained, 0 cached)"),
        "{}",
        text(&first)
    );

    // More samples keep the first two draws: only the third trains.
    std::fs::write(&file, experiment(3)).unwrap();
    let second = sweep(&["run", f, "--results", r, "--devices", "cpu"]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains("3/3 runs done (1 trained, 2 cached)"),
        "{}",
        text(&second)
    );

    let report = sweep(&["report", f, "--results", r, "--format", "csv"]);
    assert!(report.status.success(), "{}", text(&report));
    let csv = String::from_utf8(report.stdout).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    let mut lrs: Vec<f64> = rows
        .iter()
        .map(|row| row.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(lrs.iter().all(|lr| (1e-4..=1e-2).contains(lr)), "{lrs:?}");
    lrs.sort_by(f64::total_cmp);
    lrs.dedup();
    assert_eq!(lrs.len(), 3, "three distinct draws: {lrs:?}");
    // Each row is one finished run.
    assert!(
        rows.iter().all(|row| row.split(',').nth(1) == Some("1")),
        "{csv}"
    );
}
