//! A results folder written to disk with the trainer's real file layouts
//! (`metrics.json` with `MetricSummary` splits, `history.csv`,
//! `predictions.csv`, `complete.json`), including a failed, a corrupt and
//! pending runs, is turned into every table in every format.

use serde_json::{Value, json};
use sweep_core::hash::KeyInput;
use sweep_core::plan::{PlanStatus, PlannedRun};
use sweep_core::run_spec::RunSpec;
use sweep_core::store::{
    FailureKind, HISTORY_FILE, METRICS_FILE, PREDICTIONS_FILE, Store, write_atomic,
};
use sweep_core::train_options::TrainOptions;
use sweep_metrics::{Labels, MetricSummary, TaskKind, evaluate, roc_auc_ovr};
use sweep_report::stats::delong_paired;
use sweep_report::{
    Format, RenderOptions, ReportOptions, Selection, Split, build_report, per_class, prevalence,
    render,
};

const CLASSES: usize = 7;
const TEST_N: usize = 63;
const FORMATS: [Format; 5] = [
    Format::Table,
    Format::Markdown,
    Format::Csv,
    Format::Latex,
    Format::Json,
];

/// A synthetic DermaMNIST run with 3 folds.
fn spec(arch: &str, fold: u32) -> RunSpec {
    serde_json::from_value(json!({
        "dataset": "synthetic:dermamnist",
        "arch": arch,
        "lr": 0.001,
        "class_weighting": "none",
        "pos_weight": "none",
        "folds": {"kfold": {"k": 3, "stratified": true, "split_seed": 0}},
        "fold": fold,
        "seed": 0,
        "train": serde_json::to_value(TrainOptions::default()).unwrap(),
    }))
    .unwrap()
}

/// Deterministic pseudo-random numbers in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Labels cycling through the classes and softmax scores with some signal.
fn split(n: usize, strength: f64, rng: &mut Lcg) -> (Vec<usize>, Vec<f64>) {
    let y: Vec<usize> = (0..n).map(|i| (i * 5 + i / 7) % CLASSES).collect();
    let mut p = Vec::with_capacity(n * CLASSES);
    for &c in &y {
        let logits: Vec<f64> = (0..CLASSES)
            .map(|k| if k == c { strength } else { 0.0 } + 2.0 * rng.next())
            .collect();
        let z: f64 = logits.iter().map(|l| l.exp()).sum();
        p.extend(logits.iter().map(|l| l.exp() / z));
    }
    (y, p)
}

fn summary(y: &[usize], p: &[f64]) -> MetricSummary {
    evaluate(TaskKind::MultiClass, &Labels::Classes(y), p, CLASSES).unwrap()
}

pub(crate) struct Written {
    val: MetricSummary,
    test_y: Vec<usize>,
    test_p: Vec<f64>,
    train_seconds: f64,
}

/// Writes a finished run the way the trainer does.
pub(crate) fn write_done(store: &Store, run: &PlannedRun, seed: u64, strength: f64) -> Written {
    let key = run.key.as_ref().unwrap();
    let dir = store.run_dir(key);
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Lcg(seed);
    let (ty, tp) = split(84, strength + 0.5, &mut rng);
    let (vy, vp) = split(42, strength, &mut rng);
    let (sy, sp) = split(TEST_N, strength, &mut rng);
    let (train, val, test) = (summary(&ty, &tp), summary(&vy, &vp), summary(&sy, &sp));
    let train_seconds = 60.0 + 10.0 * rng.next();
    let metrics = json!({
        "key": key.as_str(), "dataset": run.spec.dataset, "arch": run.spec.arch,
        "task": "multi-class", "params": 4321, "trainable_params": 4321,
        "epochs_run": 3, "best_epoch": 2, "stopped_early": false,
        "train_seconds": train_seconds, "wall_seconds": train_seconds + 2.0,
        "device": "cpu", "threads": 2, "samples": [84, 42, TEST_N],
        "weights": {"pos_weight": null, "class_weights": null},
        "train": train, "val": val, "test": test,
        "train_loss": 1.1, "val_loss": 1.2 + rng.next() * 0.1, "test_loss": 1.25,
        "versions": {"sweep": "0.1.0", "torch": "2.13.0", "tch": "0.26"},
        "a_field_added_later": [1, 2, 3],
    });
    write_atomic(
        &dir.join(METRICS_FILE),
        &serde_json::to_vec_pretty(&metrics).unwrap(),
    )
    .unwrap();
    let mut history = String::from(
        "epoch,lr,train_loss,train_accuracy,train_auc,train_sensitivity,train_specificity,train_f1,\
         val_loss,val_accuracy,val_auc,val_sensitivity,val_specificity,val_f1,seconds\n",
    );
    for (e, auc) in [(1, 0.55), (2, val.auc.unwrap()), (3, 0.5)] {
        history.push_str(&format!(
            "{e},0.001,1.5,0.3,0.6,0.3,0.8,0.2,1.4,0.3,{auc},0.3,0.8,0.2,20.000\n"
        ));
    }
    write_atomic(&dir.join(HISTORY_FILE), history.as_bytes()).unwrap();
    let mut pred = String::from("index,y_0");
    for k in 0..CLASSES {
        pred.push_str(&format!(",p_{k}"));
    }
    pred.push('\n');
    for (i, c) in sy.iter().enumerate() {
        pred.push_str(&format!("{i},{c}"));
        for v in &sp[i * CLASSES..(i + 1) * CLASSES] {
            pred.push_str(&format!(",{v}"));
        }
        pred.push('\n');
    }
    write_atomic(&dir.join(PREDICTIONS_FILE), pred.as_bytes()).unwrap();
    Store::complete(&dir, key, &[METRICS_FILE, HISTORY_FILE, PREDICTIONS_FILE]).unwrap();
    Written {
        val,
        test_y: sy,
        test_p: sp,
        train_seconds,
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    store: Store,
    runs: Vec<PlannedRun>,
    /// chest_cnn folds 0..3, small_cnn folds 0..2.
    chest: Vec<Written>,
    small: Vec<Written>,
}

fn planned(store: &Store, arch: &str, fold: u32) -> PlannedRun {
    let s = spec(arch, fold);
    let input = KeyInput::new(s.clone(), "synthetic".into());
    let key = input.key();
    PlannedRun {
        status: PlanStatus::Store(store.status(&key)),
        spec: s,
        input: Some(input),
        key: Some(key),
        data_file: None,
    }
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("results"));
    let chest: Vec<Written> = (0..3)
        .map(|f| {
            write_done(
                &store,
                &planned(&store, "chest_cnn", f),
                10 + u64::from(f),
                2.0,
            )
        })
        .collect();
    let small: Vec<Written> = (0..2)
        .map(|f| {
            write_done(
                &store,
                &planned(&store, "small_cnn", f),
                20 + u64::from(f),
                1.0,
            )
        })
        .collect();
    // small_cnn fold 3 failed.
    let failed = planned(&store, "small_cnn", 2);
    let dir = store.run_dir(failed.key.as_ref().unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    Store::fail(&dir, FailureKind::Oom, "CUDA out of memory").unwrap();
    // derma_cnn fold 1: complete but its metrics.json is corrupt; folds 2, 3 pending.
    let corrupt = planned(&store, "derma_cnn", 0);
    let dir = store.run_dir(corrupt.key.as_ref().unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    write_atomic(&dir.join(METRICS_FILE), b"{\"params\": 12, \"val\": ").unwrap();
    Store::complete(&dir, corrupt.key.as_ref().unwrap(), &[METRICS_FILE]).unwrap();
    let runs = ["chest_cnn", "small_cnn", "derma_cnn"]
        .iter()
        .flat_map(|a| (0..3).map(|f| (*a, f)))
        .map(|(a, f)| planned(&store, a, f))
        .collect();
    Fixture {
        _tmp: tmp,
        store,
        runs,
        chest,
        small,
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn options(metrics: &[&str], baseline: &[&str]) -> ReportOptions {
    ReportOptions {
        metrics: metrics.iter().map(|s| s.to_string()).collect(),
        baseline: baseline.iter().map(|s| s.parse().unwrap()).collect(),
        ..ReportOptions::default()
    }
}

#[test]
fn report_from_disk_keeps_every_run_and_renders_every_format() {
    let fx = fixture();
    let opts = options(
        &[
            "params",
            "val_loss",
            "val_accuracy",
            "val_auc",
            "test_auc",
            "test_f1",
            "train_time",
            "best_val_auc",
        ],
        &["arch=chest_cnn"],
    );
    let report = build_report(&fx.store, &fx.runs, &opts).unwrap();
    assert_eq!(report.columns, ["arch"]);
    let archs: Vec<&str> = report.rows.iter().map(|r| r.values[0].as_str()).collect();
    assert_eq!(archs, ["chest_cnn", "small_cnn", "derma_cnn"]);
    assert_eq!(report.runs_selected, 9);
    assert_eq!(report.runs_loaded, 5);

    // Means agree with the values written.
    let val_auc = |w: &[Written]| mean(&w.iter().map(|w| w.val.auc.unwrap()).collect::<Vec<_>>());
    assert!((report.rows[0].stats[3].mean.unwrap() - val_auc(&fx.chest)).abs() < 1e-12);
    assert!((report.rows[1].stats[3].mean.unwrap() - val_auc(&fx.small)).abs() < 1e-12);
    let times: Vec<f64> = fx.chest.iter().map(|w| w.train_seconds).collect();
    assert!((report.rows[0].stats[6].mean.unwrap() - mean(&times)).abs() < 1e-9);
    // best_val_auc comes from history.csv: the best epoch holds the summary's AUC.
    assert!((report.rows[0].stats[7].mean.unwrap() - val_auc(&fx.chest)).abs() < 1e-9);
    assert_eq!(report.rows[2].stats[3].n, 0);

    // Missing runs keep their reasons.
    let statuses: Vec<(&str, &str)> = report.rows[2]
        .runs
        .iter()
        .map(|r| (r.status.as_str(), r.reason.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(statuses[0].0, "unreadable");
    assert!(
        statuses[0].1.starts_with("unreadable metrics.json: "),
        "{statuses:?}"
    );
    assert_eq!(statuses[1], ("pending", "not run yet"));
    let failed = &report.rows[1].runs[2];
    assert_eq!(failed.status, "failed");
    assert_eq!(
        failed.reason.as_deref(),
        Some("oom: CUDA out of memory (1 attempt)")
    );

    // Paired comparison and DeLong on the fold-averaged test predictions.
    let c = report.comparison.as_ref().unwrap();
    assert_eq!(c.baseline_row, 0);
    let small = &c.rows[0];
    let auc_cmp = small
        .metrics
        .iter()
        .find(|m| m.metric == "test_auc")
        .unwrap();
    assert_eq!(auc_cmp.pairs, 2);
    let d = small.delong.as_ref().unwrap();
    assert_eq!(
        (d.pairs, d.outputs, d.outputs_used.len()),
        (2, CLASSES, CLASSES)
    );
    let averaged = |w: &[Written]| -> Vec<f64> {
        (0..w[0].test_p.len())
            .map(|i| (w[0].test_p[i] + w[1].test_p[i]) / 2.0)
            .collect()
    };
    let (row_p, base_p) = (averaged(&fx.small), averaged(&fx.chest[..2]));
    let t = d.test.unwrap();
    let ovr = |p: &[f64]| {
        roc_auc_ovr(&fx.chest[0].test_y, p, CLASSES)
            .macro_avg
            .unwrap()
    };
    assert!(
        (t.auc_a - ovr(&row_p)).abs() < 1e-12,
        "{} vs {}",
        t.auc_a,
        ovr(&row_p)
    );
    assert!((t.auc_b - ovr(&base_p)).abs() < 1e-12);
    let mut onehot = vec![0u8; TEST_N * CLASSES];
    for (i, &c) in fx.chest[0].test_y.iter().enumerate() {
        onehot[i * CLASSES + c] = 1;
    }
    let direct = delong_paired(&onehot, &row_p, &base_p, CLASSES).unwrap();
    assert_eq!(direct.macro_avg, Some(t));
    let derma = &c.rows[1];
    assert_eq!(
        derma.delong.as_ref().unwrap().unavailable.as_deref(),
        Some("no matched runs with results")
    );

    for format in FORMATS {
        let text = render(&report, format, &RenderOptions::default());
        assert!(
            text.contains("chest_cnn") || text.contains(r"chest\_cnn"),
            "{format:?}"
        );
        match format {
            Format::Table => {
                assert!(text.contains('┌') && text.contains("Val AUC"), "{text}");
                assert!(text.contains("derma_cnn: 3 of 3 runs missing"), "{text}");
            }
            Format::Markdown => {
                assert!(text.contains("| arch | n | Params |"), "{text}");
                assert!(text.contains("**"), "{text}");
                assert!(text.contains("| small\\_cnn | 2/3 |"), "{text}");
                assert!(text.contains("oom: CUDA out of memory"), "{text}");
            }
            Format::Csv => {
                let mut rd = csv::Reader::from_reader(text.as_bytes());
                let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
                for col in [
                    "arch",
                    "val_auc_mean",
                    "val_auc_std",
                    "val_auc_n",
                    "train_time_mean",
                ] {
                    assert!(header.contains(&col.to_string()), "{col} in {header:?}");
                }
                let i = header.iter().position(|h| h == "val_auc_mean").unwrap();
                let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
                assert_eq!(rows.len(), 3);
                let v: f64 = rows[0][i].parse().unwrap();
                assert!((v - val_auc(&fx.chest)).abs() < 1e-12);
                assert_eq!(&rows[2][i], "");
                let p = header
                    .iter()
                    .position(|h| h == "test_auc_delong_p")
                    .unwrap();
                assert!(rows[1][p].parse::<f64>().is_ok(), "{:?}", &rows[1]);
            }
            Format::Latex => {
                assert!(text.contains(r"\begin{table}") && text.contains(r"\end{table}"));
                assert!(text.contains(r"\toprule") && text.contains(r"\midrule"));
                assert!(text.contains(r"small\_cnn"), "{text}");
                assert!(!text.contains("±"), "unescaped ± in {text}");
            }
            Format::Json => {
                let v: Value = serde_json::from_str(&text).unwrap();
                let run = &v["rows"][0]["runs"][0];
                assert_eq!(run["status"], "done");
                assert!(
                    (run["values"]["val_auc"].as_f64().unwrap() - fx.chest[0].val.auc.unwrap())
                        .abs()
                        < 1e-15
                );
                assert_eq!(v["rows"][2]["runs"][0]["status"], "unreadable");
                assert!(v["comparison"]["rows"][0]["delong"]["test"]["p_value"].is_number());
            }
        }
    }
}

#[test]
fn filters_read_values_like_the_spec() {
    let fx = fixture();
    let mut opts = options(&["val_auc"], &[]);
    opts.filters = vec![
        "lr=1e-3".parse().unwrap(),
        "arch=small_cnn".parse().unwrap(),
    ];
    let r = build_report(&fx.store, &fx.runs, &opts).unwrap();
    assert_eq!(r.runs_selected, 3);
    assert!(r.columns.is_empty());
    assert!(
        r.caption
            .iter()
            .any(|c| c.field == "arch" && c.value == "small_cnn")
    );
    opts.filters = vec!["lr=0.5".parse().unwrap()];
    let err = build_report(&fx.store, &fx.runs, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no run matches lr=0.5") && err.contains("lr: 0.001"),
        "{err}"
    );
    let grouped = ReportOptions {
        group_by: vec!["fold".into()],
        ..options(&["val_auc"], &[])
    };
    let r = build_report(&fx.store, &fx.runs, &grouped).unwrap();
    assert_eq!(r.rows.len(), 3);
    assert_eq!(r.pooled[0].field, "arch");
}

#[test]
fn per_class_tables_from_disk() {
    let fx = fixture();
    let sel = Selection {
        filters: vec!["arch=chest_cnn".parse().unwrap()],
        key: None,
    };
    let pc = per_class(&fx.store, &fx.runs, &sel, Split::Test).unwrap();
    assert_eq!(pc.runs.len(), 3);
    assert_eq!(pc.classes.len(), CLASSES);
    assert_eq!(pc.classes[5].name, "melanocytic nevi");
    for c in &pc.classes {
        let total =
            c.tn.mean.unwrap() + c.fp.mean.unwrap() + c.fn_.mean.unwrap() + c.tp.mean.unwrap();
        assert!((total - TEST_N as f64).abs() < 1e-9);
    }
    let test_recall: Vec<f64> = fx
        .chest
        .iter()
        .map(|w| {
            let s = summary(&w.test_y, &w.test_p);
            s.report.per_class[2].recall
        })
        .collect();
    assert!((pc.classes[2].recall.mean.unwrap() - mean(&test_recall)).abs() < 1e-12);
    let names: Vec<&str> = pc.averages.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["accuracy", "macro avg", "weighted avg"]);
    assert_eq!(pc.averages[0].support.mean, Some(TEST_N as f64));
    for format in FORMATS {
        let text = render(&pc, format, &RenderOptions::default());
        assert!(text.contains("melanocytic nevi"), "{format:?}: {text}");
    }
    let md = render(&pc, Format::Markdown, &RenderOptions::default());
    assert!(
        md.contains("| class | precision | recall | F1 | support |"),
        "{md}"
    );
    assert!(md.contains("| accuracy |  |  |"), "{md}");

    // One run by key prefix.
    let key = fx.runs[0].key.as_ref().unwrap().short().to_string();
    let one = per_class(
        &fx.store,
        &fx.runs,
        &Selection {
            filters: Vec::new(),
            key: Some(key),
        },
        Split::Val,
    )
    .unwrap();
    assert_eq!(one.runs.len(), 1);
    assert_eq!(one.classes[0].precision.std, None);

    // Several configurations are refused with the differing fields named.
    let err = per_class(&fx.store, &fx.runs, &Selection::default(), Split::Test).unwrap_err();
    assert!(err.to_string().contains("differ in arch"), "{err}");
    // A configuration without results says why.
    let derma = Selection {
        filters: vec!["arch=derma_cnn".parse().unwrap()],
        key: None,
    };
    let err = per_class(&fx.store, &fx.runs, &derma, Split::Test)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unreadable metrics.json") && err.contains("pending"),
        "{err}"
    );
}

#[test]
fn prevalence_from_disk() {
    let fx = fixture();
    let p = prevalence(&fx.store, &fx.runs, &Selection::default()).unwrap();
    assert_eq!(p.dataset, "synthetic:dermamnist");
    assert_eq!(p.runs.len(), 5);
    assert_eq!(p.missing.len(), 4);
    assert_eq!(p.samples[2].mean, Some(TEST_N as f64));
    for s in 0..3 {
        let total: f64 = p.classes.iter().map(|c| c.percent[s].mean.unwrap()).sum();
        assert!((total - 100.0).abs() < 1e-9, "split {s}: {total}");
    }
    let y = &fx.chest[0].test_y;
    for (k, c) in p.classes.iter().enumerate() {
        let count = y.iter().filter(|&&v| v == k).count() as f64;
        assert_eq!(c.count[2].mean, Some(count));
    }
    for format in FORMATS {
        let text = render(&p, format, &RenderOptions::default());
        assert!(text.contains("vascular lesions"), "{format:?}: {text}");
    }
    let csv = render(&p, Format::Csv, &RenderOptions::default());
    assert!(
        csv.starts_with(
            "index,class,train_n,train_percent,val_n,val_percent,test_n,test_percent\n"
        )
    );
}

#[test]
fn unknown_names_are_explained() {
    let fx = fixture();
    let err = build_report(&fx.store, &fx.runs, &options(&["val_acc"], &[])).unwrap_err();
    assert!(
        err.to_string().contains("unknown metric `val_acc`"),
        "{err}"
    );
    let err = build_report(
        &fx.store,
        &fx.runs,
        &options(&["val_auc"], &["arch=resnet18"]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("matches no row"), "{err}");
    let err = build_report(&fx.store, &fx.runs, &options(&["val_auc"], &["arch=vgg"])).unwrap_err();
    assert!(err.to_string().contains("unknown value `vgg`"), "{err}");
    let err = build_report(
        &fx.store,
        &fx.runs,
        &ReportOptions {
            group_by: vec!["archh".into()],
            ..ReportOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("did you mean `arch`"), "{err}");
    let ambiguous = build_report(&fx.store, &fx.runs, &options(&["val_auc"], &["lr=1e-3"]));
    assert!(
        ambiguous
            .unwrap_err()
            .to_string()
            .contains("matches 3 rows")
    );
}
