//! `sweep report --format html` on a real, partial sweep: runs that
//! trained, runs that crashed and runs never started, on binary,
//! multi-label and multi-class synthetic data.
//!
//! Checks the folder it writes (page, figures, table text, escaping, no
//! reference to anything outside the folder), then, when Chromium is
//! installed, opens the page in a headless browser to prove that every
//! figure loads from disk and keeps a screenshot under
//! `target/test-artifacts/report.png` for people to look at.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{skip, sweep_with_env as sweep, text};

/// Three datasets × two learning rates × two folds; two epochs so that
/// learning curves have lines. The description holds markup on purpose.
const TINY: &str = "
name: html-tiny
description: \"tiny <b>sweep</b> & report\"
grid:
  dataset: [synthetic:breastmnist, synthetic:chestmnist, synthetic:dermamnist]
  arch: small_cnn
  lr: [1e-3, 3e-3]
  folds: {k: 2, stratified: true, split_seed: 0}
train:
  epochs: 2
  batch_size: 64
  subset: 128
  checkpoint: val_auc
";

/// The `src` of every `<img>` of the page.
fn image_sources(html: &str) -> Vec<String> {
    html.split("<img ")
        .skip(1)
        .map(|tag| {
            let start = tag.find("src=\"").expect("img has a src") + 5;
            let len = tag[start..].find('"').expect("src is quoted");
            tag[start..start + len].to_string()
        })
        .collect()
}

/// Trains 8 of the 12 runs, crashes 2 and leaves 2 pending.
fn partial_sweep(dir: &Path) -> (PathBuf, PathBuf) {
    let file = dir.join("tiny.yaml");
    std::fs::write(&file, TINY).unwrap();
    let results = dir.join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    let base = ["run", f, "--results", r, "--devices", "cpu"];

    let trained = sweep(&[&base[..], &["--only", "lr=1e-3"]].concat(), &[]);
    assert!(trained.status.success(), "{}", text(&trained));
    let derma = [
        "--only",
        "dataset=synthetic:dermamnist",
        "--only",
        "lr=3e-3",
    ];
    let trained = sweep(&[&base[..], &derma].concat(), &[]);
    assert!(trained.status.success(), "{}", text(&trained));
    let breast = [
        "--only",
        "dataset=synthetic:breastmnist",
        "--only",
        "lr=3e-3",
    ];
    let crashed = sweep(
        &[&base[..], &breast].concat(),
        &[("SWEEP_TEST_ABORT_AT_EPOCH", "1")],
    );
    assert_eq!(crashed.status.code(), Some(1), "{}", text(&crashed));
    (file, results)
}

#[test]
fn html_report_of_a_partial_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, results) = partial_sweep(tmp.path());
    let out = tmp.path().join("report");
    let (f, r, o) = (
        file.to_str().unwrap(),
        results.to_str().unwrap(),
        out.to_str().unwrap(),
    );

    let no_out = sweep(&["report", f, "--results", r, "--format", "html"], &[]);
    assert_eq!(no_out.status.code(), Some(2), "{}", text(&no_out));
    assert!(text(&no_out).contains("add --out DIR"), "{}", text(&no_out));

    let report = sweep(
        &["report", f, "--results", r, "--format", "html", "--out", o],
        &[],
    );
    assert!(report.status.success(), "{}", text(&report));
    // 3 datasets × (bars, ROC, confusion, train prevalence) + 4 configurations
    // with results × 5 curves (loss, accuracy, AUC, sensitivity, specificity).
    assert!(
        text(&report).contains("(32 figures; 8 of 12 runs with results)"),
        "{}",
        text(&report)
    );

    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    // The comparison table, with the best value of a column in bold.
    for needle in [
        "<h2>Comparison table</h2>",
        "<th class=\"l\" scope=\"col\">dataset</th>",
        "<th class=\"r\" scope=\"col\">Val AUC</th>",
        "<td class=\"l\">synthetic:dermamnist</td><td class=\"l\">0.003</td><td class=\"r\">2</td>",
        "<strong>",
        // Rows without results are marked, with their reasons in the footnotes.
        "<tr class=\"empty\"><td class=\"l\">synthetic:breastmnist</td><td class=\"l\">0.003</td><td class=\"r\">0/2</td>",
        "dataset = synthetic:chestmnist, lr = 0.003: 2 of 2 runs missing, n = 0: fold 1, seed 0: pending (not run yet)",
        "failed (crashed: ",
    ] {
        assert!(html.contains(needle), "missing {needle:?} in\n{html}");
    }
    // The failures list, the figures that could not exist, versions, the file.
    for needle in [
        "<span class=\"status failed\">failed</span>",
        "<span class=\"status pending\">pending</span>",
        "4 of 12 planned runs have no results",
        "no finished run (2 failed)",
        "no finished run (2 pending)",
        "<td class=\"l\">torch</td>",
        "synthetic:chestmnist <small>(multi-label task)</small>",
        "synthetic:dermamnist <small>(multi-class task)</small>",
        "synthetic:breastmnist <small>(binary task)</small>",
        "grid:\n  dataset: [synthetic:breastmnist, synthetic:chestmnist, synthetic:dermamnist]",
        "description: &quot;tiny &lt;b&gt;sweep&lt;/b&gt; &amp; report&quot;",
    ] {
        assert!(html.contains(needle), "missing {needle:?} in\n{html}");
    }
    assert!(
        !html.contains("<b>sweep</b>"),
        "experiment text not escaped"
    );
    // Self-contained: nothing is fetched from elsewhere.
    for external in ["http://", "https://", "<link", "@import", "url("] {
        assert!(!html.contains(external), "page refers to {external}");
    }
    // The per-label validation tables, one per metric, every configuration
    // with results a column.
    for needle in [
        "<h4>Validation metrics per label</h4>",
        "<caption>Validation accuracy per label</caption>",
        "<caption>Validation sensitivity per label</caption>",
        "<caption>Validation specificity per label</caption>",
        "<caption>Validation AUC per label</caption>",
        "<td class=\"l\">pneumothorax</td>",
        "<th class=\"r\" scope=\"col\">lr = 0.001</th>",
    ] {
        assert!(html.contains(needle), "missing {needle:?} in\n{html}");
    }
    let sources = image_sources(&html);
    assert_eq!(sources.len(), 32, "{sources:?}");
    for src in &sources {
        assert!(
            src.starts_with("figures/") && src.ends_with(".svg"),
            "{src}"
        );
        let svg = std::fs::read_to_string(out.join(src)).unwrap();
        assert!(svg.contains("<svg"), "{src} is not an SVG");
    }
    for name in [
        "confusion-2.svg",
        "roc-2.svg",
        "prevalence-2.svg",
        "curves-1-sensitivity.svg",
        "curves-1-specificity.svg",
    ] {
        assert!(sources.contains(&format!("figures/{name}")), "{sources:?}");
    }
    // The prevalence bars name ChestMNIST's labels.
    let prevalence = std::fs::read_to_string(out.join("figures/prevalence-2.svg")).unwrap();
    for label in ["atelectasis", "hernia", "Train prevalence (%)"] {
        assert!(prevalence.contains(label), "prevalence chart lacks {label}");
    }
    // ChestMNIST's 14 labels: one 2×2 panel each, named.
    let grid = std::fs::read_to_string(out.join("figures/confusion-2.svg")).unwrap();
    for label in ["atelectasis", "pneumothorax", "hernia"] {
        assert!(grid.contains(label), "confusion grid lacks {label}");
    }

    browser_check(&out, sources.len());
}

/// `sweep report` on the trained runs of the partial sweep, as text.
fn report_text(file: &Path, results: &Path, args: &[&str]) -> (bool, String) {
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    let out = sweep(&[&["report", f, "--results", r][..], args].concat(), &[]);
    (out.status.success(), text(&out))
}

/// The number in the CSV row whose first cells are `first` (per-class rows
/// start with `row,index,class`; comparison rows with the grouping fields).
fn csv_value(csv: &str, row_start: &str, column: &str) -> f64 {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == column).unwrap_or_else(|| {
        panic!("no column {column} in {header:?}");
    });
    let row = lines
        .find(|l| l.starts_with(row_start))
        .unwrap_or_else(|| panic!("no row {row_start} in\n{csv}"));
    row.split(',').nth(at).unwrap().parse().unwrap()
}

#[test]
fn flattened_metrics_and_per_label_tables_of_real_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, results) = partial_sweep(tmp.path());
    let chest = [
        "--where",
        "dataset=synthetic:chestmnist",
        "--where",
        "lr=1e-3",
    ];

    // The flattened classification report: classes 0 and 1, then the averages.
    let (ok, flat) = report_text(
        &file,
        &results,
        &[&chest[..], &["--per-class", "--flatten", "--format", "csv"]].concat(),
    );
    assert!(ok, "{flat}");
    assert!(
        flat.contains("class,0,0,") && flat.contains("class,1,1,"),
        "{flat}"
    );
    for avg in [
        "average,,accuracy,",
        "average,,macro avg,",
        "average,,weighted avg,",
    ] {
        assert!(flat.contains(avg), "missing {avg} in\n{flat}");
    }
    assert!(!flat.contains("samples avg"), "{flat}");

    // The same numbers as the flat_* columns of the comparison table.
    let metrics =
        "test_flat_accuracy,test_flat_f1_weighted,test_flat_auc,val_flat_auc,final_val_flat_auc";
    let (ok, table) = report_text(
        &file,
        &results,
        &[&chest[..], &["--metrics", metrics, "--format", "csv"]].concat(),
    );
    assert!(ok, "{table}");
    let first_row = table
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let column_mean = |name: &str| csv_value(&table, &first_row, &format!("{name}_mean"));
    let f1 = csv_value(&flat, "average,,weighted avg,", "f1");
    assert!(
        (column_mean("test_flat_f1_weighted") - f1).abs() < 1e-9,
        "{table}\n{flat}"
    );
    let acc = csv_value(&flat, "average,,accuracy,", "f1");
    assert!(
        (column_mean("test_flat_accuracy") - acc).abs() < 1e-9,
        "{table}\n{flat}"
    );
    for auc in ["test_flat_auc", "val_flat_auc", "final_val_flat_auc"] {
        let v = column_mean(auc);
        assert!((0.0..=1.0).contains(&v), "{auc} = {v}");
    }

    // Per-label validation table: accuracy, sensitivity, specificity, AUC.
    let (ok, val) = report_text(
        &file,
        &results,
        &[
            &chest[..],
            &["--per-class", "--split", "val", "--format", "md"],
        ]
        .concat(),
    );
    assert!(ok, "{val}");
    assert!(
        val.contains("| TN | FP | FN | TP | accuracy | sensitivity | specificity | AUC |"),
        "{val}"
    );
    assert!(val.contains("Per-class results, val split"), "{val}");

    // A multi-class dataset has no flattened form, and says so.
    let (ok, derma) = report_text(
        &file,
        &results,
        &[
            "--per-class",
            "--flatten",
            "--where",
            "dataset=synthetic:dermamnist",
            "--where",
            "lr=1e-3",
        ],
    );
    assert!(!ok, "{derma}");
    assert!(
        derma.contains("`synthetic:dermamnist` is multi-class"),
        "{derma}"
    );
}

/// A multi-label run kept at its best `val_flat_auc`.
const FLAT_CHECKPOINT: &str = "
name: flat-checkpoint
grid:
  dataset: synthetic:chestmnist
  arch: small_cnn
  lr: 3e-3
train:
  epochs: 3
  batch_size: 32
  subset: 128
  checkpoint: val_flat_auc
";

#[test]
fn a_flattened_checkpoint_keeps_the_epoch_it_names() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("flat.yaml");
    std::fs::write(&file, FLAT_CHECKPOINT).unwrap();
    let results = tmp.path().join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    let run = sweep(&["run", f, "--results", r, "--devices", "cpu"], &[]);
    assert!(run.status.success(), "{}", text(&run));
    let dir = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("history.csv").is_file())
        .expect("a run folder");
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap();
    let mut history = csv::Reader::from_path(dir.join("history.csv")).unwrap();
    let header = history.headers().unwrap().clone();
    let at = header
        .iter()
        .position(|h| h == "val_flat_auc")
        .expect("history records val_flat_auc");
    let values: Vec<f64> = history
        .records()
        .map(|r| r.unwrap()[at].parse().unwrap())
        .collect();
    assert_eq!(values.len(), 3);
    assert!(values.iter().any(|v| *v != values[0]), "{values:?}");
    // The first epoch with the highest value is the one kept.
    let best = values
        .iter()
        .enumerate()
        .fold(0, |b, (i, v)| if *v > values[b] { i } else { b });
    assert_eq!(
        metrics["best_epoch"].as_u64(),
        Some(best as u64 + 1),
        "{values:?}"
    );
    let kept = metrics["val"]["flat"]["auc"].as_f64().unwrap();
    assert!((kept - values[best]).abs() <= 1e-12, "{kept} vs {values:?}");
}

/// `chromium` or `chromium-browser` on `PATH`.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Runs headless Chromium with a fresh profile, killed after a minute.
fn headless(browser: &Path, args: &[String]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let pipe = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            r.read_to_end(&mut buf).ok();
            buf
        })
    };
    let stdout = pipe(Box::new(child.stdout.take().unwrap()));
    let stderr = pipe(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("chromium did not finish within a minute: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// The value of `data-NAME="…"` on the dumped `<body>`.
fn body_attribute(dom: &str, name: &str) -> Option<usize> {
    let body = &dom[dom.find("<body")?..];
    let body = &body[..body.find('>')?];
    let key = format!("{name}=\"");
    let start = body.find(&key)? + key.len();
    let len = body[start..].find('"')?;
    body[start..start + len].parse().ok()
}

fn browser_check(out: &Path, images: usize) {
    let Some(browser) = chromium() else {
        skip("the browser check: chromium not installed (scripts/test installs it with apt-get)");
        return;
    };
    let url = format!(
        "file://{}",
        out.join("index.html").canonicalize().unwrap().display()
    );

    let dom = headless(
        &browser,
        &[
            "--dump-dom".into(),
            "--virtual-time-budget=5000".into(),
            url.clone(),
        ],
    );
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.status.success(), "{}", text(&dom));
    let total = body_attribute(&dom_text, "data-images-total");
    let ok = body_attribute(&dom_text, "data-images-ok");
    assert_eq!(
        (ok, total),
        (Some(images), Some(images)),
        "not every figure loaded in the browser; stderr:\n{}",
        String::from_utf8_lossy(&dom.stderr)
    );

    // target/debug/sweep → target/test-artifacts/report.png
    let target = Path::new(env!("CARGO_BIN_EXE_sweep"))
        .ancestors()
        .nth(2)
        .unwrap();
    let artifacts = target.join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let png = artifacts.join("report.png");
    std::fs::remove_file(&png).ok();
    let shot = headless(
        &browser,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".into(),
            url,
        ],
    );
    assert!(shot.status.success(), "{}", text(&shot));
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let size = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((size(16), size(20)), (1280, 2000), "IHDR width × height");
    println!("screenshot: {}", png.display());
}
