//! The researcher's daily loop on real runs: reports from the results
//! folder alone (without the experiment file or the data), `--set`
//! overrides, and `sweep explain`.

use std::path::{Path, PathBuf};

use sweep_data::npz_write::{U8Array, write_u8_npz};

use crate::common::{sweep, sweep_with_env, text};

/// A tiny BreastMNIST look-alike file (28 px, one binary label) whose
/// pixels depend on `variant`, so two variants have different sha256.
fn write_breastmnist(dir: &Path, variant: u8) {
    let sizes = [("train", 64usize), ("val", 32), ("test", 32)];
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (split, n) in sizes {
        let y: Vec<u8> = (0..n).map(|i| u8::from(i % 3 == 0)).collect();
        let x: Vec<u8> = (0..n * 28 * 28)
            .map(|i| {
                let label = y[i / (28 * 28)];
                (i % 251) as u8 / 2 + label * 100 + variant
            })
            .collect();
        images.push((format!("{split}_images"), vec![n, 28, 28], x));
        labels.push((format!("{split}_labels"), vec![n, 1], y));
    }
    let arrays: Vec<U8Array<'_>> = images
        .iter()
        .chain(&labels)
        .map(|(key, shape, data)| U8Array { key, shape, data })
        .collect();
    write_u8_npz(&dir.join("breastmnist.npz"), &arrays).unwrap();
}

fn write_experiment(dir: &Path, data: &Path) -> PathBuf {
    let file = dir.join("alone.yaml");
    std::fs::write(
        &file,
        format!(
            "name: alone
data:
  root: {}
grid:
  dataset: breastmnist
  arch: small_cnn
  lr: [1e-3, 3e-3]
train:
  epochs: 1
  batch_size: 32
",
            data.display()
        ),
    )
    .unwrap();
    file
}

/// stdout of a command that must succeed.
fn stdout(args: &[&str]) -> String {
    let out = sweep(args);
    assert!(out.status.success(), "sweep {args:?}:\n{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_report_needs_neither_the_data_nor_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_breastmnist(&data, 0);
    let file = write_experiment(tmp.path(), &data);
    let results = tmp.path().join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    stdout(&["run", f, "--results", r, "--devices", "cpu"]);

    let views: [Vec<&str>; 4] = [
        vec!["report", f, "--results", r],
        vec!["report", "--table", "--results", r],
        vec![
            "report",
            "--experiment",
            "alone",
            "--format",
            "md",
            "--results",
            r,
        ],
        vec!["report", f, "--format", "json", "--results", r],
    ];
    let with_data: Vec<String> = views.iter().map(|v| stdout(v)).collect();
    assert!(!with_data[0].contains("no-data"), "{}", with_data[0]);
    assert!(with_data[1].starts_with("alone: "), "{}", with_data[1]);
    assert!(with_data[2].starts_with("## alone\n"), "{}", with_data[2]);
    let json: serde_json::Value = serde_json::from_str(&with_data[3]).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 2, "{json}");

    std::fs::remove_dir_all(&data).unwrap();
    for (view, before) in views.iter().zip(&with_data) {
        assert_eq!(
            &stdout(view),
            before,
            "sweep {view:?} changed without the data"
        );
    }
    // The page with figures too, from the record alone.
    let out = tmp.path().join("page");
    let html = stdout(&[
        "report",
        "--format",
        "html",
        "--out",
        out.to_str().unwrap(),
        "--results",
        r,
    ]);
    assert!(html.contains("2 of 2 runs with results"), "{html}");
    // The other commands agree: nothing is pending, nothing is without data.
    let plan = stdout(&["plan", f, "--results", r]);
    assert!(plan.contains("2 runs — 2 done, 0 pending"), "{plan}");
    // Moving the file away changes nothing for a report from the record.
    std::fs::remove_file(&file).unwrap();
    assert_eq!(stdout(&views[1]), with_data[1]);

    // Data that changed since the runs finished makes them stale, and says so.
    write_breastmnist(&data, 1);
    let file = write_experiment(tmp.path(), &data);
    let f = file.to_str().unwrap();
    let plan = stdout(&["plan", f, "--results", r]);
    assert!(
        plan.contains("2 runs — 0 done, 0 pending, 0 failed, 2 stale"),
        "{plan}"
    );
    let why = stdout(&["explain", f, "--results", r]);
    assert!(
        why.contains("data breastmnist.npz sha256 changed ("),
        "{why}"
    );
    let report = stdout(&["report", f, "--results", r]);
    assert!(
        report.contains("breastmnist.npz sha256 changed"),
        "{report}"
    );
}

const TINY: &str = "name: tiny
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: 1e-3
train:
  epochs: 1
  batch_size: 64
  subset: 128
";

#[test]
fn overrides_cache_and_report_like_the_file_and_explain_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny.yaml");
    std::fs::write(&file, TINY).unwrap();
    let results = tmp.path().join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    stdout(&["run", f, "--results", r, "--devices", "cpu"]);

    let lr = ["--set", "grid.lr=[1e-3,3e-3]"];
    let plan = stdout(&[&["plan", f, "--results", r][..], &lr].concat());
    assert!(plan.contains("2 runs — 1 done, 1 pending"), "{plan}");
    let why = stdout(&[&["explain", f, "--results", r][..], &lr].concat());
    assert!(why.contains("    lr 0.001 → 0.003\n"), "{why}");
    assert!(why.contains("tiny: 2 runs — 1 done, 1 not done"), "{why}");

    // Run the overridden experiment; its new run crashes at once.
    let out = sweep_with_env(
        &[&["run", f, "--results", r, "--devices", "cpu"][..], &lr].concat(),
        &[("SWEEP_TEST_ABORT_AT_EPOCH", "1")],
    );
    assert!(text(&out).contains("1 cached"), "{}", text(&out));
    // The record keeps the override, and the report shows it.
    let report = stdout(&["report", "--table", "--results", r]);
    assert!(
        report.starts_with("tiny: ") && report.contains(" --set grid.lr=[1e-3,3e-3], run "),
        "{report}"
    );
    assert!(report.contains("crashed"), "{report}");
    // The failed run, named by a prefix of its key.
    let json = stdout(&[&["plan", f, "--results", r, "--json"][..], &lr].concat());
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let failed = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|run| run["status"] == "failed")
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let why = stdout(&["explain", &failed[..8], "--results", r]);
    assert!(
        why.starts_with(&format!(
            "{} synthetic:breastmnist small_cnn lr=0.003",
            &failed[..12]
        )),
        "{why}"
    );
    assert!(why.contains(": failed: crashed: "), "{why}");
    assert!(
        why.ends_with("1 difference:\n    lr 0.001 → 0.003\n"),
        "{why}"
    );
    let out = sweep(&["explain", "0000", "--results", r]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no run in"), "{}", text(&out));
}

#[test]
fn bad_overrides_point_at_the_set_text() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny.yaml");
    std::fs::write(&file, TINY).unwrap();
    let f = file.to_str().unwrap();
    let out = sweep(&["plan", f, "--set", "train.epochs=fifty"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let printed = text(&out);
    assert!(
        printed.contains("--set train.epochs=fifty: train.epochs: "),
        "{printed}"
    );
    let lines: Vec<&str> = printed.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.ends_with("| --set train.epochs=fifty"))
        .unwrap();
    let caret = lines[at + 1].find('^').unwrap();
    assert_eq!(&lines[at][caret..], "fifty", "{printed}");
    let out = sweep(&["run", f, "--set", "train.epoch=5"]);
    assert!(
        text(&out).contains("unknown training option `epoch`; did you mean `epochs`?"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_report_without_a_file_names_another_file_of_the_same_name() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let r = results.to_str().unwrap();
    let first = tmp.path().join("tiny.yaml");
    std::fs::write(&first, TINY).unwrap();
    let copy = tmp.path().join("tiny_copy.yaml");
    std::fs::write(&copy, TINY.replace("lr: 1e-3", "lr: 1e-2")).unwrap();
    for file in [&first, &copy] {
        stdout(&[
            "run",
            file.to_str().unwrap(),
            "--results",
            r,
            "--devices",
            "cpu",
        ]);
    }
    let out = sweep(&["report", "--table", "--results", r]);
    assert!(out.status.success(), "{}", text(&out));
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains(&format!(
            "note: `tiny` was also run from {}",
            first.display()
        )),
        "{note}"
    );
    assert!(
        note.contains(&format!("`sweep report {}`", first.display())),
        "{note}"
    );
    // Naming the file reports it, without the note.
    let out = sweep(&["report", first.to_str().unwrap(), "--results", r]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("also run from"));
}
