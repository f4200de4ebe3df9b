//! The reference studies regenerate their tables: each study file runs in
//! its `--smoke --synthetic` form and `sweep report` with the study's own
//! columns (the ones docs/studies.md gives beside the study's numbers) has a
//! value in every column of every row. A metric renamed or dropped, or a
//! study file whose runs stop recording one of its table's numbers, fails
//! here rather than in a reader's reproduction.

use std::path::{Path, PathBuf};

use crate::common::{sweep, text};

/// Each study file and the columns of the table its study reports, in the
/// study's order. Studies that fine-tune pretrained weights are covered with
/// generated weights by the smoke test in `end_to_end.rs`.
const STUDY_TABLES: &[(&str, &[&str])] = &[
    // Table I: test loss, binary accuracy, AUC (Keras' flattened AUC),
    // weighted accuracy (= binary accuracy), weighted F1 (flattened).
    (
        "chestmnist_cnn",
        &[
            "test_loss",
            "test_accuracy",
            "test_flat_auc",
            "test_flat_f1_weighted",
        ],
    ),
    // §IV.B: test loss, accuracy, AUC (multi-class, one-vs-rest).
    (
        "retinamnist_cnn",
        &["test_loss", "test_accuracy", "test_auc"],
    ),
    // Hold-out and 5-fold means: accuracy and loss on the held-out data.
    ("medical_mnist_kfold", &["test_accuracy", "test_loss"]),
    // Key findings: AUC and overall accuracy.
    ("dermamnist_cnn", &["test_auc", "test_accuracy"]),
    // The flagship ablation's comparison columns.
    (
        "chest_ablation",
        &[
            "val_auc",
            "test_auc",
            "test_flat_f1_weighted",
            "test_sensitivity",
        ],
    ),
];

fn experiment(stem: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../experiments")
        .join(format!("{stem}.yaml"))
}

#[test]
fn every_study_reports_its_table_columns() {
    let tmp = tempfile::tempdir().unwrap();
    for (stem, columns) in STUDY_TABLES {
        let file = experiment(stem);
        let file = file.to_str().unwrap();
        let results = tmp.path().join(stem);
        let results = results.to_str().unwrap();
        let flags = ["--smoke", "--synthetic", "--results", results];
        let run = sweep(&[&["run", file][..], &flags].concat());
        assert!(run.status.success(), "{stem}: {}", text(&run));

        let metrics = columns.join(",");
        let report = sweep(
            &[
                &["report", file][..],
                &flags,
                &["--metrics", &metrics, "--format", "csv"],
            ]
            .concat(),
        );
        assert!(report.status.success(), "{stem}: {}", text(&report));
        let csv = String::from_utf8(report.stdout).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header = reader.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert!(!rows.is_empty(), "{stem}: no rows in\n{csv}");
        for column in *columns {
            let name = format!("{column}_mean");
            let at = header
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("{stem}: no `{name}` column in\n{csv}"));
            for row in &rows {
                let value: f64 = row[at]
                    .parse()
                    .unwrap_or_else(|_| panic!("{stem}: `{name}` is {:?} in\n{csv}", &row[at]));
                assert!(value.is_finite(), "{stem}: `{name}` = {value}");
            }
        }
    }
}
