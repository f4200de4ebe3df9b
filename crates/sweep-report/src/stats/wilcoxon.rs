//! The Wilcoxon signed-rank test: the paired comparison that does not assume
//! normally distributed differences, which five folds rarely justify.
//!
//! It reproduces `scipy.stats.wilcoxon(x, y)` with SciPy's defaults
//! (`zero_method="wilcox"`, `correction=False`, `alternative="two-sided"`,
//! `method="auto"`), including how SciPy ≥ 1.13 picks the null distribution:
//!
//! * zero differences are dropped before ranking; the others are ranked by
//!   absolute value with average ranks for ties, and `R+` is the sum of the
//!   ranks of positive differences; the reported statistic is `min(R+, R−)`;
//! * **exact**: with n ≤ 50 pairs, no zero difference and no tied absolute
//!   differences, `p = 2·min(P(R+ ≥ r), P(R+ ≤ r))` under the exact null
//!   distribution of `R+` (all 2ⁿ sign patterns of the ranks 1..n);
//! * **permutation**: with ties or zeros and n ≤ 13, the same two-sided rule
//!   over all sign flips of the observed ranks (what SciPy's
//!   `permutation_test` enumerates exactly at that size);
//! * **normal**: otherwise, `z = (R+ − n'(n'+1)/4) / σ` with the tie-corrected
//!   `σ² = (n'(n'+1)(2n'+1) − Σ(t³ − t)/2) / 24` over the n' non-zero
//!   differences and no continuity correction, `p = 2·Φ(−|z|)`.
//!
//! n counts every pair, zeros included, when choosing the method (as SciPy
//! does); p-values are capped at 1.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use super::ranks::{midranks, tie_groups};

/// Which null distribution produced the p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WilcoxonMethod {
    Exact,
    Permutation,
    Normal,
}

/// Result of [`wilcoxon_signed_rank`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Wilcoxon {
    /// `min(R+, R−)`, SciPy's two-sided statistic.
    pub statistic: f64,
    pub p_value: f64,
    pub method: WilcoxonMethod,
    /// Pairs whose difference is not zero (the ones ranked).
    pub n_nonzero: usize,
}

/// Largest n for the exact distribution (SciPy's `method="auto"` limit).
const EXACT_MAX_N: usize = 50;
/// Largest n for which SciPy enumerates every sign flip.
const PERMUTATION_MAX_N: usize = 13;

/// Two-sided Wilcoxon signed-rank test of `x` against `y` (pairs by position).
///
/// `None` when the lengths differ, there are no pairs, a value is not finite,
/// or the normal approximation is undefined (more than 13 pairs, all equal).
pub fn wilcoxon_signed_rank(x: &[f64], y: &[f64]) -> Option<Wilcoxon> {
    if x.len() != y.len() || x.is_empty() {
        return None;
    }
    let d: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    if d.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let n = d.len();
    let nonzero: Vec<f64> = d.iter().copied().filter(|&v| v != 0.0).collect();
    let count = nonzero.len();
    let abs: Vec<f64> = nonzero.iter().map(|v| v.abs()).collect();
    let ranks = midranks(&abs);
    let groups = tie_groups(&abs);
    let has_ties = groups.iter().any(|&g| g > 1);
    // Ranks are multiples of 1/2: doubled, they are exact integers.
    let doubled: Vec<u64> = ranks.iter().map(|r| (r * 2.0).round() as u64).collect();
    let r_plus2: u64 = nonzero
        .iter()
        .zip(&doubled)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum();
    let total2: u64 = doubled.iter().sum();
    let r_plus = r_plus2 as f64 / 2.0;
    let r_minus = (total2 - r_plus2) as f64 / 2.0;
    let statistic = r_plus.min(r_minus);

    let method = if n > EXACT_MAX_N {
        WilcoxonMethod::Normal
    } else if !has_ties && count == n {
        WilcoxonMethod::Exact
    } else if n <= PERMUTATION_MAX_N {
        WilcoxonMethod::Permutation
    } else {
        WilcoxonMethod::Normal
    };
    let p_value = match method {
        WilcoxonMethod::Exact => exact_p(count, r_plus2 / 2),
        WilcoxonMethod::Permutation => permutation_p(&doubled, r_plus2),
        WilcoxonMethod::Normal => normal_p(count, r_plus, &groups)?,
    };
    Some(Wilcoxon {
        statistic,
        p_value: p_value.min(1.0),
        method,
        n_nonzero: count,
    })
}

/// Exact two-sided p for `R+ = r` with ranks 1..n and no ties.
fn exact_p(n: usize, r: u64) -> f64 {
    let max = n * (n + 1) / 2;
    // counts[s] = number of subsets of {1..n} summing to s (≤ 2⁵⁰: exact in f64).
    let mut counts = vec![0.0f64; max + 1];
    counts[0] = 1.0;
    for k in 1..=n {
        for s in (k..=max).rev() {
            counts[s] += counts[s - k];
        }
    }
    let total = 2f64.powi(n as i32);
    let r = r as usize;
    let cdf: f64 = counts[..=r.min(max)].iter().sum::<f64>() / total;
    let sf: f64 = counts[r.min(max + 1)..].iter().sum::<f64>() / total;
    2.0 * cdf.min(sf)
}

/// Two-sided p over every sign flip of the (doubled) ranks, as a count.
fn permutation_p(doubled: &[u64], observed: u64) -> f64 {
    let k = doubled.len();
    if k == 0 {
        return 1.0;
    }
    let flips = 1u64 << k;
    let (mut less, mut greater) = (0u64, 0u64);
    for mask in 0..flips {
        let s: u64 = doubled
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, r)| r)
            .sum();
        less += u64::from(s <= observed);
        greater += u64::from(s >= observed);
    }
    2.0 * less.min(greater) as f64 / flips as f64
}

/// Normal approximation with the tie correction, no continuity correction.
fn normal_p(count: usize, r_plus: f64, groups: &[usize]) -> Option<f64> {
    let n = count as f64;
    let mean = n * (n + 1.0) / 4.0;
    let ties: f64 = groups.iter().map(|&t| (t * t * t - t) as f64).sum();
    let var = (n * (n + 1.0) * (2.0 * n + 1.0) - ties / 2.0) / 24.0;
    if var <= 0.0 {
        return None;
    }
    let z = (r_plus - mean) / var.sqrt();
    let normal = Normal::new(0.0, 1.0).ok()?;
    Some(2.0 * normal.cdf(-z.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_small_sample() {
        // d = [1, 2, 3, 4, 5] all positive: R+ = 15, the single most extreme
        // of 32 sign patterns, so p = 2/32.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let r = wilcoxon_signed_rank(&x, &[0.0; 5]).unwrap();
        assert_eq!(r.method, WilcoxonMethod::Exact);
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.p_value, 0.0625);
        assert_eq!(r.n_nonzero, 5);
    }

    #[test]
    fn zeros_are_dropped_and_switch_to_permutation() {
        // d = [0, 1, 2]: ranks 1, 2 over the non-zero pair; R+ = 3 of 4 flips.
        let r = wilcoxon_signed_rank(&[0.0, 1.0, 2.0], &[0.0; 3]).unwrap();
        assert_eq!(r.method, WilcoxonMethod::Permutation);
        assert_eq!(r.n_nonzero, 2);
        assert_eq!(r.p_value, 0.5);
        let same = wilcoxon_signed_rank(&[1.0, 2.0], &[1.0, 2.0]).unwrap();
        assert_eq!((same.statistic, same.p_value), (0.0, 1.0));
    }

    #[test]
    fn large_samples_use_the_normal_approximation() {
        let x: Vec<f64> = (0..60).map(|i| f64::from(i) * 0.37 % 1.0 + 0.1).collect();
        let y: Vec<f64> = (0..60).map(|i| f64::from(i) * 0.11 % 0.9).collect();
        let r = wilcoxon_signed_rank(&x, &y).unwrap();
        assert_eq!(r.method, WilcoxonMethod::Normal);
        assert!(r.p_value > 0.0 && r.p_value <= 1.0);
        // All-zero differences beyond the permutation limit: undefined.
        assert_eq!(wilcoxon_signed_rank(&[1.0; 20], &[1.0; 20]), None);
    }
}
