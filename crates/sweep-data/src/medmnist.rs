//! Loading and checking an official MedMNIST `.npz` file.
//!
//! A sweep trusts the data file for hours of GPU time, so the loader checks
//! everything the catalog knows before handing out a single byte: all six
//! arrays present, `uint8`, images square at the expected size with the
//! dataset's channel count, one label row per image of the expected width,
//! and every label value legal for the task. A re-saved or cut-down copy (for
//! instance labels flattened to `(N,)`) is refused with a message naming the
//! file, the array and what was expected, instead of training on it.
//!
//! The result is plain channels-last bytes, the layout MedMNIST stores, so
//! the trainer can convert to tensors in whatever layout it wants and the
//! synthetic generator can produce the very same structure.

use std::io::{Read, Seek};
use std::path::Path;

use crate::catalog::{DatasetInfo, DatasetRef, Task};
use crate::error::DataError;
use crate::npy::{Dtype, NpyArray};
use crate::npz::NpzFile;

/// One of the three official splits (also what a report names with
/// `--split`, and the key of a split's summary in `metrics.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    /// All splits in file order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    /// `train`, `val` or `test`, as used in the array keys.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }

    /// Position in [`DatasetInfo::splits`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Key of the image array, `train_images`.
    pub fn images_key(self) -> String {
        format!("{}_images", self.name())
    }

    /// Key of the label array, `train_labels`.
    pub fn labels_key(self) -> String {
        format!("{}_labels", self.name())
    }
}

impl std::str::FromStr for Split {
    type Err = String;

    /// `train`, `val` (or `valid`, `validation`) or `test`, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "train" => Ok(Split::Train),
            "val" | "valid" | "validation" => Ok(Split::Val),
            "test" => Ok(Split::Test),
            _ => Err(format!("unknown split `{s}`; use train, val or test")),
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Images and labels of one split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitArrays {
    /// `n * height * width * channels` bytes, channels last.
    pub images: Vec<u8>,
    pub n: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// `n * label_width` bytes: a class index, or 0/1 per label for multi-label.
    pub labels: Vec<u8>,
    pub label_width: usize,
}

impl SplitArrays {
    /// Bytes per image (`height * width * channels`).
    pub fn image_len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// The pixels of sample `i`, `height * width * channels` bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        let len = self.image_len();
        &self.images[i * len..(i + 1) * len]
    }

    /// The label row of sample `i`.
    pub fn label(&self, i: usize) -> &[u8] {
        &self.labels[i * self.label_width..(i + 1) * self.label_width]
    }

    /// Per class (single-label) or per label (multi-label): how many samples
    /// have it. `outputs` is the number of classes or labels.
    pub fn class_counts(&self, outputs: usize) -> Vec<usize> {
        let mut counts = vec![0usize; outputs.max(self.label_width)];
        if self.label_width == 1 {
            for &c in &self.labels {
                if let Some(slot) = counts.get_mut(usize::from(c)) {
                    *slot += 1;
                }
            }
        } else {
            for row in self.labels.chunks_exact(self.label_width) {
                for (j, &v) in row.iter().enumerate() {
                    counts[j] += usize::from(v != 0);
                }
            }
        }
        counts
    }
}

/// The three splits of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedmnistArrays {
    pub train: SplitArrays,
    pub val: SplitArrays,
    pub test: SplitArrays,
}

impl MedmnistArrays {
    /// The arrays of one split.
    pub fn split(&self, split: Split) -> &SplitArrays {
        match split {
            Split::Train => &self.train,
            Split::Val => &self.val,
            Split::Test => &self.test,
        }
    }
}

/// Width of a label row: one column per label for multi-label sets
/// (14 for ChestMNIST), otherwise a single class index.
pub fn label_width(info: &DatasetInfo) -> usize {
    match info.task {
        Task::MultiLabel => info.labels.len(),
        _ => 1,
    }
}

/// Loads all three splits of `dataset` from the `.npz` at `path` and checks
/// them against the catalog (see the module docs for the list of checks).
pub fn load_medmnist(path: &Path, dataset: &DatasetRef) -> Result<MedmnistArrays, DataError> {
    load_medmnist_from(&mut NpzFile::open(path)?, dataset)
}

/// [`load_medmnist`] on an archive that is already open (from memory, say,
/// or with a lower array-size limit).
pub fn load_medmnist_from<R: Read + Seek>(
    npz: &mut NpzFile<R>,
    dataset: &DatasetRef,
) -> Result<MedmnistArrays, DataError> {
    let mut load = |split| load_split(npz, dataset, split);
    Ok(MedmnistArrays {
        train: load(Split::Train)?,
        val: load(Split::Val)?,
        test: load(Split::Test)?,
    })
}

/// Loads and checks only the labels of one split (for planning folds without
/// decompressing images). Returns `n * label_width` bytes.
pub fn load_medmnist_labels(
    path: &Path,
    dataset: &DatasetRef,
    split: Split,
) -> Result<Vec<u8>, DataError> {
    let mut npz = NpzFile::open(path)?;
    let key = split.labels_key();
    let labels = npz.read(&key)?;
    check_labels(npz.path(), &key, labels, dataset.info, None)
}

fn load_split<R: Read + Seek>(
    npz: &mut NpzFile<R>,
    dataset: &DatasetRef,
    split: Split,
) -> Result<SplitArrays, DataError> {
    let info = dataset.info;
    let size = dataset.size as usize;
    let channels = usize::from(info.channels);
    let images_key = split.images_key();
    let labels_key = split.labels_key();

    let images = npz.read(&images_key)?;
    let path = npz.path().to_path_buf();
    let layout = |key: &str, expected: String, found: String| DataError::Layout {
        path: path.clone(),
        key: key.to_string(),
        expected,
        found,
    };
    check_dtype(&images, |found| {
        layout(&images_key, "dtype |u1 (uint8)".to_string(), found)
    })?;
    let expected_shape = if channels == 1 {
        format!("shape (N, {size}, {size}) or (N, {size}, {size}, 1) for grayscale {dataset}")
    } else {
        format!("shape (N, {size}, {size}, {channels}) for {dataset}")
    };
    let (n, image_channels) = match images.shape[..] {
        [n, h, w] if h == size && w == size => (n, 1),
        [n, h, w, c] if h == size && w == size => (n, c),
        _ => {
            return Err(layout(&images_key, expected_shape, images.shape_string()));
        }
    };
    if image_channels != channels {
        return Err(layout(&images_key, expected_shape, images.shape_string()));
    }
    if n == 0 {
        return Err(layout(
            &images_key,
            "at least one image".to_string(),
            images.shape_string(),
        ));
    }

    let labels = npz.read(&labels_key)?;
    let labels = check_labels(&path, &labels_key, labels, info, Some((n, &images_key)))?;
    Ok(SplitArrays {
        images: images.data,
        n,
        height: size,
        width: size,
        channels,
        labels,
        label_width: label_width(info),
    })
}

fn check_dtype(array: &NpyArray, err: impl FnOnce(String) -> DataError) -> Result<(), DataError> {
    if array.dtype == Dtype::U8 {
        Ok(())
    } else {
        Err(err(format!("dtype {}", array.dtype)))
    }
}

/// Checks dtype, shape `(N, label_width)` (with `N` equal to the image count
/// when known) and value range; returns the label bytes.
fn check_labels(
    path: &Path,
    key: &str,
    labels: NpyArray,
    info: &DatasetInfo,
    images: Option<(usize, &str)>,
) -> Result<Vec<u8>, DataError> {
    let layout = |expected: String, found: String| DataError::Layout {
        path: path.to_path_buf(),
        key: key.to_string(),
        expected,
        found,
    };
    check_dtype(&labels, |found| {
        layout("dtype |u1 (uint8)".to_string(), found)
    })?;
    let width = label_width(info);
    let rows_expected = match images {
        Some((n, images_key)) => format!("({n}, {width}) to match {images_key}"),
        None => format!("(N, {width})"),
    };
    match labels.shape[..] {
        [rows, w] if w == width && images.is_none_or(|(n, _)| n == rows) => {}
        _ => {
            return Err(layout(
                format!("labels of shape {rows_expected}"),
                labels.shape_string(),
            ));
        }
    }

    let (limit, expected) = match info.task {
        Task::MultiLabel => (1u8, "0 or 1 (multi-label)".to_string()),
        _ => {
            let classes = info.num_classes();
            (
                u8::try_from(classes - 1).unwrap_or(u8::MAX),
                format!("a class index 0..={} ({} classes)", classes - 1, classes),
            )
        }
    };
    if let Some(pos) = labels.data.iter().position(|&v| v > limit) {
        return Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            key: key.to_string(),
            sample: pos / width,
            column: pos % width,
            value: labels.data[pos],
            expected,
        });
    }
    Ok(labels.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{U8Member, real_data_file, write_u8_npz};
    use std::path::PathBuf;

    /// A small, valid file laid out like `dataset` (sizes 5/2/3).
    fn members(dataset: &DatasetRef) -> Vec<U8Member> {
        let size = dataset.size as usize;
        let channels = usize::from(dataset.info.channels);
        let width = label_width(dataset.info);
        let classes = dataset.info.num_classes();
        let mut out = Vec::new();
        for (split, n) in [("train", 5usize), ("val", 2), ("test", 3)] {
            let mut shape = vec![n, size, size];
            if channels > 1 {
                shape.push(channels);
            }
            let pixels = n * size * size * channels;
            out.push(U8Member {
                key: format!("{split}_images"),
                shape,
                data: (0..pixels).map(|i| (i % 251) as u8).collect(),
            });
            let labels: Vec<u8> = if width > 1 {
                (0..n * width).map(|i| u8::from(i % 3 == 0)).collect()
            } else {
                (0..n).map(|i| (i % classes) as u8).collect()
            };
            out.push(U8Member {
                key: format!("{split}_labels"),
                shape: vec![n, width],
                data: labels,
            });
        }
        out
    }

    fn write(dir: &Path, name: &str, members: &[U8Member]) -> PathBuf {
        let path = dir.join(name);
        write_u8_npz(&path, members);
        path
    }

    fn replace(members: &mut [U8Member], key: &str, shape: Vec<usize>, data: Vec<u8>) {
        let m = members.iter_mut().find(|m| m.key == key).unwrap();
        m.shape = shape;
        m.data = data;
    }

    #[test]
    fn split_names_parse_and_print() {
        assert_eq!("validation".parse(), Ok(Split::Val));
        assert_eq!("TRAIN".parse(), Ok(Split::Train));
        assert!(
            "dev"
                .parse::<Split>()
                .unwrap_err()
                .contains("use train, val or test")
        );
        assert_eq!(Split::Test.to_string(), "test");
        assert_eq!(serde_json::to_string(&Split::Val).unwrap(), "\"val\"");
    }

    #[test]
    fn loads_grayscale_rgb_and_multilabel_layouts() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["breastmnist", "retinamnist_64", "chestmnist", "dermamnist"] {
            let dataset = DatasetRef::parse(name).unwrap();
            let m = members(&dataset);
            let path = write(dir.path(), &dataset.file_name(), &m);
            let arrays = load_medmnist(&path, &dataset).unwrap();
            let size = dataset.size as usize;
            let channels = usize::from(dataset.info.channels);
            for (split, n) in [(Split::Train, 5), (Split::Val, 2), (Split::Test, 3)] {
                let s = arrays.split(split);
                assert_eq!(
                    (s.n, s.height, s.width, s.channels),
                    (n, size, size, channels)
                );
                assert_eq!(s.images.len(), n * size * size * channels);
                assert_eq!(s.labels.len(), n * s.label_width);
                let source = m.iter().find(|m| m.key == split.images_key()).unwrap();
                assert_eq!(s.images, source.data, "{name} {split:?}");
                assert_eq!(s.image(1), &source.data[s.image_len()..2 * s.image_len()]);
            }
            let expected_width = if name == "chestmnist" { 14 } else { 1 };
            assert_eq!(arrays.train.label_width, expected_width);
            let labels = load_medmnist_labels(&path, &dataset, Split::Val).unwrap();
            assert_eq!(labels, arrays.val.labels);
        }
    }

    #[test]
    fn grayscale_with_explicit_channel_axis_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let dataset = DatasetRef::parse("pneumoniamnist").unwrap();
        let mut m = members(&dataset);
        replace(&mut m, "val_images", vec![2, 28, 28, 1], vec![3; 2 * 784]);
        let path = write(dir.path(), "p.npz", &m);
        let arrays = load_medmnist(&path, &dataset).unwrap();
        assert_eq!((arrays.val.n, arrays.val.channels), (2, 1));
    }

    fn load_error(dataset: &str, edit: impl FnOnce(&mut Vec<U8Member>)) -> String {
        let dir = tempfile::tempdir().unwrap();
        let dataset = DatasetRef::parse(dataset).unwrap();
        let mut m = members(&dataset);
        edit(&mut m);
        let path = write(dir.path(), &dataset.file_name(), &m);
        let err = load_medmnist(&path, &dataset).unwrap_err().to_string();
        let prefix = format!("{}: ", path.display());
        assert!(err.starts_with(&prefix), "{err}");
        err[prefix.len()..].to_string()
    }

    #[test]
    fn missing_key_is_named() {
        let err = load_error("breastmnist", |m| m.retain(|m| m.key != "test_labels"));
        assert!(
            err.starts_with("key `test_labels`: not in archive"),
            "{err}"
        );
    }

    #[test]
    fn wrong_image_size_names_expected_shape() {
        let err = load_error("retinamnist", |m| {
            replace(
                m,
                "train_images",
                vec![5, 32, 32, 3],
                vec![0; 5 * 32 * 32 * 3],
            )
        });
        assert_eq!(
            err,
            "key `train_images`: expected shape (N, 28, 28, 3) for retinamnist, found (5, 32, 32, 3)"
        );
    }

    #[test]
    fn wrong_channel_count_is_rejected() {
        let err = load_error("retinamnist", |m| {
            replace(m, "val_images", vec![2, 28, 28], vec![0; 2 * 784])
        });
        assert!(
            err.starts_with("key `val_images`: expected shape (N, 28, 28, 3)"),
            "{err}"
        );
        let err = load_error("breastmnist", |m| {
            replace(m, "val_images", vec![2, 28, 28, 3], vec![0; 2 * 784 * 3])
        });
        assert!(
            err.starts_with("key `val_images`: expected shape (N, 28, 28) or (N, 28, 28, 1)"),
            "{err}"
        );
    }

    #[test]
    fn non_u8_images_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let dataset = DatasetRef::parse("breastmnist").unwrap();
        let m = members(&dataset);
        let path = dir.path().join("f.npz");
        // Same arrays, but train_images stored as float32.
        let mut entries: Vec<(String, Vec<u8>)> = m
            .iter()
            .map(|m| {
                (
                    format!("{}.npy", m.key),
                    crate::test_support::npy_bytes(1, "|u1", false, &m.shape, &m.data),
                )
            })
            .collect();
        entries[0].1 =
            crate::test_support::npy_bytes(1, "<f4", false, &[5, 28, 28], &[0; 5 * 784 * 4]);
        let refs: Vec<(&str, &[u8], zip::CompressionMethod)> = entries
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice(), zip::CompressionMethod::Deflated))
            .collect();
        crate::test_support::write_zip(&path, &refs);
        let err = load_medmnist(&path, &dataset).unwrap_err().to_string();
        assert!(
            err.ends_with("key `train_images`: expected dtype |u1 (uint8), found dtype <f4"),
            "{err}"
        );
    }

    #[test]
    fn flattened_labels_are_rejected() {
        let err = load_error("breastmnist", |m| {
            replace(m, "train_labels", vec![5], vec![0, 1, 0, 1, 0])
        });
        assert_eq!(
            err,
            "key `train_labels`: expected labels of shape (5, 1) to match train_images, found (5,)"
        );
    }

    #[test]
    fn label_count_must_match_image_count() {
        let err = load_error("breastmnist", |m| {
            replace(m, "test_labels", vec![4, 1], vec![0, 1, 0, 1])
        });
        assert_eq!(
            err,
            "key `test_labels`: expected labels of shape (3, 1) to match test_images, found (4, 1)"
        );
    }

    #[test]
    fn multilabel_width_must_be_fourteen() {
        let err = load_error("chestmnist", |m| {
            replace(m, "val_labels", vec![2, 1], vec![0, 1])
        });
        assert!(
            err.starts_with("key `val_labels`: expected labels of shape (2, 14)"),
            "{err}"
        );
    }

    #[test]
    fn out_of_range_labels_are_located() {
        let err = load_error("retinamnist", |m| {
            replace(m, "val_labels", vec![2, 1], vec![4, 5])
        });
        assert_eq!(
            err,
            "key `val_labels`: label 5 at sample 1, column 0 is out of range (expected a class index 0..=4 (5 classes))"
        );
        let err = load_error("chestmnist", |m| {
            let mut labels = vec![0u8; 3 * 14];
            labels[14 + 3] = 2;
            replace(m, "test_labels", vec![3, 14], labels)
        });
        assert!(
            err.contains("label 2 at sample 1, column 3 is out of range (expected 0 or 1"),
            "{err}"
        );
        let err = load_error("breastmnist", |m| {
            replace(m, "train_labels", vec![5, 1], vec![0, 1, 2, 0, 0])
        });
        assert!(err.contains("label 2 at sample 2"), "{err}");
    }

    #[test]
    fn empty_split_is_rejected() {
        let err = load_error("breastmnist", |m| {
            replace(m, "val_images", vec![0, 28, 28], vec![]);
            replace(m, "val_labels", vec![0, 1], vec![]);
        });
        assert!(
            err.starts_with("key `val_images`: expected at least one image"),
            "{err}"
        );
    }

    #[test]
    fn class_counts_per_task() {
        let single = SplitArrays {
            images: vec![],
            n: 4,
            height: 0,
            width: 0,
            channels: 1,
            labels: vec![0, 2, 2, 1],
            label_width: 1,
        };
        assert_eq!(single.class_counts(3), vec![1, 1, 2]);
        let multi = SplitArrays {
            labels: vec![1, 0, 1, 1, 0, 0],
            n: 2,
            label_width: 3,
            ..single
        };
        assert_eq!(multi.class_counts(3), vec![2, 0, 1]);
    }

    /// Official counts for the real files, checked when `SWEEP_DATA_DIR` is set.
    #[test]
    fn real_files_load_with_official_counts() {
        let cases: [(&str, [usize; 3], usize, [usize; 2]); 3] = [
            ("breastmnist", [546, 78, 156], 1, [147, 399]),
            ("pneumoniamnist", [4708, 524, 624], 1, [1214, 3494]),
            ("retinamnist", [1080, 120, 400], 3, [486, 128]),
        ];
        for (name, counts, channels, first_train_counts) in cases {
            let dataset = DatasetRef::parse(name).unwrap();
            let Some(path) = real_data_file(&dataset.file_name()) else {
                continue;
            };
            let arrays = load_medmnist(&path, &dataset).unwrap();
            let stored = crate::npz::read_npz(&path, &["train_images"]).unwrap();
            let mut expected_shape = vec![counts[0], 28, 28];
            if channels > 1 {
                expected_shape.push(channels);
            }
            assert_eq!(stored[0].shape, expected_shape, "{name}");
            for split in Split::ALL {
                let s = arrays.split(split);
                assert_eq!(s.n, counts[split.index()], "{name} {split:?}");
                assert_eq!(s.n, dataset.info.splits[split.index()]);
                assert_eq!((s.height, s.width, s.channels), (28, 28, channels));
                assert_eq!(s.images.len(), s.n * 28 * 28 * channels);
                assert_eq!(s.labels.len(), s.n);
            }
            let train_counts = arrays.train.class_counts(dataset.info.num_classes());
            assert_eq!(train_counts[..2], first_train_counts, "{name}");
            println!(
                "{name}: train/val/test = {}/{}/{}, train_images shape {}, train class counts {:?}",
                arrays.train.n,
                arrays.val.n,
                arrays.test.n,
                stored[0].shape_string(),
                train_counts
            );
        }
    }
}
