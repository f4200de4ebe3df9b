//! The paired t-test: is the mean of per-fold (per-seed) differences zero?
//!
//! Runs of two configurations that share a fold and a seed saw the same data
//! split and initialisation stream, so their difference removes that shared
//! variation. The test is `scipy.stats.ttest_rel(x, y)`, two-sided: with
//! `d = x − y`, `t = mean(d) / (sd(d) / √n)` on `n − 1` degrees of freedom
//! (`sd` with the `n − 1` denominator), `p = 2·P(T > |t|)` from Student's t
//! distribution (its regularized incomplete beta form, from `statrs`).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Result of [`paired_t_test`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TTest {
    /// `t`; infinite when every difference is the same non-zero number.
    pub statistic: f64,
    pub df: f64,
    pub p_value: f64,
    pub mean_difference: f64,
}

/// Two-sided paired t-test of `x` against `y` (pairs by position).
///
/// `None` when there are fewer than two pairs, the lengths differ, a value is
/// not finite, or every difference is zero (then `t` is 0/0: SciPy's `nan`).
/// When the differences are all equal and non-zero, `t` is ±∞ and `p` is 0,
/// as in SciPy.
pub fn paired_t_test(x: &[f64], y: &[f64]) -> Option<TTest> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let d: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    if d.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let se = (var / n).sqrt();
    let df = n - 1.0;
    let statistic = mean / se;
    if statistic.is_nan() {
        return None;
    }
    let p_value = if statistic.is_infinite() {
        0.0
    } else {
        let dist = StudentsT::new(0.0, 1.0, df).ok()?;
        (2.0 * dist.sf(statistic.abs())).min(1.0)
    };
    Some(TTest {
        statistic,
        df,
        p_value,
        mean_difference: mean,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_example() {
        // d = [1, 2, 3]: mean 2, sd 1, t = 2 / (1/√3) = 2√3 on 2 df.
        // P(|T₂| > t) = 1 − t / √(2 + t²) = 1 − 2√3/√14.
        let r = paired_t_test(&[2.0, 4.0, 6.0], &[1.0, 2.0, 3.0]).unwrap();
        assert!((r.statistic - 2.0 * 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(r.df, 2.0);
        let want = 1.0 - 2.0 * 3f64.sqrt() / 14f64.sqrt();
        assert!((r.p_value - want).abs() < 1e-12, "{} vs {want}", r.p_value);
        assert_eq!(r.mean_difference, 2.0);
    }

    #[test]
    fn swapping_sides_flips_the_sign_only() {
        let x = [0.81, 0.79, 0.84, 0.80];
        let y = [0.78, 0.80, 0.80, 0.77];
        let a = paired_t_test(&x, &y).unwrap();
        let b = paired_t_test(&y, &x).unwrap();
        assert!((a.statistic + b.statistic).abs() < 1e-12);
        assert!((a.p_value - b.p_value).abs() < 1e-15);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(paired_t_test(&[1.0], &[0.0]), None);
        assert_eq!(paired_t_test(&[1.0, 2.0], &[0.0]), None);
        assert_eq!(paired_t_test(&[1.0, 2.0], &[1.0, 2.0]), None);
        assert_eq!(paired_t_test(&[f64::NAN, 2.0], &[1.0, 2.0]), None);
        let r = paired_t_test(&[1.5, 2.5], &[1.0, 2.0]).unwrap();
        assert!(r.statistic.is_infinite());
        assert_eq!(r.p_value, 0.0);
    }
}
