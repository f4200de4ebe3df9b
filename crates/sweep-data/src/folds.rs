//! k-fold cross-validation assignments.
//!
//! Cross-validated sweeps compare configurations by their mean over folds, so
//! the folds must be reproducible (the same `split_seed` gives the same folds
//! on every machine and in every run of the sweep) and, for imbalanced
//! medical data, stratified: a fold without any malignant case, or without
//! any positive for a rare ChestMNIST finding, makes its AUC undefined and its
//! loss meaningless.
//!
//! * Single-label, stratified: each class's samples are shuffled and dealt
//!   round-robin over the folds, continuing where the previous class stopped,
//!   so per-class counts and fold sizes both differ by at most one.
//! * Multi-label, stratified: iterative stratification (Sechidis, Tsoumakas
//!   and Vlahavas, "On the Stratification of Multi-Label Data", ECML PKDD
//!   2011). Labels are handled rarest first; each example carrying the
//!   current label goes to the fold that most wants that label, with ties
//!   broken by the fold that most wants examples overall, then at random.
//!   Examples with no positive label are dealt last to the folds with the
//!   largest remaining demand.
//! * Unstratified: one seeded shuffle, then round-robin.
//!
//! Assignments depend only on the labels, `k`, the strategy and the seed.

use crate::catalog::Task;
use crate::rng::Rng;

/// Tag separating the fold stream from other uses of the same seed.
const FOLD_STREAM: u64 = 0x666f_6c64;

/// Assigns each sample to one of `k` folds and returns the fold index per
/// sample.
///
/// `labels` holds `n * label_width` bytes: one class index per sample, or one
/// 0/1 column per label when `label_width > 1` or `task` is multi-label (that
/// case uses iterative stratification). Every fold is non-empty when
/// `n >= k`.
///
/// # Panics
///
/// If `k` is 0 or above 256, `label_width` is 0, or `labels.len()` is not a
/// multiple of `label_width`.
pub fn assign_folds(
    labels: &[u8],
    label_width: usize,
    task: Task,
    k: usize,
    stratified: bool,
    split_seed: u64,
) -> Vec<u8> {
    assert!((1..=256).contains(&k), "k must be in 1..=256, got {k}");
    assert!(label_width > 0, "label_width must be positive");
    assert!(
        labels.len().is_multiple_of(label_width),
        "{} label bytes is not a multiple of label_width {label_width}",
        labels.len()
    );
    let multi_label = label_width > 1 || task == Task::MultiLabel;
    let mut rng = Rng::derive(
        split_seed,
        &[
            FOLD_STREAM,
            k as u64,
            u64::from(stratified),
            u64::from(multi_label),
        ],
    );
    match (stratified, multi_label) {
        (false, _) => deal_shuffled(labels.len() / label_width, k, &mut rng),
        (true, false) => stratify_single(labels, k, &mut rng),
        (true, true) => stratify_iterative(labels, label_width, k, &mut rng),
    }
}

/// Indices of the samples outside fold `fold` (train) and inside it (val).
pub fn fold_split(assignments: &[u8], fold: u8) -> (Vec<usize>, Vec<usize>) {
    let (val, train): (Vec<usize>, Vec<usize>) =
        (0..assignments.len()).partition(|&i| assignments[i] == fold);
    (train, val)
}

fn deal_shuffled(n: usize, k: usize, rng: &mut Rng) -> Vec<u8> {
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let mut out = vec![0u8; n];
    for (position, &i) in order.iter().enumerate() {
        out[i] = (position % k) as u8;
    }
    out
}

fn stratify_single(labels: &[u8], k: usize, rng: &mut Rng) -> Vec<u8> {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); 256];
    for (i, &c) in labels.iter().enumerate() {
        by_class[usize::from(c)].push(i);
    }
    let mut out = vec![0u8; labels.len()];
    let mut next = rng.below(k as u64) as usize;
    for members in &mut by_class {
        rng.shuffle(members);
        for &i in members.iter() {
            out[i] = next as u8;
            next = (next + 1) % k;
        }
    }
    out
}

/// Iterative stratification. Desired counts are kept multiplied by `k` so
/// that they stay exact integers: a fold's desire for label `l` starts at
/// `|D_l|` (that is, `k * |D_l| / k`) and drops by `k` per example placed.
fn stratify_iterative(labels: &[u8], width: usize, k: usize, rng: &mut Rng) -> Vec<u8> {
    let n = labels.len() / width;
    let k_step = k as i64;
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);

    let mut by_label: Vec<Vec<usize>> = vec![Vec::new(); width];
    for &i in &order {
        for (l, list) in by_label.iter_mut().enumerate() {
            if labels[i * width + l] != 0 {
                list.push(i);
            }
        }
    }
    let mut remaining: Vec<usize> = by_label.iter().map(Vec::len).collect();
    let mut want_label: Vec<Vec<i64>> = (0..k)
        .map(|_| remaining.iter().map(|&c| c as i64).collect())
        .collect();
    let mut want_total: Vec<i64> = vec![n as i64; k];
    let mut assigned: Vec<Option<u8>> = vec![None; n];
    let mut ties: Vec<usize> = Vec::with_capacity(k.max(width));

    // Repeatedly take the label with the fewest (but some) examples still
    // unassigned.
    while let Some(fewest) = remaining.iter().copied().filter(|&r| r > 0).min() {
        ties.clear();
        ties.extend((0..width).filter(|&l| remaining[l] == fewest));
        let label = ties[rng.below(ties.len() as u64) as usize];

        for &i in &by_label[label] {
            if assigned[i].is_some() {
                continue;
            }
            // Folds wanting this label most, then examples most, then random.
            let best_label = (0..k).map(|j| want_label[j][label]).max().unwrap_or(0);
            ties.clear();
            ties.extend((0..k).filter(|&j| want_label[j][label] == best_label));
            let best_total = ties.iter().map(|&j| want_total[j]).max().unwrap_or(0);
            ties.retain(|&j| want_total[j] == best_total);
            let fold = ties[rng.below(ties.len() as u64) as usize];

            assigned[i] = Some(fold as u8);
            want_total[fold] -= k_step;
            for l in 0..width {
                if labels[i * width + l] != 0 {
                    remaining[l] -= 1;
                    want_label[fold][l] -= k_step;
                }
            }
        }
    }

    // Examples without any positive label.
    for &i in &order {
        if assigned[i].is_some() {
            continue;
        }
        let best = want_total.iter().copied().max().unwrap_or(0);
        ties.clear();
        ties.extend((0..k).filter(|&j| want_total[j] == best));
        let fold = ties[rng.below(ties.len() as u64) as usize];
        assigned[i] = Some(fold as u8);
        want_total[fold] -= k_step;
    }

    assigned.into_iter().map(|f| f.unwrap_or(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(values: impl IntoIterator<Item = usize>) -> usize {
        let v: Vec<usize> = values.into_iter().collect();
        v.iter().max().unwrap() - v.iter().min().unwrap()
    }

    /// `counts[fold][class]` for single-label data.
    fn per_fold_class_counts(
        labels: &[u8],
        folds: &[u8],
        k: usize,
        classes: usize,
    ) -> Vec<Vec<usize>> {
        let mut counts = vec![vec![0usize; classes]; k];
        for (&c, &f) in labels.iter().zip(folds) {
            counts[usize::from(f)][usize::from(c)] += 1;
        }
        counts
    }

    /// Imbalanced single-label data: 5 classes with 500, 120, 37, 9, 2 samples,
    /// interleaved.
    fn imbalanced_labels() -> Vec<u8> {
        let sizes = [500usize, 120, 37, 9, 2];
        let mut labels = Vec::new();
        let mut left = sizes;
        while left.iter().any(|&l| l > 0) {
            for (c, l) in left.iter_mut().enumerate() {
                if *l > 0 {
                    labels.push(c as u8);
                    *l -= 1;
                }
            }
        }
        labels
    }

    /// Multi-label data with skewed, correlated labels (like ChestMNIST).
    fn multi_labels(n: usize, seed: u64) -> Vec<u8> {
        let prevalence: [f64; 6] = [0.3, 0.12, 0.05, 0.02, 0.008, 0.15];
        let mut rng = Rng::new(seed);
        let mut labels = Vec::with_capacity(n * prevalence.len());
        for _ in 0..n {
            let severe = rng.unit_f64() < 0.1;
            for (l, &p) in prevalence.iter().enumerate() {
                let p = if severe && l < 3 {
                    (p * 4.0).min(0.9)
                } else {
                    p
                };
                labels.push(u8::from(rng.unit_f64() < p));
            }
        }
        labels
    }

    #[test]
    fn stratified_single_label_balances_every_class() {
        let labels = imbalanced_labels();
        for k in [2, 3, 5, 10] {
            let folds = assign_folds(&labels, 1, Task::MultiClass, k, true, 17);
            assert_eq!(folds.len(), labels.len());
            assert!(folds.iter().all(|&f| usize::from(f) < k));
            let counts = per_fold_class_counts(&labels, &folds, k, 5);
            for class in 0..5 {
                let s = spread(counts.iter().map(|row| row[class]));
                assert!(s <= 1, "k={k} class {class}: {counts:?}");
            }
            let sizes = counts.iter().map(|row| row.iter().sum::<usize>());
            assert!(spread(sizes) <= 1, "k={k}: {counts:?}");
        }
    }

    #[test]
    fn binary_folds_are_non_empty_and_keep_both_classes() {
        // 546 train samples, 147 malignant, like BreastMNIST.
        let labels: Vec<u8> = (0..546).map(|i| u8::from(i % 546 >= 147)).collect();
        let folds = assign_folds(&labels, 1, Task::Binary, 5, true, 1);
        let counts = per_fold_class_counts(&labels, &folds, 5, 2);
        for row in &counts {
            assert!(row[0] >= 29 && row[0] <= 30, "{counts:?}");
            assert!(row[1] >= 79 && row[1] <= 80, "{counts:?}");
        }
    }

    #[test]
    fn unstratified_deals_evenly() {
        let labels = imbalanced_labels();
        let folds = assign_folds(&labels, 1, Task::MultiClass, 4, false, 3);
        let mut sizes = [0usize; 4];
        for &f in &folds {
            sizes[usize::from(f)] += 1;
        }
        assert!(spread(sizes) <= 1, "{sizes:?}");
        // The order is shuffled, not dealt in input order.
        let in_order: Vec<u8> = (0..labels.len()).map(|i| (i % 4) as u8).collect();
        assert_ne!(folds, in_order);
    }

    #[test]
    fn multi_label_iterative_stratification_spreads_positives() {
        let width = 6;
        let labels = multi_labels(3000, 8);
        let n = labels.len() / width;
        for k in [3, 5] {
            let folds = assign_folds(&labels, width, Task::MultiLabel, k, true, 99);
            let mut per_label = vec![vec![0usize; width]; k];
            let mut sizes = vec![0usize; k];
            for i in 0..n {
                let f = usize::from(folds[i]);
                sizes[f] += 1;
                for l in 0..width {
                    per_label[f][l] += usize::from(labels[i * width + l] != 0);
                }
            }
            for l in 0..width {
                let counts: Vec<usize> = per_label.iter().map(|row| row[l]).collect();
                let total: usize = counts.iter().sum();
                assert!(total > 0);
                // Iterative stratification puts every label within a couple
                // of examples of an even share.
                assert!(
                    spread(counts.iter().copied()) <= 2,
                    "k={k} label {l}: {counts:?}"
                );
                assert!(counts.iter().all(|&c| c > 0), "k={k} label {l}: {counts:?}");
            }
            assert!(spread(sizes.iter().copied()) <= 2, "k={k}: {sizes:?}");
        }
    }

    #[test]
    fn multi_label_beats_unstratified_on_rare_labels() {
        let width = 6;
        let labels = multi_labels(1500, 21);
        let rare = 4; // prevalence about 0.8%
        let worst = |stratified: bool| {
            (0..20)
                .map(|seed| {
                    let folds = assign_folds(&labels, width, Task::MultiLabel, 5, stratified, seed);
                    let mut counts = [0usize; 5];
                    for (i, &f) in folds.iter().enumerate() {
                        counts[usize::from(f)] += usize::from(labels[i * width + rare] != 0);
                    }
                    spread(counts)
                })
                .max()
                .unwrap()
        };
        let stratified = worst(true);
        assert!(stratified <= 1, "{stratified}");
        assert!(worst(false) > stratified);
    }

    #[test]
    fn assignments_are_deterministic_and_seeded() {
        let single = imbalanced_labels();
        let multi = multi_labels(500, 2);
        for (labels, width, task) in [
            (&single, 1, Task::MultiClass),
            (&multi, 6, Task::MultiLabel),
        ] {
            for stratified in [true, false] {
                let a = assign_folds(labels, width, task, 5, stratified, 7);
                let b = assign_folds(labels, width, task, 5, stratified, 7);
                let c = assign_folds(labels, width, task, 5, stratified, 8);
                assert_eq!(a, b);
                assert_ne!(a, c, "width {width} stratified {stratified}");
                let mut sizes = [0usize; 5];
                for &f in &a {
                    sizes[usize::from(f)] += 1;
                }
                assert!(sizes.iter().all(|&s| s > 0), "{sizes:?}");
            }
        }
    }

    #[test]
    fn single_fold_and_tiny_inputs() {
        assert_eq!(
            assign_folds(&[0, 1, 1], 1, Task::Binary, 1, true, 0),
            vec![0, 0, 0]
        );
        assert!(assign_folds(&[], 1, Task::Binary, 5, true, 0).is_empty());
        assert!(assign_folds(&[], 14, Task::MultiLabel, 5, true, 0).is_empty());
        // Multi-label rows with no positives at all still get spread evenly.
        let folds = assign_folds(&[0; 4 * 10], 4, Task::MultiLabel, 5, true, 0);
        let mut sizes = [0usize; 5];
        for &f in &folds {
            sizes[usize::from(f)] += 1;
        }
        assert_eq!(sizes, [2; 5]);
    }

    #[test]
    #[should_panic(expected = "k must be in 1..=256")]
    fn zero_folds_panics() {
        assign_folds(&[0, 1], 1, Task::Binary, 0, true, 0);
    }

    #[test]
    fn fold_split_partitions_indices() {
        let assignments = [0u8, 1, 2, 1, 0, 2, 1];
        let (train, val) = fold_split(&assignments, 1);
        assert_eq!(val, vec![1, 3, 6]);
        assert_eq!(train, vec![0, 2, 4, 5]);
        let (train, val) = fold_split(&assignments, 3);
        assert!(val.is_empty());
        assert_eq!(train.len(), 7);
    }
}
