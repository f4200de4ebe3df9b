//! Checks every metric against scikit-learn's own output.
//!
//! The fixture file is produced by `scripts/metric_fixtures.py`, which runs
//! scikit-learn on small seeded prediction sets chosen for their edge cases
//! (ties, all-equal scores, single-class labels, empty classes, probabilities
//! of exactly 0.5). Each value must agree to 1e-6, and where scikit-learn
//! gives `nan` the crate must give `None`.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use sweep_metrics::{
    BinaryCounts, ClassificationReport, ConfusionMatrix, FlatSummary, Labels, MetricSummary,
    TaskKind, argmax_rows, evaluate, multilabel_counts, roc_auc_binary, roc_auc_multilabel,
    roc_auc_ovr, threshold,
};

const TOL: f64 = 1e-6;
const FIXTURES: &str = include_str!("fixtures/sklearn_metrics.json");

#[derive(Deserialize)]
struct Fixtures {
    threshold: f64,
    cases: Vec<Case>,
    studies: Vec<Study>,
}

/// A published table rebuilt from its per-label counts.
#[derive(Deserialize)]
struct Study {
    name: String,
    n_labels: usize,
    /// TN, FP, FN, TP per label.
    counts: Vec<[usize; 4]>,
    /// The study's own numbers, rounded to `decimals`.
    printed: BTreeMap<String, f64>,
    decimals: i32,
    expected: StudyExpected,
}

#[derive(Deserialize)]
struct StudyExpected {
    flat: Value,
    f1_weighted_per_label: f64,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    kind: TaskKind,
    n_outputs: usize,
    y: Vec<usize>,
    probs: Vec<f64>,
    expected: Expected,
}

#[derive(Deserialize)]
struct Expected {
    auc_per_class: Vec<Option<f64>>,
    auc_macro_sklearn: Option<f64>,
    auc_macro_defined: Option<f64>,
    auc_skipped: usize,
    accuracy: f64,
    balanced_accuracy: Option<f64>,
    confusion_matrix: Option<Vec<Vec<usize>>>,
    per_class_counts: Vec<[usize; 4]>,
    sensitivity_per_class: Vec<f64>,
    specificity_per_class: Vec<f64>,
    sensitivity_macro: f64,
    specificity_macro: f64,
    prfs: BTreeMap<String, Value>,
    classification_report: Value,
    /// Flattened metrics; `null` for multi-class cases.
    flat: Value,
}

#[derive(Deserialize)]
struct Scores {
    precision: f64,
    recall: f64,
    f1: f64,
}

#[derive(Deserialize)]
struct PerClass {
    precision: Vec<f64>,
    recall: Vec<f64>,
    f1: Vec<f64>,
    support: Vec<usize>,
}

fn fixtures() -> Fixtures {
    let f: Fixtures = serde_json::from_str(FIXTURES).expect("fixture JSON parses");
    assert_eq!(f.threshold, sweep_metrics::DEFAULT_THRESHOLD);
    f
}

impl Case {
    fn indicators(&self) -> Vec<u8> {
        self.y.iter().map(|&v| u8::try_from(v).unwrap()).collect()
    }

    fn summary(&self) -> MetricSummary {
        let ind = self.indicators();
        let labels = match self.kind {
            TaskKind::MultiLabel => Labels::Indicators(&ind),
            _ => Labels::Classes(&self.y),
        };
        evaluate(self.kind, &labels, &self.probs, self.n_outputs)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    fn scores(&self, average: &str) -> Option<Scores> {
        self.expected
            .prfs
            .get(average)
            .map(|v| serde_json::from_value(v.clone()).unwrap())
    }
}

fn close(case: &str, what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= TOL,
        "{case}: {what}: got {got}, scikit-learn {want}"
    );
}

fn close_opt(case: &str, what: &str, got: Option<f64>, want: Option<f64>) {
    match (got, want) {
        (Some(g), Some(w)) => close(case, what, g, w),
        (None, None) => {}
        _ => panic!("{case}: {what}: got {got:?}, scikit-learn {want:?}"),
    }
}

fn close_all(case: &str, what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{case}: {what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        close(case, &format!("{what}[{i}]"), g, w);
    }
}

/// Compares two JSON trees key for key and element for element; numbers to
/// `tol`, everything else exactly.
fn close_json(case: &str, path: &str, got: &Value, want: &Value, tol: f64) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let gk: Vec<&String> = g.keys().collect();
            let wk: Vec<&String> = w.keys().collect();
            assert_eq!(gk, wk, "{case}: {path}: keys");
            for (k, wv) in w {
                close_json(case, &format!("{path}/{k}"), &g[k], wv, tol);
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{case}: {path}: length");
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                close_json(case, &format!("{path}[{i}]"), gv, wv, tol);
            }
        }
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!(
                (g - w).abs() <= tol,
                "{case}: {path}: got {g}, expected {w}"
            );
        }
        _ => assert_eq!(got, want, "{case}: {path}"),
    }
}

#[test]
fn fixture_covers_every_task_kind_and_edge_case() {
    let f = fixtures();
    for kind in [TaskKind::Binary, TaskKind::MultiClass, TaskKind::MultiLabel] {
        assert!(
            f.cases.iter().filter(|c| c.kind == kind).count() >= 3,
            "{kind}"
        );
    }
    // Undefined AUCs occur in every task kind, and sklearn's macro is defined
    // in at least one case of each multi-output kind.
    for kind in [TaskKind::Binary, TaskKind::MultiClass, TaskKind::MultiLabel] {
        let cases = || f.cases.iter().filter(move |c| c.kind == kind);
        assert!(cases().any(|c| c.expected.auc_skipped > 0), "{kind}");
        assert!(
            cases().any(|c| c.expected.auc_macro_sklearn.is_some()),
            "{kind}"
        );
    }
    // Some sigmoid output sits exactly on the threshold.
    assert!(
        f.cases
            .iter()
            .any(|c| c.kind != TaskKind::MultiClass && c.probs.contains(&0.5))
    );
}

#[test]
fn roc_auc_matches() {
    for c in fixtures().cases {
        let e = &c.expected;
        let direct = match c.kind {
            TaskKind::Binary => {
                let auc = roc_auc_binary(&c.indicators(), &c.probs);
                sweep_metrics::AucSummary::from_per_class(vec![auc])
            }
            TaskKind::MultiClass => roc_auc_ovr(&c.y, &c.probs, c.n_outputs),
            TaskKind::MultiLabel => roc_auc_multilabel(&c.indicators(), &c.probs, c.n_outputs),
        };
        let s = c.summary();
        for (auc_per_class, auc, skipped) in [
            (&direct.per_class, direct.macro_avg, direct.skipped),
            (&s.auc_per_class, s.auc, s.auc_skipped),
        ] {
            assert_eq!(auc_per_class.len(), e.auc_per_class.len(), "{}", c.name);
            for (i, (&g, &w)) in auc_per_class.iter().zip(&e.auc_per_class).enumerate() {
                close_opt(&c.name, &format!("auc[{i}]"), g, w);
            }
            close_opt(&c.name, "macro auc", auc, e.auc_macro_defined);
            assert_eq!(skipped, e.auc_skipped, "{}: skipped", c.name);
            // Where scikit-learn's own macro is defined, it is ours too.
            if e.auc_macro_sklearn.is_some() {
                close_opt(&c.name, "sklearn macro auc", auc, e.auc_macro_sklearn);
            } else {
                assert!(
                    skipped > 0,
                    "{}: sklearn nan without a skipped output",
                    c.name
                );
            }
        }
    }
}

#[test]
fn accuracy_and_balanced_accuracy_match() {
    for c in fixtures().cases {
        let s = c.summary();
        close(&c.name, "accuracy", s.accuracy, c.expected.accuracy);
        close_opt(
            &c.name,
            "balanced accuracy",
            s.balanced_accuracy,
            c.expected.balanced_accuracy,
        );
    }
}

#[test]
fn confusion_matrices_and_counts_match() {
    for c in fixtures().cases {
        let s = c.summary();
        assert_eq!(
            s.confusion_matrix.as_ref().map(|m| &m.counts),
            c.expected.confusion_matrix.as_ref(),
            "{}",
            c.name
        );
        let want: Vec<BinaryCounts> = c
            .expected
            .per_class_counts
            .iter()
            .map(|&[tn, fp, fn_, tp]| BinaryCounts {
                true_negatives: tn,
                false_positives: fp,
                false_negatives: fn_,
                true_positives: tp,
            })
            .collect();
        assert_eq!(s.counts_per_class, want, "{}", c.name);

        // The same counts from the building blocks directly.
        match c.kind {
            TaskKind::MultiClass => {
                let pred = argmax_rows(&c.probs, c.n_outputs);
                let cm = ConfusionMatrix::from_predictions(&c.y, &pred, c.n_outputs);
                assert_eq!(cm.per_class_counts(), want, "{}", c.name);
            }
            TaskKind::MultiLabel => {
                let pred = threshold(&c.probs, sweep_metrics::DEFAULT_THRESHOLD);
                let counts = multilabel_counts(&c.indicators(), &pred, c.n_outputs);
                assert_eq!(counts, want, "{}", c.name);
            }
            TaskKind::Binary => {
                let pred = threshold(&c.probs, sweep_metrics::DEFAULT_THRESHOLD);
                let counts = BinaryCounts::from_predictions(&c.indicators(), &pred);
                assert_eq!(vec![counts], want, "{}", c.name);
            }
        }
    }
}

#[test]
fn sensitivity_and_specificity_match() {
    for c in fixtures().cases {
        let s = c.summary();
        let e = &c.expected;
        close_all(
            &c.name,
            "sensitivity",
            &s.sensitivity_per_class,
            &e.sensitivity_per_class,
        );
        close_all(
            &c.name,
            "specificity",
            &s.specificity_per_class,
            &e.specificity_per_class,
        );
        close(
            &c.name,
            "macro sensitivity",
            s.sensitivity,
            e.sensitivity_macro,
        );
        close(
            &c.name,
            "macro specificity",
            s.specificity,
            e.specificity_macro,
        );
    }
}

#[test]
fn precision_recall_f1_match_every_average() {
    for c in fixtures().cases {
        let s = c.summary();
        let per: PerClass = serde_json::from_value(c.expected.prfs["per_class"].clone()).unwrap();
        let rows = &s.report.per_class;
        let col = |f: fn(&sweep_metrics::Prf) -> f64| rows.iter().map(f).collect::<Vec<_>>();
        close_all(&c.name, "precision", &col(|r| r.precision), &per.precision);
        close_all(&c.name, "recall", &col(|r| r.recall), &per.recall);
        close_all(&c.name, "f1", &col(|r| r.f1), &per.f1);
        let support: Vec<usize> = rows.iter().map(|r| r.support).collect();
        assert_eq!(support, per.support, "{}", c.name);

        for (avg, got) in [
            ("macro", (s.precision_macro, s.recall_macro, s.f1_macro)),
            ("micro", (s.precision_micro, s.recall_micro, s.f1_micro)),
            (
                "weighted",
                (s.precision_weighted, s.recall_weighted, s.f1_weighted),
            ),
        ] {
            let want = c.scores(avg).unwrap();
            close(&c.name, &format!("{avg} precision"), got.0, want.precision);
            close(&c.name, &format!("{avg} recall"), got.1, want.recall);
            close(&c.name, &format!("{avg} f1"), got.2, want.f1);
        }

        match (c.scores("samples"), s.report.samples_avg) {
            (Some(want), Some(got)) => {
                close(&c.name, "samples precision", got.precision, want.precision);
                close(&c.name, "samples recall", got.recall, want.recall);
                close(&c.name, "samples f1", got.f1, want.f1);
            }
            (None, None) => assert_ne!(c.kind, TaskKind::MultiLabel),
            (w, g) => panic!(
                "{}: samples average present in sklearn: {}, here: {}",
                c.name,
                w.is_some(),
                g.is_some()
            ),
        }
    }
}

#[test]
fn classification_report_matches_output_dict() {
    for c in fixtures().cases {
        let s = c.summary();
        let got = s.report.to_sklearn_dict();
        close_json(
            &c.name,
            "report",
            &got,
            &c.expected.classification_report,
            TOL,
        );

        // The building-block constructors give the same report.
        let direct = match c.kind {
            TaskKind::MultiLabel => {
                let pred = threshold(&c.probs, sweep_metrics::DEFAULT_THRESHOLD);
                ClassificationReport::multi_label(&c.indicators(), &pred, c.n_outputs)
            }
            TaskKind::MultiClass => {
                ClassificationReport::single_label(&ConfusionMatrix::from_predictions(
                    &c.y,
                    &argmax_rows(&c.probs, c.n_outputs),
                    c.n_outputs,
                ))
            }
            TaskKind::Binary => {
                let pred: Vec<usize> = threshold(&c.probs, sweep_metrics::DEFAULT_THRESHOLD)
                    .into_iter()
                    .map(usize::from)
                    .collect();
                ClassificationReport::single_label(&ConfusionMatrix::from_predictions(
                    &c.y, &pred, 2,
                ))
            }
        };
        assert_eq!(direct, s.report, "{}", c.name);
    }
}

#[test]
fn summaries_survive_json() {
    for c in fixtures().cases {
        let s = c.summary();
        let json = serde_json::to_string(&s).unwrap();
        let back: MetricSummary = serde_json::from_str(&json).unwrap();
        // serde_json's default float parser may land one ulp away.
        let (back, s) = (
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&s).unwrap(),
        );
        close_json(&c.name, "summary", &back, &s, 1e-15);
    }
}

/// The flattened summary as the fixture writes it: the named numbers and
/// the report in scikit-learn's dictionary layout.
fn flat_as_fixture(f: &FlatSummary) -> Value {
    serde_json::json!({
        "auc": f.auc,
        "accuracy": f.accuracy,
        "precision_macro": f.precision_macro,
        "recall_macro": f.recall_macro,
        "f1_macro": f.f1_macro,
        "precision_weighted": f.precision_weighted,
        "recall_weighted": f.recall_weighted,
        "f1_weighted": f.f1_weighted,
        "classification_report": f.report.to_sklearn_dict(),
    })
}

#[test]
fn flattened_metrics_match() {
    let f = fixtures();
    assert!(
        f.cases
            .iter()
            .filter(|c| c.kind == TaskKind::MultiLabel)
            .all(|c| c.expected.flat.is_object())
    );
    for c in f.cases {
        let s = c.summary();
        match (&s.flat, &c.expected.flat) {
            (None, Value::Null) => assert_eq!(c.kind, TaskKind::MultiClass, "{}", c.name),
            (Some(flat), want) => {
                close_json(&c.name, "flat", &flat_as_fixture(flat), want, TOL);
                // Rebuilt from the per-label counts, every number but the AUC is the same.
                let again = FlatSummary::from_label_counts(&s.counts_per_class, flat.auc);
                assert_eq!(&again, flat, "{}", c.name);
            }
            (got, want) => panic!("{}: flat {got:?}, scikit-learn {want}", c.name),
        }
    }
}

/// Label and prediction matrices with each label's printed TN/FP/FN/TP,
/// laid out column by column (TN, FP, FN, TP down each column); the row
/// order a study does not print cannot change per-label or flattened scores.
fn matrices_from_counts(study: &Study) -> (Vec<u8>, Vec<f64>) {
    let n = study.counts[0].iter().sum::<usize>();
    let (mut y, mut p) = (vec![0u8; n * study.n_labels], vec![0.0; n * study.n_labels]);
    for (label, &[tn, fp, fn_, tp]) in study.counts.iter().enumerate() {
        assert_eq!(tn + fp + fn_ + tp, n, "{}: label {label}", study.name);
        for row in 0..n {
            let (truth, predicted) = if row < tn {
                (0, false)
            } else if row < tn + fp {
                (0, true)
            } else if row < tn + fp + fn_ {
                (1, false)
            } else {
                (1, true)
            };
            y[row * study.n_labels + label] = truth;
            p[row * study.n_labels + label] = if predicted { 1.0 } else { 0.0 };
        }
    }
    (y, p)
}

#[test]
fn chest_study_weighted_f1_is_the_flattened_one() {
    let f = fixtures();
    let study = f
        .studies
        .iter()
        .find(|s| s.name == "chestmnist_cnn_table_ii")
        .unwrap();
    let (y, p) = matrices_from_counts(study);
    let s = evaluate(
        TaskKind::MultiLabel,
        &Labels::Indicators(&y),
        &p,
        study.n_labels,
    )
    .unwrap();
    let flat = s.flat.as_ref().unwrap();
    let want = &study.expected.flat;
    for (name, got) in [
        ("f1_weighted", flat.f1_weighted),
        ("accuracy", flat.accuracy),
        ("precision_macro", flat.precision_macro),
        ("recall_macro", flat.recall_macro),
        ("f1_macro", flat.f1_macro),
    ] {
        close(&study.name, name, got, want[name].as_f64().unwrap());
    }
    close_json(
        &study.name,
        "flat report",
        &flat.report.to_sklearn_dict(),
        &want["classification_report"],
        TOL,
    );
    // The study's printed numbers, to the precision it printed them.
    let scale = 10f64.powi(study.decimals);
    for (name, got) in [
        ("flat_f1_weighted", flat.f1_weighted),
        ("flat_accuracy", flat.accuracy),
    ] {
        assert_eq!(
            (got * scale).round() / scale,
            study.printed[name],
            "{}: {name} = {got}",
            study.name
        );
    }
    // The per-label weighted F1 of the same predictions is another number.
    close(
        &study.name,
        "per-label weighted f1",
        s.f1_weighted,
        study.expected.f1_weighted_per_label,
    );
    assert!(s.f1_weighted < 0.07, "{}", s.f1_weighted);
}
