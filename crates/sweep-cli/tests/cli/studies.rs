//! The reference studies regenerate their tables. The smoke test in
//! `end_to_end.rs` runs every study file in its `--smoke --synthetic` form
//! (the pretrained ones with generated weights) and then checks here that
//! `sweep report` with the study's own columns (the ones docs/studies.md
//! gives beside the study's numbers) has a finite value in every column of
//! every row. A metric renamed or dropped, or a study file whose runs stop
//! recording one of its table's numbers, fails there rather than in a
//! reader's reproduction.

use std::path::Path;

use crate::common::{sweep_with_env, text};

/// Each study file and the columns of the table its study reports, in the
/// study's order.
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
    // Table 1: params, train/val loss, accuracy and sensitivity, val AUC,
    // train time.
    (
        "chestmnist_architectures",
        &[
            "params",
            "train_loss",
            "val_loss",
            "train_accuracy",
            "val_accuracy",
            "train_sensitivity",
            "val_sensitivity",
            "val_auc",
            "train_time",
        ],
    ),
    // The flattened classification report's micro average (= accuracy),
    // recall and F1, and AUC.
    (
        "chestmnist_resnet18",
        &[
            "test_flat_accuracy",
            "test_flat_recall_macro",
            "test_flat_f1_macro",
            "test_auc",
        ],
    ),
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

/// Experiment files that are not a study and have no table of their own.
const NOT_STUDIES: &[&str] = &[
    "smoke",
    "pneumonia_breast_folds",
    "breastmnist_lr_search",
    "torchscript_vs_zoo",
    "breast_external",
];

/// The study table's columns of an experiment file, by its file stem.
pub(crate) fn study_columns(stem: &str) -> Option<&'static [&'static str]> {
    STUDY_TABLES
        .iter()
        .find(|(name, _)| *name == stem)
        .map(|(_, columns)| *columns)
}

/// Checks that `sweep report FILE --smoke --synthetic` over `results` has a
/// finite value for each of `columns` in every row.
pub(crate) fn assert_study_table(
    file: &Path,
    results: &Path,
    columns: &[&str],
    env: &[(&str, &str)],
) {
    let stem = file.file_stem().unwrap().to_string_lossy();
    let metrics = columns.join(",");
    let report = sweep_with_env(
        &[
            "report",
            file.to_str().unwrap(),
            "--smoke",
            "--synthetic",
            "--results",
            results.to_str().unwrap(),
            "--metrics",
            &metrics,
            "--format",
            "csv",
        ],
        env,
    );
    assert!(report.status.success(), "{stem}: {}", text(&report));
    let csv = String::from_utf8(report.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty(), "{stem}: no rows in\n{csv}");
    for column in columns {
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

/// Every shipped experiment file is either a study with its table's
/// columns above, or named as not being one.
#[test]
fn every_study_file_declares_its_table_columns() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        assert!(
            study_columns(&stem).is_some() || NOT_STUDIES.contains(&stem.as_str()),
            "{stem}.yaml: add its study's table columns to STUDY_TABLES in studies.rs"
        );
    }
}
