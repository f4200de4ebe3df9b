//! Image-folder datasets end to end: the Medical MNIST experiment file on a
//! generated folder in the Kaggle layout, the decoded-image cache, changes
//! to the images, corrupt images, and a CSV-labelled multi-label folder.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;
use common::{sweep, text};

use sweep_data::image_folder::fixture::{MEDICAL_MNIST_CLASSES, write_class_folders};

fn experiment() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../experiments/medical_mnist_kfold.yaml")
        .to_string_lossy()
        .into_owned()
}

fn decoded_files(results: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(results.join(".datasets")) {
        Ok(entries) => entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "npz"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn run_smoke(data: &Path, results: &Path) -> Output {
    sweep(&[
        "run",
        &experiment(),
        "--smoke",
        "--devices",
        "cpu",
        "--data-dir",
        data.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ])
}

#[test]
fn medical_mnist_experiment_runs_on_a_generated_image_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let results = tmp.path().join("results");
    write_class_folders(
        &data.join("medical_mnist"),
        &MEDICAL_MNIST_CLASSES,
        40,
        64,
        3,
    )
    .unwrap();

    let first = run_smoke(&data, &results);
    let out = text(&first);
    assert!(first.status.success(), "{out}");
    assert!(out.contains("3/3 runs done (3 trained, 0 cached)"), "{out}");
    assert!(out.contains("medical_mnist: decoding the images"), "{out}");
    assert_eq!(decoded_files(&results).len(), 1);

    // Six classes, 240 images. The hold-out run is scored on the 15% test
    // split; the study's folds cover the whole folder (`over: all`), so in
    // the 2-fold smoke form each fold's held-out half is its test set.
    let mut folds = Vec::new();
    for entry in std::fs::read_dir(&results).unwrap() {
        let dir = entry.unwrap().path();
        let metrics = dir.join("metrics.json");
        if !metrics.is_file() {
            continue;
        }
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&metrics).unwrap()).unwrap();
        let spec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("spec.json")).unwrap()).unwrap();
        assert_eq!(spec["input"]["run"]["image_folder"]["classes"][5], "HeadCT");
        if spec["input"]["run"]["fold"].is_null() {
            assert_eq!(m["test"]["n_samples"], 36, "{m}");
        } else {
            assert_eq!(m["test"]["n_samples"], 120, "{m}");
            assert_eq!(m["test"]["confusion_matrix"], m["val"]["confusion_matrix"]);
        }
        folds.push(spec["input"]["run"]["fold"].clone());
    }
    folds.sort_by_key(|f| f.to_string());
    assert_eq!(
        folds,
        [
            serde_json::json!(0),
            serde_json::json!(1),
            serde_json::Value::Null
        ]
    );

    let second = run_smoke(&data, &results);
    let out = text(&second);
    assert!(second.status.success(), "{out}");
    assert!(out.contains("3/3 runs done (0 trained, 3 cached)"), "{out}");
    assert!(!out.contains("decoding"), "{out}");

    // Changing one image changes the folder's fingerprint: new keys, one
    // new decode, and the earlier results stay where they were.
    let image = data.join("medical_mnist/Hand/000007.jpeg");
    let other = data.join("medical_mnist/CXR/000001.jpeg");
    std::fs::copy(&other, &image).unwrap();
    let third = run_smoke(&data, &results);
    let out = text(&third);
    assert!(third.status.success(), "{out}");
    assert!(out.contains("3/3 runs done (3 trained, 0 cached)"), "{out}");
    assert_eq!(decoded_files(&results).len(), 2);

    let only = sweep(&[
        "run",
        &experiment(),
        "--smoke",
        "--only",
        "dataset=medical_mnist",
        "--only",
        "fold=1",
        "--data-dir",
        data.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    let out = text(&only);
    assert!(only.status.success(), "{out}");
    assert!(out.contains("1/1 runs done (0 trained, 1 cached)"), "{out}");
}

#[test]
fn corrupt_images_stop_their_runs_and_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let results = tmp.path().join("results");
    let folder = data.join("medical_mnist");
    write_class_folders(&folder, &MEDICAL_MNIST_CLASSES, 10, 32, 0).unwrap();
    std::fs::write(folder.join("CXR/broken.jpeg"), b"\xff\xd8 not really").unwrap();

    let run = run_smoke(&data, &results);
    let out = text(&run);
    assert!(!run.status.success(), "{out}");
    assert!(out.contains("1 image could not be decoded"), "{out}");
    assert!(out.contains("CXR/broken.jpeg"), "{out}");
    assert!(decoded_files(&results).is_empty());

    let missing = run_smoke(&tmp.path().join("elsewhere"), &results);
    let out = text(&missing);
    assert!(!missing.status.success(), "{out}");
    assert!(out.contains("medical_mnist not found"), "{out}");
}

#[test]
fn a_csv_labelled_folder_trains_as_multi_label() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("findings");
    // Images from two generated classes; label `rings` marks the first,
    // label `any` every image but a few.
    write_class_folders(&folder.join("img"), &["a", "b"], 40, 32, 5).unwrap();
    let mut csv = String::from("file,rings,any\n");
    for class in ["a", "b"] {
        for i in 0..40 {
            let rings = u8::from(class == "a");
            let any = u8::from(i % 8 != 0);
            csv.push_str(&format!("img/{class}/{i:06}.jpeg,{rings},{any}\n"));
        }
    }
    std::fs::write(folder.join("labels.csv"), csv).unwrap();
    let spec = format!(
        "name: findings\n\
         data:\n  image_folders:\n    findings:\n      path: {}\n      labels_csv: labels.csv\n      size: 32\n      channels: 1\n\
         grid:\n  dataset: findings\n  arch: small_cnn\n  pos_weight: auto\n\
         train:\n  epochs: 1\n  batch_size: 16\n",
        folder.display()
    );
    let file = tmp.path().join("findings.yaml");
    std::fs::write(&file, spec).unwrap();
    let results = tmp.path().join("results");
    let run = sweep(&[
        "run",
        file.to_str().unwrap(),
        "--devices",
        "cpu",
        "--results",
        results.to_str().unwrap(),
    ]);
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    let dir = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("metrics.json").is_file())
        .expect("a finished run");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["task"], "multi-label", "{m}");
    // Class order comes from the CSV header.
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("spec.json")).unwrap()).unwrap();
    assert_eq!(
        spec["input"]["run"]["image_folder"]["classes"],
        serde_json::json!(["rings", "any"])
    );
}
