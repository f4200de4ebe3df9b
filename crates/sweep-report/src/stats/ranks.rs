//! Average ("mid") ranks: the ranking both rank-based tests are defined on.
//!
//! Wilcoxon's statistic ranks absolute differences and DeLong's structural
//! components rank scores; in both, tied values share the mean of the ranks
//! they span (`scipy.stats.rankdata(method="average")`).

/// 1-based ranks of `values`, ties sharing their average rank.
///
/// `NaN` sorts after every number (and `NaN`s tie with each other); callers
/// that cannot give `NaN` a meaning filter it out first.
pub fn midranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && same(values[order[end]], values[order[start]]) {
            end += 1;
        }
        // Positions start..end (0-based) hold ranks start+1..=end; their mean:
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Sizes of the groups of tied values (each group of size ≥ 1).
pub fn tie_groups(values: &[f64]) -> Vec<usize> {
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut groups = Vec::new();
    let mut start = 0;
    while start < sorted.len() {
        let mut end = start + 1;
        while end < sorted.len() && same(sorted[end], sorted[start]) {
            end += 1;
        }
        groups.push(end - start);
        start = end;
    }
    groups
}

/// Equality for ranking: `0.0 == -0.0`, and `NaN` ties with `NaN`.
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_average_rank() {
        assert_eq!(
            midranks(&[3.0, 1.0, 3.0, 2.0, 3.0]),
            vec![4.0, 1.0, 4.0, 2.0, 4.0]
        );
        assert_eq!(midranks(&[0.5, 0.5]), vec![1.5, 1.5]);
        assert_eq!(midranks(&[]), Vec::<f64>::new());
        assert_eq!(midranks(&[-0.0, 0.0, 1.0]), vec![1.5, 1.5, 3.0]);
    }

    #[test]
    fn tie_group_sizes() {
        let mut g = tie_groups(&[0.2, 0.1, 0.2, 0.3, 0.2, 0.1]);
        g.sort_unstable();
        assert_eq!(g, vec![1, 2, 3]);
    }
}
