//! From a run spec to tensors on the run's device.
//!
//! Each split is uploaded once as a `u8` tensor `(N, H, W, C)`, the layout of
//! the files; a batch is gathered on the device with `index_select`, viewed
//! as a channels-last `(B, C, H, W)` tensor ([`crate::memory_format`]) and
//! only then converted to float, normalised, channel-replicated and resized. Keeping pixels as bytes
//! makes even ChestMNIST at 224 px (78k × 50 KB) fit in GPU memory, and no
//! per-sample Rust loop or per-batch host copy is ever on the training path.

use std::path::Path;

use sweep_core::run_spec::RunSpec;
use sweep_core::train_options::{FoldScope, Folds, Normalize};
use sweep_data::catalog::{DatasetInfo, Source, Task};
use sweep_data::medmnist::{MedmnistArrays, SplitArrays, load_medmnist};
use sweep_metrics::metric_summary::{Labels, TaskKind};
use tch::{Device, Kind, Tensor};

use crate::memory_format::nhwc_as_nchw;

/// One split on the device plus its labels on the host (for metrics).
pub struct DeviceSplit {
    /// `(N, H, W, C)` u8: rows are gathered from it, then
    /// [`Preprocess::apply`] views them channels-last.
    pub images: Tensor,
    /// Loss targets: `(N, L)` float for sigmoid tasks, `(N,)` int64 otherwise.
    pub targets: Tensor,
    /// Host copy of the labels: `n * label_width` bytes.
    pub labels: Vec<u8>,
    pub label_width: usize,
    pub n: usize,
}

/// Host labels (`n * width` bytes) as the metrics crate wants them.
pub fn metric_labels(labels: &[u8], task: TaskKind) -> MetricLabels {
    match task {
        TaskKind::MultiClass => {
            MetricLabels::Classes(labels.iter().map(|&c| usize::from(c)).collect())
        }
        _ => MetricLabels::Indicators(labels.to_vec()),
    }
}

/// Owned labels for [`sweep_metrics::metric_summary::evaluate`].
pub enum MetricLabels {
    Indicators(Vec<u8>),
    Classes(Vec<usize>),
}

impl MetricLabels {
    pub fn as_labels(&self) -> Labels<'_> {
        match self {
            MetricLabels::Indicators(v) => Labels::Indicators(v),
            MetricLabels::Classes(v) => Labels::Classes(v),
        }
    }
}

/// How raw bytes become model input, applied per batch on the device.
#[derive(Debug, Clone)]
pub struct Preprocess {
    pub normalize: Normalize,
    /// Replicate a single channel to this many.
    pub channels: i64,
    /// Output side length (resized bilinearly when it differs from the data).
    pub size: i64,
}

impl Preprocess {
    /// `(B, H, W, C)` u8 → float `(B, C, H, W)` model input, channels-last.
    pub fn apply(&self, batch: &Tensor) -> Tensor {
        let x = nhwc_as_nchw(batch).to_kind(Kind::Float);
        let x = match &self.normalize {
            Normalize::ZeroOne | Normalize::MeanStd { .. } => x / 255.0,
            Normalize::MinusOneOne => x / 127.5 - 1.0,
        };
        let c = x.size()[1];
        let x = if c == 1 && self.channels == 3 {
            x.repeat([1, 3, 1, 1])
        } else {
            x
        };
        // Per channel, after replication: grey copied to RGB takes ImageNet's
        // three means as torchvision's transforms would.
        let x = match &self.normalize {
            Normalize::MeanStd { mean, std } => {
                let device = x.device();
                let per_channel = |v: &[f64]| {
                    Tensor::from_slice(v)
                        .to_kind(Kind::Float)
                        .to_device(device)
                        .view([1, -1, 1, 1])
                };
                (x - per_channel(mean)) / per_channel(std)
            }
            Normalize::ZeroOne | Normalize::MinusOneOne => x,
        };
        if x.size()[2] != self.size {
            x.upsample_bilinear2d([self.size, self.size], false, None, None)
        } else {
            x
        }
    }
}

/// Everything the fit loop needs about the data.
pub struct PreparedData {
    pub info: &'static DatasetInfo,
    pub task: TaskKind,
    pub num_outputs: usize,
    pub train: DeviceSplit,
    pub val: DeviceSplit,
    pub test: DeviceSplit,
    pub preprocess: Preprocess,
}

/// Maps the catalog's task to the metrics' task (ordinal trains as multi-class).
pub fn task_kind(task: Task) -> TaskKind {
    match task {
        Task::MultiLabel => TaskKind::MultiLabel,
        Task::Binary => TaskKind::Binary,
        Task::MultiClass | Task::Ordinal => TaskKind::MultiClass,
    }
}

/// Loads the run's dataset, applies folds and subsets, uploads to `device`.
pub fn prepare(
    spec: &RunSpec,
    data_file: Option<&Path>,
    device: Device,
) -> Result<PreparedData, String> {
    let dataset = spec.dataset_ref();
    let arrays = match dataset.source {
        Source::Synthetic => {
            use sweep_data::synthetic::{TRAINING_SCALE, TRAINING_SEED, synthetic};
            synthetic(&dataset, Some(TRAINING_SCALE), TRAINING_SEED)
        }
        Source::File => {
            let path = data_file.ok_or("spec.json names no data file for a file dataset")?;
            load_medmnist(path, &dataset).map_err(|e| e.to_string())?
        }
        // `sweep run` decoded the folder once and names that file here.
        Source::ImageFolder => spec.decoded_image_folder(data_file)?,
    };
    let info = dataset.info;
    let (train, val, test) = split(spec, info.task, arrays)?;
    let cap = spec.train.subset.map(|s| s as usize);
    let (train, val, test) = match cap {
        Some(cap) if cap < train.n => {
            let ratio = cap as f64 / train.n as f64;
            let shrink = |s: SplitArrays| {
                let keep = ((s.n as f64 * ratio).ceil() as usize).max(32).min(s.n);
                take(&s, &strided(s.n, keep))
            };
            (
                take(&train, &strided(train.n, cap)),
                shrink(val),
                shrink(test),
            )
        }
        _ => (train, val, test),
    };
    if train.n == 0 || val.n == 0 || test.n == 0 {
        return Err(format!(
            "empty split after folds/subset (train {}, val {}, test {})",
            train.n, val.n, test.n
        ));
    }
    let task = task_kind(info.task);
    let preprocess = Preprocess {
        normalize: spec.train.normalize.clone(),
        channels: spec
            .train
            .input_channels
            .map_or(train.channels as i64, i64::from),
        size: spec.train.input_size.map_or(train.height as i64, i64::from),
    };
    if let Some(values) = preprocess.normalize.channels()
        && values as i64 != preprocess.channels
    {
        return Err(format!(
            "train.normalize gives {values} mean/std values but the model input has {} \
             channel(s) (set train.input_channels to match)",
            preprocess.channels
        ));
    }
    Ok(PreparedData {
        info,
        task,
        num_outputs: info.num_outputs(),
        train: upload(&train, task, device),
        val: upload(&val, task, device),
        test: upload(&test, task, device),
        preprocess,
    })
}

/// Official split, or the fold's part of train+val (or of everything, with
/// `over: all`, where the held-out fold is also the test set).
fn split(
    spec: &RunSpec,
    task: Task,
    arrays: MedmnistArrays,
) -> Result<(SplitArrays, SplitArrays, SplitArrays), String> {
    match spec.folds {
        Folds::None => Ok((arrays.train, arrays.val, arrays.test)),
        Folds::Kfold {
            k,
            stratified,
            split_seed,
            over,
        } => {
            let fold = spec.fold.ok_or("k-fold run without a fold index")?;
            let train_val = concat(&arrays.train, &arrays.val);
            let merged = match over {
                FoldScope::TrainVal => train_val,
                FoldScope::All => concat(&train_val, &arrays.test),
            };
            if merged.n < k as usize {
                return Err(format!(
                    "{} samples cannot be split into {k} folds",
                    merged.n
                ));
            }
            let assignment = sweep_data::folds::assign_folds(
                &merged.labels,
                merged.label_width,
                task,
                k as usize,
                stratified,
                split_seed,
            );
            let (train_idx, val_idx) = sweep_data::folds::fold_split(&assignment, fold as u8);
            let held_out = take(&merged, &val_idx);
            let test = match over {
                FoldScope::TrainVal => arrays.test,
                FoldScope::All => take(&merged, &val_idx),
            };
            Ok((take(&merged, &train_idx), held_out, test))
        }
    }
}

/// `keep` indices spread evenly over `0..n` (deterministic, no RNG).
fn strided(n: usize, keep: usize) -> Vec<usize> {
    (0..keep).map(|i| i * n / keep).collect()
}

fn concat(a: &SplitArrays, b: &SplitArrays) -> SplitArrays {
    let images = [a.images.as_slice(), b.images.as_slice()].concat();
    let labels = [a.labels.as_slice(), b.labels.as_slice()].concat();
    same_geometry(a, images, labels, a.n + b.n)
}

fn take(s: &SplitArrays, idx: &[usize]) -> SplitArrays {
    let mut images = Vec::with_capacity(idx.len() * s.image_len());
    let mut labels = Vec::with_capacity(idx.len() * s.label_width);
    for &i in idx {
        images.extend_from_slice(s.image(i));
        labels.extend_from_slice(s.label(i));
    }
    same_geometry(s, images, labels, idx.len())
}

/// A split with `like`'s image geometry and label width but other rows.
fn same_geometry(like: &SplitArrays, images: Vec<u8>, labels: Vec<u8>, n: usize) -> SplitArrays {
    SplitArrays {
        images,
        n,
        height: like.height,
        width: like.width,
        channels: like.channels,
        labels,
        label_width: like.label_width,
    }
}

fn upload(s: &SplitArrays, task: TaskKind, device: Device) -> DeviceSplit {
    let (n, h, w, c) = (
        s.n as i64,
        s.height as i64,
        s.width as i64,
        s.channels as i64,
    );
    let images = Tensor::from_slice(&s.images)
        .view([n, h, w, c])
        .to_device(device);
    let labels = Tensor::from_slice(&s.labels);
    let targets = match task {
        TaskKind::MultiClass => labels.to_kind(Kind::Int64).view([n]),
        _ => labels.to_kind(Kind::Float).view([n, s.label_width as i64]),
    }
    .to_device(device);
    DeviceSplit {
        images,
        targets,
        labels: s.labels.clone(),
        label_width: s.label_width,
        n: s.n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_subset_is_spread_and_unique() {
        let idx = strided(10, 4);
        assert_eq!(idx, vec![0, 2, 5, 7]);
    }

    fn kfold_spec(over: FoldScope, fold: u32) -> RunSpec {
        RunSpec {
            dataset: "synthetic:breastmnist".into(),
            arch: "small_cnn".into(),
            lr: 1e-3,
            class_weighting: sweep_core::train_options::ClassWeighting::None,
            pos_weight: sweep_core::train_options::PosWeight::None,
            folds: Folds::Kfold {
                k: 5,
                stratified: true,
                split_seed: 3,
                over,
            },
            fold: Some(fold),
            seed: 0,
            train: Default::default(),
            image_folder: None,
            worker: None,
        }
    }

    fn synthetic_breast() -> MedmnistArrays {
        let dataset = sweep_data::catalog::DatasetRef::parse("synthetic:breastmnist").unwrap();
        sweep_data::synthetic::synthetic(&dataset, None, 7)
    }

    #[test]
    fn folds_over_train_val_keep_the_official_test_split() {
        let arrays = synthetic_breast();
        let (n_train_val, official_test) = (arrays.train.n + arrays.val.n, arrays.test.clone());
        let spec = kfold_spec(FoldScope::TrainVal, 1);
        let (train, val, test) = split(&spec, Task::Binary, arrays).unwrap();
        assert_eq!(train.n + val.n, n_train_val);
        assert_eq!(test.images, official_test.images);
    }

    #[test]
    fn folds_over_all_hold_out_one_fold_as_validation_and_test() {
        let arrays = synthetic_breast();
        let total = arrays.train.n + arrays.val.n + arrays.test.n;
        let mut held_out_total = 0;
        for fold in 0..5 {
            let spec = kfold_spec(FoldScope::All, fold);
            let (train, val, test) = split(&spec, Task::Binary, synthetic_breast()).unwrap();
            assert_eq!(
                train.n + val.n,
                total,
                "fold {fold} covers the whole dataset"
            );
            assert_eq!((test.images, test.labels), (val.images, val.labels));
            held_out_total += val.n;
        }
        assert_eq!(
            held_out_total, total,
            "every sample is held out exactly once"
        );
    }

    #[test]
    fn preprocess_normalises_replicates_and_resizes() {
        let batch = Tensor::from_slice(&[0u8, 255, 255, 0]).view([1, 2, 2, 1]);
        let p = Preprocess {
            normalize: Normalize::MinusOneOne,
            channels: 3,
            size: 4,
        };
        let out = p.apply(&batch);
        assert_eq!(out.size(), vec![1, 3, 4, 4]);
        let z = Preprocess {
            normalize: Normalize::ZeroOne,
            channels: 1,
            size: 2,
        }
        .apply(&batch);
        let v: Vec<f32> = Vec::try_from(z.flatten(0, -1)).unwrap();
        assert_eq!(v, vec![0.0, 1.0, 1.0, 0.0]);
        let m: Vec<f32> = Vec::try_from(out.select(1, 2).flatten(0, -1)).unwrap();
        assert!(m.iter().all(|x| (-1.0..=1.0).contains(x)));
    }

    #[test]
    fn preprocess_turns_file_layout_into_channels_last_nchw() {
        // One 2x2 RGB image as stored in the files: pixel by pixel, (r, g, b).
        let pixels: Vec<u8> = (1..=12).map(|v| v * 10).collect();
        let batch = Tensor::from_slice(&pixels).view([1, 2, 2, 3]);
        let out = Preprocess {
            normalize: Normalize::ZeroOne,
            channels: 3,
            size: 2,
        }
        .apply(&batch);
        assert_eq!(out.size(), vec![1, 3, 2, 2]);
        assert!(crate::memory_format::is_channels_last(&out));
        // Red (channel 0) and blue (channel 2), scaled to [0, 1].
        for (channel, bytes) in [
            (0, [10.0, 40.0, 70.0, 100.0]),
            (2, [30.0, 60.0, 90.0, 120.0]),
        ] {
            let got: Vec<f32> = Vec::try_from(out.select(1, channel).flatten(0, -1)).unwrap();
            let expected: Vec<f32> = bytes.iter().map(|v: &f32| v / 255.0).collect();
            assert_eq!(got, expected, "channel {channel}");
        }
    }

    #[test]
    fn imagenet_normalisation_is_per_channel_after_grey_replication() {
        // One grey 2x2 image: 0, 255 / 255, 0.
        let batch = Tensor::from_slice(&[0u8, 255, 255, 0]).view([1, 2, 2, 1]);
        let mean = [0.485, 0.456, 0.406];
        let std = [0.229, 0.224, 0.225];
        let out = Preprocess {
            normalize: Normalize::MeanStd {
                mean: mean.to_vec(),
                std: std.to_vec(),
            },
            channels: 3,
            size: 2,
        }
        .apply(&batch);
        assert_eq!(out.size(), vec![1, 3, 2, 2]);
        for c in 0..3 {
            let got: Vec<f32> = Vec::try_from(out.select(1, c as i64).flatten(0, -1)).unwrap();
            let (dark, light) = ((0.0 - mean[c]) / std[c], (1.0 - mean[c]) / std[c]);
            let want = [dark, light, light, dark];
            for (g, w) in got.iter().zip(want) {
                assert!((f64::from(*g) - w).abs() < 1e-5, "channel {c}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn per_channel_normalisation_keeps_rgb_channels_last() {
        let pixels: Vec<u8> = (1..=12).map(|v| v * 20).collect();
        let batch = Tensor::from_slice(&pixels).view([1, 2, 2, 3]);
        let out = Preprocess {
            normalize: Normalize::MeanStd {
                mean: vec![0.5, 0.25, 0.0],
                std: vec![0.5, 0.25, 2.0],
            },
            channels: 3,
            size: 2,
        }
        .apply(&batch);
        assert!(crate::memory_format::is_channels_last(&out));
        let blue: Vec<f32> = Vec::try_from(out.select(1, 2).flatten(0, -1)).unwrap();
        let want: Vec<f32> = [60.0f32, 120.0, 180.0, 240.0]
            .iter()
            .map(|v| v / 255.0 / 2.0)
            .collect();
        for (g, w) in blue.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{blue:?} vs {want:?}");
        }
    }
}
