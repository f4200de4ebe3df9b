//! Holm's step-down correction, for comparing many rows with one baseline.
//!
//! Testing every row against the baseline at 5 % makes a false "significant"
//! likely as rows are added. Holm (1979) controls the family-wise error rate
//! without assuming independence: sort the m p-values, multiply the i-th
//! smallest (0-based) by m − i, make the sequence non-decreasing and cap it at
//! one. The report applies it per metric and per test, across rows.

/// Holm-adjusted p-values, in the input order. `None` entries (tests that
/// could not be run) are not part of the family and stay `None`.
pub fn holm(p_values: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut present: Vec<(usize, f64)> = p_values
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (i, p)))
        .collect();
    // Stable, so equal p-values keep their order (as numpy's stable argsort).
    present.sort_by(|a, b| a.1.total_cmp(&b.1));
    let m = present.len();
    let mut out = vec![None; p_values.len()];
    let mut running: f64 = 0.0;
    for (rank, &(i, p)) in present.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p).min(1.0));
        out[i] = Some(running);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_example() {
        // Sorted: 0.005·4, 0.01·3, 0.03·2, 0.04·1 → 0.02, 0.03, 0.06, max(0.06, 0.04).
        let adj = holm(&[Some(0.01), Some(0.04), Some(0.03), Some(0.005)]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (a, w) in adj.iter().zip(want) {
            assert!((a.unwrap() - w).abs() < 1e-15, "{adj:?}");
        }
    }

    #[test]
    fn missing_values_are_outside_the_family_and_results_are_capped() {
        let adj = holm(&[Some(0.5), None, Some(0.6)]);
        assert_eq!(adj, vec![Some(1.0), None, Some(1.0)]);
        assert_eq!(holm(&[None]), vec![None]);
        assert!(holm(&[]).is_empty());
    }
}
