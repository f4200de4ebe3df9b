//! Datasets that are folders of ordinary image files, such as the Kaggle
//! Medical MNIST layout (one sub-folder of JPEGs per class) or a folder of
//! images with a CSV of 0/1 labels for multi-label sets.
//!
//! Such a folder is declared in an experiment's `data.image_folders` block
//! and becomes an [`ImageFolderDef`]: everything that decides what the model
//! sees (class order, target size, channels, the seeded split ratios). The
//! definition is part of each run's hashed spec; the folder's location is
//! not, so moving the images keeps the cache while changing them does not
//! (their content fingerprint, [`folder_fingerprint`], enters the key).
//!
//! Decoding tens of thousands of JPEGs takes longer than training a small
//! CNN for an epoch, so the decoded pixels are written once as an `.npz`
//! named by the content fingerprint ([`ensure_decoded`]); every run of the
//! sweep, and every later sweep, loads that file instead. The split into
//! train/validation/test ([`split`]) is done at load time, so trying other
//! ratios never decodes again.
//!
//! Data flow: [`layout`] lists the images and their labels, [`content`]
//! fingerprints them, [`decode`] turns them into one byte array and caches
//! it, [`split`] divides it, and [`fixture`] writes generated folders for
//! tests and for trying `sweep` without data.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::catalog::{DatasetInfo, DatasetRef, Source, Task};

mod content;
mod decode;
pub mod fixture;
mod layout;
mod split;

pub use content::folder_fingerprint;
pub use decode::{decoded_file_name, ensure_decoded, load_decoded};
pub use layout::{ImageEntry, discover_classes, list_images};
pub use split::split;

/// Extensions (lower case) read as images; other files in a class folder are ignored.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Largest number of classes (labels are stored as one byte).
pub const MAX_CLASSES: usize = 255;

/// How images are assigned labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Labelling {
    /// One sub-folder per class, named like the class.
    ClassFolders,
    /// A CSV file inside the folder: an image path column (relative to the
    /// folder) then one 0/1 column per label. The set is multi-label.
    Csv { file: String },
}

/// Fractions of the images that go to each split, and the seed of the
/// stratified shuffle that assigns them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatioSplit {
    pub train: f64,
    pub val: f64,
    pub test: f64,
    pub seed: u64,
}

impl Default for RatioSplit {
    fn default() -> Self {
        RatioSplit {
            train: 0.7,
            val: 0.15,
            test: 0.15,
            seed: 0,
        }
    }
}

/// Everything about an image-folder dataset that changes what a run sees.
/// Hashed into run keys (so it holds no path: see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageFolderDef {
    /// The name experiments use in `grid.dataset`.
    pub name: String,
    pub labelling: Labelling,
    /// Class names (label names for CSV sets) in label order.
    pub classes: Vec<String>,
    /// Images are resized to `size` × `size` when decoded.
    pub size: u32,
    /// 1 (grayscale) or 3 (RGB); images are converted when decoded.
    pub channels: u8,
    pub split: RatioSplit,
}

impl ImageFolderDef {
    /// Two class folders make a binary task (the second class, in the order
    /// of `classes`, is the positive one); a CSV makes a multi-label task.
    pub fn task(&self) -> Task {
        match (&self.labelling, self.classes.len()) {
            (Labelling::Csv { .. }, _) => Task::MultiLabel,
            (Labelling::ClassFolders, 2) => Task::Binary,
            (Labelling::ClassFolders, _) => Task::MultiClass,
        }
    }

    /// Bytes per label row: one per label for multi-label, else a class index.
    pub fn label_width(&self) -> usize {
        match self.task() {
            Task::MultiLabel => self.classes.len(),
            _ => 1,
        }
    }

    /// The catalog-style facts the trainer, the validator and the synthetic
    /// generator need. Built once per distinct definition and kept for the
    /// life of the process, so it can be shared like the built-in table.
    pub fn info(&self) -> &'static DatasetInfo {
        static INTERNED: Mutex<Vec<&'static DatasetInfo>> = Mutex::new(Vec::new());
        let task = self.task();
        let nominal = nominal_split_counts(&self.split);
        let mut interned = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = interned.iter().find(|i| {
            i.name == self.name
                && i.task == task
                && i.channels == self.channels
                && i.splits == nominal
                && i.labels.iter().eq(self.classes.iter())
        }) {
            return found;
        }
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        let labels: Vec<&'static str> = self.classes.iter().map(|c| leak(c)).collect();
        let share = match task {
            Task::MultiLabel => 0.25,
            _ => 1.0 / self.classes.len().max(1) as f64,
        };
        let info: &'static DatasetInfo = Box::leak(Box::new(DatasetInfo {
            name: leak(&self.name),
            modality: "image folder",
            task,
            channels: self.channels,
            labels: Box::leak(labels.into_boxed_slice()),
            splits: nominal,
            license: "as given by the folder's owner",
            md5: [(0, ""); 4],
            prevalence: Box::leak(vec![share; self.classes.len()].into_boxed_slice()),
        }));
        interned.push(info);
        info
    }

    /// The dataset reference runs use: the folder itself, or its generated
    /// look-alike (`synthetic:` prefix, `--synthetic`).
    pub fn dataset_ref(&self, synthetic: bool) -> DatasetRef {
        DatasetRef {
            info: self.info(),
            size: self.size,
            source: if synthetic {
                Source::Synthetic
            } else {
                Source::ImageFolder
            },
        }
    }
}

/// Split counts of a notional 10,000-image folder. Only the synthetic
/// look-alike uses them (to size its splits like the real ones).
fn nominal_split_counts(split: &RatioSplit) -> [usize; 3] {
    let n = |f: f64| (f * 10_000.0).round() as usize;
    [n(split.train), n(split.val), n(split.test)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(classes: &[&str], labelling: Labelling) -> ImageFolderDef {
        ImageFolderDef {
            name: "scans".into(),
            labelling,
            classes: classes.iter().map(|c| c.to_string()).collect(),
            size: 64,
            channels: 1,
            split: RatioSplit::default(),
        }
    }

    #[test]
    fn task_follows_labelling_and_class_count() {
        assert_eq!(
            def(&["a", "b"], Labelling::ClassFolders).task(),
            Task::Binary
        );
        assert_eq!(
            def(&["a", "b", "c"], Labelling::ClassFolders).task(),
            Task::MultiClass
        );
        let csv = def(
            &["x", "y"],
            Labelling::Csv {
                file: "l.csv".into(),
            },
        );
        assert_eq!(csv.task(), Task::MultiLabel);
        assert_eq!(csv.label_width(), 2);
    }

    #[test]
    fn info_is_shared_per_definition_and_distinct_across_definitions() {
        let a = def(&["a", "b", "c"], Labelling::ClassFolders);
        let first = a.info();
        assert!(std::ptr::eq(first, a.clone().info()));
        assert_eq!(first.num_outputs(), 3);
        assert_eq!(first.labels, ["a", "b", "c"]);
        let other = def(&["a", "b", "d"], Labelling::ClassFolders);
        assert!(!std::ptr::eq(first, other.info()));
        assert_eq!(other.info().labels[2], "d");
        let r = a.dataset_ref(false);
        assert_eq!(r.source, Source::ImageFolder);
        assert_eq!(r.size, 64);
        assert_eq!(a.dataset_ref(true).to_string(), "synthetic:scans");
        assert_eq!(r.to_string(), "scans");
    }
}
