//! Runs are told apart by every field that varies among them, in `sweep
//! plan`, in `sweep run`'s failure lines and in `sweep status`; and a reason
//! shared by several failed runs is printed once, with their count, by
//! `sweep run` and `sweep status` alike.
//!
//! The experiments name ChestMNIST files that an empty data folder lacks, so
//! every run fails with the same missing-data advice before any training.

use std::path::Path;

use crate::common::{sweep, text};

const ABLATION: &str = "
name: weighting
grid:
  dataset: chestmnist
  arch: chest_cnn
  lr: 1e-3
  class_weighting: [none, balanced]
  batch_size: [32, 64]
";

fn write(dir: &Path, yaml: &str) -> String {
    let p = dir.join("weighting.yaml");
    std::fs::write(&p, yaml).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn runs_differing_in_one_field_are_labelled_apart_and_one_reason_is_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), ABLATION);
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let results = tmp.path().join("results");
    let common = [
        "--results",
        results.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ];

    let run = sweep(&[&["run", file.as_str()][..], &common].concat());
    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    let labels = [
        "chestmnist chest_cnn lr=0.001 class_weighting=none batch_size=32 fold official seed 0",
        "chestmnist chest_cnn lr=0.001 class_weighting=none batch_size=64 fold official seed 0",
        "chestmnist chest_cnn lr=0.001 class_weighting=balanced batch_size=32 fold official seed 0",
        "chestmnist chest_cnn lr=0.001 class_weighting=balanced batch_size=64 fold official seed 0",
    ];
    for label in labels {
        assert_eq!(
            out.lines().filter(|l| l.trim() == label).count(),
            1,
            "{label} once in:\n{out}"
        );
    }
    let grouped: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  failed (4 runs): invalid-data: "))
        .collect();
    assert_eq!(grouped.len(), 1, "{out}");
    assert!(grouped[0].contains("chestmnist.npz"), "{out}");
    // The advice is printed once, not once per run.
    let advice = grouped[0].trim_start_matches("  failed (4 runs): ");
    assert_eq!(out.matches(advice).count(), 1, "{out}");

    // `sweep status` groups the same way.
    let status = sweep(&[&["status", file.as_str()][..], &common].concat());
    let out = text(&status);
    assert!(status.status.success(), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("  failed (4 runs): no data: "))
            .count(),
        1,
        "{out}"
    );
    for label in labels {
        assert!(out.lines().any(|l| l.trim() == label), "{label} in:\n{out}");
    }

    // `sweep plan` shows the field no fixed column shows.
    let plan = sweep(&[&["plan", file.as_str()][..], &common].concat());
    let out = text(&plan);
    assert!(plan.status.success(), "{out}");
    assert!(out.contains("also varies"), "{out}");
    assert_eq!(out.matches("batch_size=32").count(), 2, "{out}");
    assert_eq!(out.matches("batch_size=64").count(), 2, "{out}");
}

#[test]
fn the_plan_has_no_extra_column_when_the_fixed_ones_show_every_difference() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        &ABLATION.replace("  batch_size: [32, 64]\n", ""),
    );
    let plan = sweep(&[
        "plan",
        file.as_str(),
        "--results",
        tmp.path().join("results").to_str().unwrap(),
    ]);
    let out = text(&plan);
    assert!(plan.status.success(), "{out}");
    assert!(!out.contains("also varies"), "{out}");
    assert!(out.contains("balanced"), "{out}");
}
