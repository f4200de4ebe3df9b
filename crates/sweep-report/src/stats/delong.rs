//! DeLong's test: do two models' ROC AUCs on the *same* test samples differ?
//!
//! Two configurations of a sweep are scored on one official test split, so
//! their AUCs are correlated and an unpaired comparison of two confidence
//! intervals would be far too conservative. DeLong, DeLong & Clarke-Pearson
//! (1988) estimate the covariance of correlated AUCs from "structural
//! components": for a positive sample, the fraction of negatives it outranks
//! (`V10`, ties counting one half); for a negative, the fraction of positives
//! that outrank it (`V01`). They are computed here from average ranks in
//! O(n log n), as in Sun & Xu (2014):
//! `V10ᵢ = (rank of i among all − rank of i among positives) / n_neg`,
//! `V01ⱼ = 1 − (rank of j among all − rank of j among negatives) / n_pos`.
//!
//! For one output the variance of `AUC_a − AUC_b` is DeLong's
//! `S10/m + S01/n` combination of the sample covariances of these components.
//! It is written here as a sum over samples of per-sample influence terms:
//! a positive contributes `(V10ᵢ − AUC) / √(m(m−1))`, a negative
//! `(V01ⱼ − AUC) / √(n(n−1))`, and `Var = Σ (ψᵃ − ψᵇ)²`, which is exactly
//! DeLong's formula. The same terms give the covariance between outputs that
//! share samples, so the **macro AUC** of a multi-label or multi-class
//! (one-vs-rest) task, the mean over outputs, is tested with
//! `Var = Σᵢ (mean over outputs of (ψᵃ − ψᵇ))²`.
//!
//! An output takes part only when it has at least two positives and two
//! negatives (the sample covariances need two of each) and all its scores
//! are finite; [`DelongResult::used`] lists the outputs in the macro. The
//! two-sided p-value is `2·Φ(−|z|)`, `z = difference / √Var`. When the
//! variance is zero (identical rankings) and the difference is zero, the test
//! reports `z = 0, p = 1`; a non-zero difference with zero variance leaves
//! `z` and `p` undefined.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use super::ranks::midranks;

/// One paired comparison of two AUCs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DelongTest {
    pub auc_a: f64,
    pub auc_b: f64,
    /// `auc_a − auc_b`.
    pub difference: f64,
    /// Estimated variance of the difference.
    pub variance: f64,
    pub z: Option<f64>,
    pub p_value: Option<f64>,
}

/// Per-output tests and the macro-average test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DelongResult {
    /// One entry per output; `None` where the output cannot be tested.
    pub per_output: Vec<Option<DelongTest>>,
    /// Outputs that were tested (and enter the macro average).
    pub used: Vec<usize>,
    /// Test of the mean AUC over [`Self::used`]; `None` if no output qualifies.
    pub macro_avg: Option<DelongTest>,
}

/// Inputs that do not describe one test set scored by two models.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelongError {
    #[error("no outputs")]
    NoOutputs,
    #[error("{labels} labels, {a} and {b} scores: not the same n × {outputs} matrix")]
    Shape {
        labels: usize,
        a: usize,
        b: usize,
        outputs: usize,
    },
    #[error("label value {0} is not 0 or 1")]
    BadLabel(u8),
}

/// Paired DeLong tests of model `a` against model `b`.
///
/// `y`, `a` and `b` are row-major `n × outputs` matrices: 0/1 indicators
/// (one-hot rows for a multi-class task) and the two models' scores.
pub fn delong_paired(
    y: &[u8],
    a: &[f64],
    b: &[f64],
    outputs: usize,
) -> Result<DelongResult, DelongError> {
    if outputs == 0 {
        return Err(DelongError::NoOutputs);
    }
    if y.len() != a.len() || y.len() != b.len() || !y.len().is_multiple_of(outputs) {
        return Err(DelongError::Shape {
            labels: y.len(),
            a: a.len(),
            b: b.len(),
            outputs,
        });
    }
    if let Some(&bad) = y.iter().find(|&&v| v > 1) {
        return Err(DelongError::BadLabel(bad));
    }
    let n = y.len() / outputs;
    let column = |m: &[f64], l: usize| -> Vec<f64> { (0..n).map(|i| m[i * outputs + l]).collect() };
    let mut per_output = Vec::with_capacity(outputs);
    let mut used = Vec::new();
    let mut macro_terms = vec![0.0; n];
    let (mut sum_a, mut sum_b) = (0.0, 0.0);
    for l in 0..outputs {
        let truth: Vec<bool> = (0..n).map(|i| y[i * outputs + l] == 1).collect();
        let (sa, sb) = (column(a, l), column(b, l));
        let (Some((auc_a, psi_a)), Some((auc_b, psi_b))) =
            (influence(&truth, &sa), influence(&truth, &sb))
        else {
            per_output.push(None);
            continue;
        };
        let diff: Vec<f64> = psi_a.iter().zip(&psi_b).map(|(p, q)| p - q).collect();
        let variance = diff.iter().map(|v| v * v).sum();
        per_output.push(Some(test(auc_a, auc_b, variance)));
        for (acc, d) in macro_terms.iter_mut().zip(&diff) {
            *acc += d;
        }
        sum_a += auc_a;
        sum_b += auc_b;
        used.push(l);
    }
    let macro_avg = (!used.is_empty()).then(|| {
        let k = used.len() as f64;
        let variance = macro_terms.iter().map(|v| (v / k).powi(2)).sum();
        test(sum_a / k, sum_b / k, variance)
    });
    Ok(DelongResult {
        per_output,
        used,
        macro_avg,
    })
}

/// AUC and per-sample influence terms of `scores` against `truth`; `None`
/// when there are fewer than two positives or negatives, or a score is not
/// finite.
fn influence(truth: &[bool], scores: &[f64]) -> Option<(f64, Vec<f64>)> {
    if scores.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let pos: Vec<f64> = scores
        .iter()
        .zip(truth)
        .filter(|(_, t)| **t)
        .map(|(s, _)| *s)
        .collect();
    let neg: Vec<f64> = scores
        .iter()
        .zip(truth)
        .filter(|(_, t)| !**t)
        .map(|(s, _)| *s)
        .collect();
    let (m, n) = (pos.len(), neg.len());
    if m < 2 || n < 2 {
        return None;
    }
    let all: Vec<f64> = pos.iter().chain(&neg).copied().collect();
    let tz = midranks(&all);
    let tx = midranks(&pos);
    let ty = midranks(&neg);
    let (mf, nf) = (m as f64, n as f64);
    let auc = (tz[..m].iter().sum::<f64>() - mf * (mf + 1.0) / 2.0) / (mf * nf);
    let v10: Vec<f64> = (0..m).map(|i| (tz[i] - tx[i]) / nf).collect();
    let v01: Vec<f64> = (0..n).map(|j| 1.0 - (tz[m + j] - ty[j]) / mf).collect();
    let (scale_pos, scale_neg) = ((mf * (mf - 1.0)).sqrt(), (nf * (nf - 1.0)).sqrt());
    let (mut i_pos, mut i_neg) = (0, 0);
    let psi = truth
        .iter()
        .map(|&t| {
            if t {
                i_pos += 1;
                (v10[i_pos - 1] - auc) / scale_pos
            } else {
                i_neg += 1;
                (v01[i_neg - 1] - auc) / scale_neg
            }
        })
        .collect();
    Some((auc, psi))
}

fn test(auc_a: f64, auc_b: f64, variance: f64) -> DelongTest {
    let difference = auc_a - auc_b;
    let (z, p_value) = if variance > 0.0 {
        let z = difference / variance.sqrt();
        let p = Normal::new(0.0, 1.0).map(|d| 2.0 * d.cdf(-z.abs())).ok();
        (Some(z), p)
    } else if difference == 0.0 {
        (Some(0.0), Some(1.0))
    } else {
        (None, None)
    };
    DelongTest {
        auc_a,
        auc_b,
        difference,
        variance,
        z,
        p_value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_matches_pairwise_definition_with_ties() {
        // Positives 0.9, 0.5; negatives 0.5, 0.1, 0.2. Pairs: 0.9 beats all
        // three, 0.5 ties one and beats two: (3 + 2.5) / 6.
        let y = [1, 1, 0, 0, 0];
        let s = [0.9, 0.5, 0.5, 0.1, 0.2];
        let r = delong_paired(&y, &s, &s, 1).unwrap();
        let t = r.macro_avg.unwrap();
        assert!((t.auc_a - 5.5 / 6.0).abs() < 1e-12);
        assert_eq!((t.difference, t.variance), (0.0, 0.0));
        assert_eq!((t.z, t.p_value), (Some(0.0), Some(1.0)));
    }

    #[test]
    fn single_output_variance_is_delongs_formula() {
        let y = [1, 0, 1, 0, 1, 0, 0, 1];
        let a = [0.9, 0.3, 0.6, 0.4, 0.8, 0.2, 0.7, 0.5];
        let b = [0.6, 0.5, 0.4, 0.3, 0.9, 0.1, 0.2, 0.45];
        let r = delong_paired(&y, &a, &b, 1).unwrap();
        // Direct S10/m + S01/n from pairwise kernels.
        let pos: Vec<usize> = (0..8).filter(|&i| y[i] == 1).collect();
        let neg: Vec<usize> = (0..8).filter(|&i| y[i] == 0).collect();
        let psi = |s: &[f64], i: usize, j: usize| {
            if s[i] > s[j] {
                1.0
            } else if s[i] == s[j] {
                0.5
            } else {
                0.0
            }
        };
        let comps = |s: &[f64]| {
            let v10: Vec<f64> = pos
                .iter()
                .map(|&i| neg.iter().map(|&j| psi(s, i, j)).sum::<f64>() / 4.0)
                .collect();
            let v01: Vec<f64> = neg
                .iter()
                .map(|&j| pos.iter().map(|&i| psi(s, i, j)).sum::<f64>() / 4.0)
                .collect();
            (v10, v01)
        };
        let cov = |u: &[f64], v: &[f64]| {
            let (mu, mv) = (u.iter().sum::<f64>() / 4.0, v.iter().sum::<f64>() / 4.0);
            u.iter()
                .zip(v)
                .map(|(x, y)| (x - mu) * (y - mv))
                .sum::<f64>()
                / 3.0
        };
        let (a10, a01) = comps(&a);
        let (b10, b01) = comps(&b);
        let var = (cov(&a10, &a10) + cov(&b10, &b10) - 2.0 * cov(&a10, &b10)) / 4.0
            + (cov(&a01, &a01) + cov(&b01, &b01) - 2.0 * cov(&a01, &b01)) / 4.0;
        let t = r.per_output[0].unwrap();
        assert!((t.variance - var).abs() < 1e-12, "{} vs {var}", t.variance);
        assert_eq!(r.macro_avg, Some(t));
    }

    #[test]
    fn untestable_outputs_are_skipped() {
        // Output 1 has one positive; output 0 is fine.
        let y = [1, 0, 0, 0, 1, 1, 0, 0];
        let a = [0.9, 0.1, 0.2, 0.3, 0.8, 0.7, 0.1, 0.2];
        let r = delong_paired(&y, &a, &a, 2).unwrap();
        assert_eq!(r.used, vec![0]);
        assert!(r.per_output[1].is_none());
        let nan = [f64::NAN, 0.1, 0.2, 0.3, 0.8, 0.7, 0.1, 0.2];
        assert!(delong_paired(&y, &nan, &a, 2).unwrap().per_output[0].is_none());
        assert!(matches!(
            delong_paired(&y, &a[..6], &a, 2),
            Err(DelongError::Shape { .. })
        ));
    }
}
