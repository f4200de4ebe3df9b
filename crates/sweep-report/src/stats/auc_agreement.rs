//! The workspace computes ROC AUC three times, each where it is needed:
//! `sweep_metrics::roc_auc_binary` (the numbers in `metrics.json`, exact
//! integer arithmetic), the area under `sweep_plots::roc_points` (the curves
//! in figures, by trapezoids) and DeLong's test here (from mid-ranks). A
//! reader compares a table with a figure and a p-value, so the three must
//! agree; this test holds them to each other, and to the pairwise definition
//! (a positive outranking a negative counts 1, a tie ½), on many seeded
//! random inputs: tiny sets, heavy ties, signed zeros, one class absent.

use sweep_metrics::roc_auc_binary;
use sweep_plots::{roc_points, trapezoid_auc};

use super::delong_paired;

const TOLERANCE: f64 = 1e-12;

/// SplitMix64: a small, seeded generator, so every run sees the same cases.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One random case: 0/1 labels and scores, sometimes with few distinct
/// values (many ties, including `-0.0` against `0.0`).
fn random_case(rng: &mut SplitMix64) -> (Vec<u8>, Vec<f64>) {
    let largest = if rng.below(4) == 0 { 6 } else { 60 };
    let n = 1 + rng.below(largest);
    let positive_rate = rng.unit();
    let labels: Vec<u8> = (0..n)
        .map(|_| u8::from(rng.unit() < positive_rate))
        .collect();
    let scores = match rng.below(3) {
        0 => (0..n).map(|_| rng.unit()).collect(),
        1 => {
            let levels = 1 + rng.below(4);
            (0..n).map(|_| rng.below(levels) as f64 / 4.0).collect()
        }
        _ => {
            let pool = [-1.0, -0.0, 0.0, 0.5, 1e-300, 1.0];
            (0..n).map(|_| pool[rng.below(pool.len())]).collect()
        }
    };
    (labels, scores)
}

/// AUC by its definition: over all positive/negative pairs, the share in
/// which the positive scores higher, ties counting one half.
fn pairwise_auc(labels: &[u8], scores: &[f64]) -> Option<f64> {
    let pos: Vec<f64> = (0..labels.len())
        .filter(|&i| labels[i] == 1)
        .map(|i| scores[i])
        .collect();
    let neg: Vec<f64> = (0..labels.len())
        .filter(|&i| labels[i] == 0)
        .map(|i| scores[i])
        .collect();
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let mut twice_wins = 0u64;
    for p in &pos {
        for q in &neg {
            twice_wins += match p.partial_cmp(q) {
                Some(std::cmp::Ordering::Greater) => 2,
                Some(std::cmp::Ordering::Equal) => 1,
                _ => 0,
            };
        }
    }
    Some(twice_wins as f64 / (2.0 * pos.len() as f64 * neg.len() as f64))
}

/// DeLong's AUC of `scores` (tested against themselves), or `None` where
/// the test does not apply.
fn delong_auc(labels: &[u8], scores: &[f64]) -> Option<f64> {
    let result = delong_paired(labels, scores, scores, 1).expect("one well-formed output");
    let test = result.per_output[0]?;
    // A model compared with itself: no difference, certainly not significant.
    assert_eq!(
        (test.difference, test.z, test.p_value),
        (0.0, Some(0.0), Some(1.0))
    );
    assert_eq!(test.auc_a, test.auc_b);
    Some(test.auc_a)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE
}

#[test]
fn three_aucs_agree_on_random_inputs() {
    let mut rng = SplitMix64(0x5EED_A0C5);
    let (mut both_classes, mut delong_cases, mut one_class) = (0, 0, 0);
    for case in 0..5_000 {
        let (labels, scores) = random_case(&mut rng);
        let what = format!("case {case}: labels {labels:?}, scores {scores:?}");
        let positives = labels.iter().filter(|&&y| y == 1).count();
        let negatives = labels.len() - positives;

        let metrics = roc_auc_binary(&labels, &scores);
        let (fpr, tpr) = roc_points(&labels, &scores);
        let plots = trapezoid_auc(&fpr, &tpr);
        let delong = delong_auc(&labels, &scores);

        let Some(reference) = pairwise_auc(&labels, &scores) else {
            // One class absent: each says "undefined" its own documented way.
            assert_eq!(metrics, None, "{what}");
            assert!(plots.is_nan(), "{what}: {plots}");
            assert_eq!(delong, None, "{what}");
            one_class += 1;
            continue;
        };
        both_classes += 1;
        let metrics = metrics.unwrap_or_else(|| panic!("{what}: metrics gave no AUC"));
        assert!(
            close(metrics, reference),
            "{what}: metrics {metrics} vs {reference}"
        );
        assert!(
            close(plots, reference),
            "{what}: plots {plots} vs {reference}"
        );
        if positives >= 2 && negatives >= 2 {
            let delong = delong.unwrap_or_else(|| panic!("{what}: DeLong gave no AUC"));
            assert!(
                close(delong, reference),
                "{what}: DeLong {delong} vs {reference}"
            );
            delong_cases += 1;
        } else {
            // DeLong's variance needs two of each class.
            assert_eq!(delong, None, "{what}");
        }
    }
    // The generator really covered every kind of case.
    assert!(both_classes > 3_000 && delong_cases > 2_500 && one_class > 100);
}

#[test]
fn known_values_with_ties() {
    // roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75;
    // roc_auc_score([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) = 0.875.
    for (labels, scores, want) in [
        (vec![0, 0, 1, 1], vec![0.1, 0.4, 0.35, 0.8], 0.75),
        (vec![0, 1, 0, 1], vec![0.5, 0.5, 0.2, 0.9], 0.875),
    ] {
        let (fpr, tpr) = roc_points(&labels, &scores);
        for auc in [
            roc_auc_binary(&labels, &scores).unwrap(),
            trapezoid_auc(&fpr, &tpr),
            delong_auc(&labels, &scores).unwrap(),
            pairwise_auc(&labels, &scores).unwrap(),
        ] {
            assert!(close(auc, want), "{auc} vs {want} for {scores:?}");
        }
    }
}
