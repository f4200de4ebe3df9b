//! Dividing an image folder into train/validation/test by the declared
//! ratios: stratified (each class keeps its share in every split) and
//! seeded (the same seed gives the same split on every machine).
//!
//! Multi-label sets are stratified by each image's rarest positive label
//! (images without one form their own group), which keeps rare findings in
//! every split without the cost of full iterative stratification.

use std::collections::BTreeMap;

use super::ImageFolderDef;
use crate::catalog::Task;
use crate::medmnist::{MedmnistArrays, SplitArrays};
use crate::rng::Rng;

/// Splits every image of a folder (as [`super::load_decoded`] returns them).
pub fn split(all: SplitArrays, def: &ImageFolderDef) -> MedmnistArrays {
    let strata = strata(&all, def.task());
    let ratio = def.split;
    let (mut train, mut val, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for (stratum, mut members) in strata {
        Rng::derive(ratio.seed, &[stratum as u64]).shuffle(&mut members);
        let n = members.len() as f64;
        let first = (n * ratio.train).round() as usize;
        let second = ((n * (ratio.train + ratio.val)).round() as usize).max(first);
        let second = second.min(members.len());
        train.extend_from_slice(&members[..first.min(members.len())]);
        val.extend_from_slice(&members[first.min(members.len())..second]);
        test.extend_from_slice(&members[second..]);
    }
    for part in [&mut train, &mut val, &mut test] {
        part.sort_unstable();
    }
    MedmnistArrays {
        train: take(&all, &train),
        val: take(&all, &val),
        test: take(&all, &test),
    }
}

/// Sample indices grouped by stratum, in stratum order.
fn strata(all: &SplitArrays, task: Task) -> BTreeMap<usize, Vec<usize>> {
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    if task == Task::MultiLabel {
        let counts = all.class_counts(all.label_width);
        for i in 0..all.n {
            let rarest = all
                .label(i)
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0)
                .min_by_key(|(j, _)| (counts[*j], *j))
                .map_or(all.label_width, |(j, _)| j);
            groups.entry(rarest).or_default().push(i);
        }
    } else {
        for i in 0..all.n {
            groups
                .entry(usize::from(all.label(i)[0]))
                .or_default()
                .push(i);
        }
    }
    groups
}

fn take(all: &SplitArrays, rows: &[usize]) -> SplitArrays {
    let mut images = Vec::with_capacity(rows.len() * all.image_len());
    let mut labels = Vec::with_capacity(rows.len() * all.label_width);
    for &i in rows {
        images.extend_from_slice(all.image(i));
        labels.extend_from_slice(all.label(i));
    }
    SplitArrays {
        images,
        n: rows.len(),
        labels,
        ..*all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_folder::{Labelling, RatioSplit};

    fn def(task_csv: bool, classes: usize, seed: u64) -> ImageFolderDef {
        ImageFolderDef {
            name: "t".into(),
            labelling: if task_csv {
                Labelling::Csv {
                    file: "l.csv".into(),
                }
            } else {
                Labelling::ClassFolders
            },
            classes: (0..classes).map(|c| format!("c{c}")).collect(),
            size: 1,
            channels: 1,
            split: RatioSplit {
                seed,
                ..RatioSplit::default()
            },
        }
    }

    /// `counts[c]` one-pixel images of class `c`; the pixel is the sample index.
    fn single_label(counts: &[usize]) -> SplitArrays {
        let labels: Vec<u8> = counts
            .iter()
            .enumerate()
            .flat_map(|(c, &n)| std::iter::repeat_n(c as u8, n))
            .collect();
        SplitArrays {
            images: (0..labels.len()).map(|i| i as u8).collect(),
            n: labels.len(),
            height: 1,
            width: 1,
            channels: 1,
            labels,
            label_width: 1,
        }
    }

    #[test]
    fn each_class_keeps_its_share_in_every_split_and_nothing_is_lost() {
        let all = single_label(&[100, 40, 20]);
        let parts = split(all.clone(), &def(false, 3, 42));
        assert_eq!(parts.train.class_counts(3), [70, 28, 14]);
        assert_eq!(parts.val.class_counts(3), [15, 6, 3]);
        assert_eq!(parts.test.class_counts(3), [15, 6, 3]);
        let mut seen: Vec<u8> = [&parts.train, &parts.val, &parts.test]
            .iter()
            .flat_map(|s| s.images.clone())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, all.images);
    }

    #[test]
    fn the_seed_decides_the_split_and_nothing_else_does() {
        let all = single_label(&[30, 30]);
        let a = split(all.clone(), &def(false, 2, 1));
        let again = split(all.clone(), &def(false, 2, 1));
        let other = split(all, &def(false, 2, 2));
        assert_eq!(a, again);
        assert_ne!(a.train.images, other.train.images);
    }

    #[test]
    fn multi_label_rare_labels_reach_every_split() {
        // 2 labels: label 1 is rare (20 of 200) and always with label 0.
        let n = 200;
        let mut labels = Vec::new();
        for i in 0..n {
            labels.extend_from_slice(&[u8::from(i % 2 == 0), u8::from(i % 10 == 0)]);
        }
        let all = SplitArrays {
            images: vec![0; n],
            n,
            height: 1,
            width: 1,
            channels: 1,
            labels,
            label_width: 2,
        };
        let parts = split(all, &def(true, 2, 7));
        assert_eq!(parts.train.class_counts(2)[1], 14);
        assert_eq!(parts.val.class_counts(2)[1], 3);
        assert_eq!(parts.test.class_counts(2)[1], 3);
        assert_eq!(parts.train.n + parts.val.n + parts.test.n, n);
    }
}
