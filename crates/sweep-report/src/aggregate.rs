//! Per row and metric: mean, sample standard deviation, n, min and max over
//! the row's runs (its folds and seeds).
//!
//! The standard deviation uses the n − 1 denominator (what papers mean by
//! "mean ± std" over folds, and what `pandas.Series.std` gives); it is
//! undefined for a single run and printed as "—". Runs where a metric is
//! undefined (an AUC on a split with one class) do not count towards its n.

use serde::Serialize;

/// Summary statistics of one metric over one row's runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stat {
    /// Runs with a value for this metric.
    pub n: usize,
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1); `None` for n < 2.
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Statistics of `values` (already restricted to defined, finite values).
pub(crate) fn summarize(values: &[f64]) -> Stat {
    let n = values.len();
    if n == 0 {
        return Stat {
            n,
            mean: None,
            std: None,
            min: None,
            max: None,
        };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    // Two passes: the second corrects the first's rounding (as numpy does).
    let correction = values.iter().map(|v| v - mean).sum::<f64>() / n as f64;
    let mean = mean + correction;
    let std = (n > 1).then(|| {
        let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        (ss / (n - 1) as f64).sqrt()
    });
    Stat {
        n,
        mean: Some(mean),
        std,
        min: values.iter().copied().reduce(f64::min),
        max: values.iter().copied().reduce(f64::max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_std_and_extremes() {
        let s = summarize(&[0.70, 0.74, 0.72]);
        assert_eq!(s.n, 3);
        assert!((s.mean.unwrap() - 0.72).abs() < 1e-15);
        // Deviations −0.02, 0.02, 0: ss = 0.0008, / 2 → 0.0004, sqrt 0.02.
        assert!((s.std.unwrap() - 0.02).abs() < 1e-12);
        assert_eq!((s.min, s.max), (Some(0.70), Some(0.74)));
    }

    #[test]
    fn one_value_has_no_std_and_none_has_no_mean() {
        let s = summarize(&[0.5]);
        assert_eq!((s.n, s.mean, s.std), (1, Some(0.5), None));
        let e = summarize(&[]);
        assert_eq!((e.n, e.mean, e.std, e.min), (0, None, None, None));
    }

    #[test]
    fn identical_values_have_zero_std() {
        let s = summarize(&[3017.0, 3017.0]);
        assert_eq!(s.std, Some(0.0));
    }
}
