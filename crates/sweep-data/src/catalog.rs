//! The built-in table of MedMNIST 2D datasets.
//!
//! Spec validation needs to know, without touching any file, whether a dataset
//! name exists, what its task type is (so `pos_weight` on a multi-class set is
//! rejected) and how many classes it has. The trainer needs the same facts to
//! pick a loss and an output width, and `sweep data` needs the official MD5s.
//! Keeping them in one table means every part of `sweep` agrees.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of prediction a dataset asks for. It decides the loss, the
/// activation and how accuracy/AUC are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Several independent 0/1 labels per image (ChestMNIST).
    MultiLabel,
    /// One 0/1 label per image.
    Binary,
    /// Exactly one of k classes per image.
    MultiClass,
    /// One of k ordered grades (treated as multi-class for training and metrics).
    Ordinal,
}

impl Task {
    /// Binary and multi-label sets train with BCE-with-logits and accept `pos_weight`.
    pub fn uses_sigmoid(self) -> bool {
        matches!(self, Task::MultiLabel | Task::Binary)
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::MultiLabel => "multi-label",
            Task::Binary => "binary",
            Task::MultiClass => "multi-class",
            Task::Ordinal => "ordinal",
        })
    }
}

/// Facts about one MedMNIST dataset (all size variants share them).
#[derive(Debug, Clone, Copy)]
pub struct DatasetInfo {
    pub name: &'static str,
    pub modality: &'static str,
    pub task: Task,
    pub channels: u8,
    /// Class names (multi-class) or label names (multi-label), in label order.
    pub labels: &'static [&'static str],
    /// Official sample counts: train, val, test.
    pub splits: [usize; 3],
    pub license: &'static str,
    /// Official MD5 of `<name>[_<size>].npz` for each image size.
    pub md5: [(u32, &'static str); 4],
    /// Approximate class (or per-label positive) prevalence; used to give
    /// synthetic data a realistic balance.
    pub prevalence: &'static [f64],
}

impl DatasetInfo {
    /// Number of model outputs: labels for multi-label, 1 for binary, classes otherwise.
    pub fn num_outputs(&self) -> usize {
        match self.task {
            Task::Binary => 1,
            _ => self.labels.len(),
        }
    }

    /// Number of classes in the confusion-matrix sense (2 for binary).
    pub fn num_classes(&self) -> usize {
        self.labels.len()
    }

    /// Whether this is one of the built-in MedMNIST datasets (not an image folder).
    pub fn is_builtin(&self) -> bool {
        lookup(self.name).is_some_and(|b| std::ptr::eq(b, self))
    }

    /// The official MD5 for a size variant, if that size exists.
    pub fn md5_for(&self, size: u32) -> Option<&'static str> {
        self.md5.iter().find(|(s, _)| *s == size).map(|(_, m)| *m)
    }
}

/// Image sizes MedMNIST+ publishes for every 2D dataset.
pub const SIZES: [u32; 4] = [28, 64, 128, 224];

/// Every built-in 2D dataset, in MedMNIST's order.
pub fn all() -> &'static [DatasetInfo] {
    crate::catalog_table::DATASETS
}

/// Looks up a dataset by its base name (`chestmnist`).
pub fn lookup(name: &str) -> Option<&'static DatasetInfo> {
    all().iter().find(|d| d.name == name)
}

/// Where a dataset reference comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An official `.npz` file in the data root.
    File,
    /// Generated in memory with the named dataset's shapes and balance.
    Synthetic,
    /// A folder of image files declared in the experiment
    /// ([`crate::image_folder`]), read through its decoded cache.
    ImageFolder,
}

/// A dataset reference as written in an experiment file, parsed:
/// `retinamnist_128` or `synthetic:chestmnist` or `synthetic:chestmnist_64`.
#[derive(Debug, Clone, Copy)]
pub struct DatasetRef {
    pub info: &'static DatasetInfo,
    pub size: u32,
    pub source: Source,
}

impl PartialEq for DatasetRef {
    fn eq(&self, other: &Self) -> bool {
        self.info.name == other.info.name && self.size == other.size && self.source == other.source
    }
}

impl Eq for DatasetRef {}

/// Why a dataset name did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasetRefError {
    #[error("unknown dataset `{name}`; known: {known}")]
    UnknownName { name: String, known: String },
    #[error("`{name}` has no {size} px variant; sizes are 28, 64, 128, 224")]
    UnknownSize { name: String, size: String },
}

impl DatasetRef {
    /// Parses `name`, `name_SIZE`, `synthetic:name` or `synthetic:name_SIZE`.
    pub fn parse(text: &str) -> Result<Self, DatasetRefError> {
        let (source, rest) = match text.strip_prefix("synthetic:") {
            Some(rest) => (Source::Synthetic, rest),
            None => (Source::File, text),
        };
        let (base, size) = match rest.rsplit_once('_') {
            Some((base, size)) if size.chars().all(|c| c.is_ascii_digit()) && !size.is_empty() => {
                let parsed: u32 = size.parse().unwrap_or(0);
                if !SIZES.contains(&parsed) {
                    return Err(DatasetRefError::UnknownSize {
                        name: base.to_string(),
                        size: size.to_string(),
                    });
                }
                (base, parsed)
            }
            _ => (rest, 28),
        };
        let info = lookup(base).ok_or_else(|| DatasetRefError::UnknownName {
            name: base.to_string(),
            known: all().iter().map(|d| d.name).collect::<Vec<_>>().join(", "),
        })?;
        Ok(DatasetRef { info, size, source })
    }

    /// File name of the official archive: `chestmnist.npz`, `retinamnist_128.npz`.
    pub fn file_name(&self) -> String {
        if self.size == 28 {
            format!("{}.npz", self.info.name)
        } else {
            format!("{}_{}.npz", self.info.name, self.size)
        }
    }

    /// The official MD5 of [`Self::file_name`].
    pub fn official_md5(&self) -> &'static str {
        self.info.md5_for(self.size).unwrap_or("")
    }
}

impl fmt::Display for DatasetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.source == Source::Synthetic {
            f.write_str("synthetic:")?;
        }
        if self.size == 28 || !self.info.is_builtin() {
            f.write_str(self.info.name)
        } else {
            write!(f, "{}_{}", self.info.name, self.size)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for d in all() {
            assert_eq!(d.prevalence.len(), d.labels.len(), "{}", d.name);
            assert!(d.channels == 1 || d.channels == 3, "{}", d.name);
            for (_, md5) in d.md5 {
                assert_eq!(md5.len(), 32, "{}", d.name);
            }
        }
        assert_eq!(all().len(), 12);
    }

    #[test]
    fn parses_sizes_and_synthetic() {
        let r = DatasetRef::parse("retinamnist_128").unwrap();
        assert_eq!(
            (r.info.name, r.size, r.source),
            ("retinamnist", 128, Source::File)
        );
        assert_eq!(r.file_name(), "retinamnist_128.npz");
        assert_eq!(r.official_md5(), "e48e916a24454daf90583d4e6efb1a18");
        let s = DatasetRef::parse("synthetic:chestmnist").unwrap();
        assert_eq!(
            (s.info.task, s.size, s.source),
            (Task::MultiLabel, 28, Source::Synthetic)
        );
        assert_eq!(s.to_string(), "synthetic:chestmnist");
        assert_eq!(
            DatasetRef::parse("breastmnist").unwrap().official_md5(),
            "750601b1f35ba3300ea97c75c52ff8f6"
        );
    }

    #[test]
    fn rejects_unknown_names_and_sizes() {
        assert!(matches!(
            DatasetRef::parse("cifar10"),
            Err(DatasetRefError::UnknownName { .. })
        ));
        assert!(matches!(
            DatasetRef::parse("chestmnist_32"),
            Err(DatasetRefError::UnknownSize { .. })
        ));
    }

    #[test]
    fn outputs_follow_task() {
        assert_eq!(lookup("chestmnist").unwrap().num_outputs(), 14);
        assert_eq!(lookup("breastmnist").unwrap().num_outputs(), 1);
        assert_eq!(lookup("dermamnist").unwrap().num_outputs(), 7);
    }
}
