//! Summarises one metric over cross-validation folds, epoch by epoch, into the
//! mean line and min–max band that learning-curve figures draw.

/// One metric at one epoch across folds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochBand {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean over the folds that have a finite value at this epoch.
    pub mean: f64,
    /// Smallest of those values.
    pub min: f64,
    /// Largest of those values.
    pub max: f64,
    /// How many folds contributed.
    pub folds: usize,
}

/// Mean, min and max per epoch of `folds[f][e]` (fold `f`, epoch `e + 1`).
///
/// Folds may have different lengths (early stopping): each epoch uses the
/// folds that reached it. Non-finite values are skipped, and an epoch with no
/// finite value is left out.
pub fn fold_bands(folds: &[Vec<f64>]) -> Vec<EpochBand> {
    let epochs = folds.iter().map(Vec::len).max().unwrap_or(0);
    (0..epochs)
        .filter_map(|e| {
            let values: Vec<f64> = folds
                .iter()
                .filter_map(|f| f.get(e).copied())
                .filter(|v| v.is_finite())
                .collect();
            if values.is_empty() {
                return None;
            }
            Some(EpochBand {
                epoch: e + 1,
                mean: values.iter().sum::<f64>() / values.len() as f64,
                min: values.iter().copied().fold(f64::INFINITY, f64::min),
                max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                folds: values.len(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_range_per_epoch() {
        let bands = fold_bands(&[vec![1.0, 0.5], vec![3.0, 0.7], vec![2.0, 0.6]]);
        assert_eq!(bands.len(), 2);
        assert_eq!(bands[0].epoch, 1);
        assert_eq!(
            (bands[0].mean, bands[0].min, bands[0].max, bands[0].folds),
            (2.0, 1.0, 3.0, 3)
        );
        assert!((bands[1].mean - 0.6).abs() < 1e-12);
        assert_eq!((bands[1].min, bands[1].max), (0.5, 0.7));
    }

    #[test]
    fn ragged_folds_use_the_folds_that_reached_the_epoch() {
        let bands = fold_bands(&[vec![1.0, 2.0, 3.0], vec![5.0]]);
        assert_eq!(bands.iter().map(|b| b.folds).collect::<Vec<_>>(), [2, 1, 1]);
        assert_eq!(bands[0].mean, 3.0);
        assert_eq!(bands[2].mean, 3.0);
        assert_eq!(bands[2].epoch, 3);
    }

    #[test]
    fn non_finite_values_are_skipped() {
        let bands = fold_bands(&[vec![f64::NAN, 1.0], vec![f64::INFINITY, 3.0]]);
        assert_eq!(bands.len(), 1);
        assert_eq!((bands[0].epoch, bands[0].mean), (2, 2.0));
    }

    #[test]
    fn no_folds_no_bands() {
        assert!(fold_bands(&[]).is_empty());
        assert!(fold_bands(&[vec![], vec![]]).is_empty());
    }
}
