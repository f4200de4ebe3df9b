//! What a training command is given: `inputs.json` in the run folder, with
//! the data file, the task, and the samples of each split as indices.
//!
//! Indices count the samples of the data file's three arrays laid end to
//! end, `train_*` then `val_*` then `test_*` (the "pool"), so one list of
//! integers says which samples a split holds whatever the folds. They are
//! chosen exactly as sweep's trainer chooses them (official split, the
//! fold's part of train+val or of everything, then `train.subset`), so a
//! command and a built-in model of the same grid point see the same
//! samples, and their predictions can be paired sample by sample.
//!
//! A MedMNIST file is named where it lies. Data that has no file of that
//! layout (a `synthetic:` dataset, an image folder after its split) is
//! written once into the run folder as `data.npz`, in the same layout.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use sweep_core::run_spec::RunSpec;
use sweep_core::store::SpecFile;
use sweep_core::train_options::{FoldScope, Folds};
use sweep_data::catalog::{Source, Task};
use sweep_data::medmnist::{MedmnistArrays, Split, SplitArrays, label_width, load_medmnist_labels};
use sweep_data::npz_write::{U8Array, write_u8_npz};
use sweep_metrics::metric_summary::TaskKind;

/// Version of the files' layout (`docs/protocol.md`).
pub const PROTOCOL_VERSION: u32 = 1;
/// The file a command reads its inputs from.
pub const INPUTS_FILE: &str = "inputs.json";
/// Where data without a file of its own is written for the command.
pub const DATA_FILE: &str = "data.npz";
/// The validation predictions a command writes (the test ones go to
/// `predictions.csv`, as a built-in run's).
pub const VAL_PREDICTIONS_FILE: &str = "val_predictions.csv";

/// `inputs.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Inputs {
    pub protocol: u32,
    pub key: String,
    pub run_dir: PathBuf,
    /// The fully resolved run (`spec.json`'s `input.run`).
    pub run: Value,
    pub dataset: String,
    /// `binary`, `multi-class` or `multi-label` (ordinal sets are multi-class).
    pub task: TaskKind,
    /// Model outputs: 1 for binary, one per class, one per label.
    pub num_outputs: usize,
    pub num_classes: usize,
    /// Class (or label) names in label order.
    pub label_names: Vec<String>,
    /// Columns of a label row: the number of labels for multi-label sets, else 1.
    pub label_width: usize,
    /// The `.npz` to read, absolute.
    pub data_file: PathBuf,
    /// Samples per array of the data file: train, val, test.
    pub pool: [usize; 3],
    pub image: ImageShape,
    pub indices: SplitIndices,
    /// Where the command writes what it returns.
    pub outputs: Outputs,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageShape {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

/// Pool indices of each split.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SplitIndices {
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outputs {
    pub val_predictions: PathBuf,
    pub test_predictions: PathBuf,
    pub history: PathBuf,
}

/// The pool's labels and shape, as read for a run.
pub(crate) struct Pool {
    pub data_file: PathBuf,
    pub sizes: [usize; 3],
    pub labels: Vec<u8>,
    pub label_width: usize,
    pub image: ImageShape,
}

impl Pool {
    /// Label row `i` of the pool.
    pub(crate) fn label(&self, i: usize) -> &[u8] {
        &self.labels[i * self.label_width..(i + 1) * self.label_width]
    }
}

/// The metrics' task for a catalog task.
pub(crate) fn task_kind(task: Task) -> TaskKind {
    match task {
        Task::MultiLabel => TaskKind::MultiLabel,
        Task::Binary => TaskKind::Binary,
        Task::MultiClass | Task::Ordinal => TaskKind::MultiClass,
    }
}

/// Reads the run's labels (writing `data.npz` first where needed), chooses
/// each split's samples, and writes `inputs.json`.
pub(crate) fn prepare(dir: &Path, spec_file: &SpecFile) -> Result<(Inputs, Pool), String> {
    let spec = &spec_file.input.run;
    let pool = read_pool(dir, spec, spec_file.data_file.as_deref())?;
    let indices = split_indices(spec, &pool)?;
    let dataset = spec.dataset_ref();
    let info = dataset.info;
    let inputs = Inputs {
        protocol: PROTOCOL_VERSION,
        key: spec_file.key.to_string(),
        run_dir: dir.to_path_buf(),
        run: serde_json::to_value(spec).map_err(|e| e.to_string())?,
        dataset: spec.dataset.clone(),
        task: task_kind(info.task),
        num_outputs: info.num_outputs(),
        num_classes: info.num_classes(),
        label_names: info.labels.iter().map(|l| l.to_string()).collect(),
        label_width: pool.label_width,
        data_file: pool.data_file.clone(),
        pool: pool.sizes,
        image: pool.image.clone(),
        indices,
        outputs: Outputs {
            val_predictions: dir.join(VAL_PREDICTIONS_FILE),
            test_predictions: dir.join(sweep_core::store::PREDICTIONS_FILE),
            history: dir.join(sweep_core::store::HISTORY_FILE),
        },
    };
    let json = serde_json::to_vec_pretty(&inputs).map_err(|e| e.to_string())?;
    sweep_core::store::write_atomic(&dir.join(INPUTS_FILE), &json)
        .map_err(|e| format!("writing {INPUTS_FILE}: {e}"))?;
    Ok((inputs, pool))
}

fn read_pool(dir: &Path, spec: &RunSpec, data_file: Option<&Path>) -> Result<Pool, String> {
    let dataset = spec.dataset_ref();
    let arrays = match dataset.source {
        Source::File => {
            let path = data_file.ok_or("spec.json names no data file for a file dataset")?;
            let mut labels = Vec::new();
            let mut sizes = [0; 3];
            let width = label_width(dataset.info);
            for split in Split::ALL {
                let part =
                    load_medmnist_labels(path, &dataset, split).map_err(|e| e.to_string())?;
                sizes[split.index()] = part.len() / width;
                labels.extend(part);
            }
            let channels = usize::from(dataset.info.channels);
            let side = dataset.size as usize;
            return Ok(Pool {
                data_file: path.to_path_buf(),
                sizes,
                labels,
                label_width: width,
                image: ImageShape {
                    height: side,
                    width: side,
                    channels,
                },
            });
        }
        Source::Synthetic => {
            use sweep_data::synthetic::{TRAINING_SCALE, TRAINING_SEED, synthetic};
            synthetic(&dataset, Some(TRAINING_SCALE), TRAINING_SEED)
        }
        // `sweep run` decoded the folder once and names that file here.
        Source::ImageFolder => spec.decoded_image_folder(data_file)?,
    };
    write_pool(&dir.join(DATA_FILE), &arrays)
}

/// Writes `arrays` in MedMNIST's layout (`train_images` `(n, h, w)` or
/// `(n, h, w, 3)`, `train_labels` `(n, width)`, …) and describes them.
fn write_pool(path: &Path, arrays: &MedmnistArrays) -> Result<Pool, String> {
    let splits = [&arrays.train, &arrays.val, &arrays.test];
    let shapes: Vec<(Vec<usize>, Vec<usize>)> = splits
        .iter()
        .map(|s| {
            let mut image = vec![s.n, s.height, s.width];
            if s.channels != 1 {
                image.push(s.channels);
            }
            (image, vec![s.n, s.label_width])
        })
        .collect();
    let keys: Vec<(String, String)> = Split::ALL
        .iter()
        .map(|s| (s.images_key(), s.labels_key()))
        .collect();
    let mut members = Vec::new();
    for ((split, (image, label)), (ik, lk)) in splits.iter().zip(&shapes).zip(&keys) {
        members.push(U8Array {
            key: ik,
            shape: image,
            data: &split.images,
        });
        members.push(U8Array {
            key: lk,
            shape: label,
            data: &split.labels,
        });
    }
    write_u8_npz(path, &members).map_err(|e| format!("writing {}: {e}", path.display()))?;
    let first: &SplitArrays = &arrays.train;
    Ok(Pool {
        data_file: path.to_path_buf(),
        sizes: [arrays.train.n, arrays.val.n, arrays.test.n],
        labels: splits
            .iter()
            .flat_map(|s| s.labels.iter().copied())
            .collect(),
        label_width: first.label_width,
        image: ImageShape {
            height: first.height,
            width: first.width,
            channels: first.channels,
        },
    })
}

/// Each split's pool indices, as sweep's trainer picks its samples: the
/// official split or the fold's, then `train.subset` (training samples
/// capped, validation and test shrunk in proportion, at least 32 each).
pub(crate) fn split_indices(spec: &RunSpec, pool: &Pool) -> Result<SplitIndices, String> {
    let [a, b, c] = pool.sizes;
    let range = |from: usize, n: usize| (from..from + n).collect::<Vec<usize>>();
    let (train, val, test) = match spec.folds {
        Folds::None => (range(0, a), range(a, b), range(a + b, c)),
        Folds::Kfold {
            k,
            stratified,
            split_seed,
            over,
        } => {
            let fold = spec.fold.ok_or("k-fold run without a fold index")?;
            let merged = match over {
                FoldScope::TrainVal => a + b,
                FoldScope::All => a + b + c,
            };
            if merged < k as usize {
                return Err(format!("{merged} samples cannot be split into {k} folds"));
            }
            let assignment = sweep_data::folds::assign_folds(
                &pool.labels[..merged * pool.label_width],
                pool.label_width,
                spec.dataset_ref().info.task,
                k as usize,
                stratified,
                split_seed,
            );
            let (train, held_out) = sweep_data::folds::fold_split(&assignment, fold as u8);
            let test = match over {
                FoldScope::TrainVal => range(a + b, c),
                FoldScope::All => held_out.clone(),
            };
            (train, held_out, test)
        }
    };
    let (train, val, test) = match spec.train.subset.map(|s| s as usize) {
        Some(cap) if cap < train.len() => {
            let ratio = cap as f64 / train.len() as f64;
            let shrink = |s: Vec<usize>| {
                let keep = ((s.len() as f64 * ratio).ceil() as usize)
                    .max(32)
                    .min(s.len());
                strided(&s, keep)
            };
            (strided(&train, cap), shrink(val), shrink(test))
        }
        _ => (train, val, test),
    };
    if train.is_empty() || val.is_empty() || test.is_empty() {
        return Err(format!(
            "empty split after folds/subset (train {}, val {}, test {})",
            train.len(),
            val.len(),
            test.len()
        ));
    }
    Ok(SplitIndices { train, val, test })
}

/// `keep` of `items`, spread evenly (the trainer's deterministic subset).
fn strided(items: &[usize], keep: usize) -> Vec<usize> {
    let n = items.len();
    (0..keep).map(|i| items[i * n / keep]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(folds: &str, fold: Option<u32>, subset: Option<u32>) -> RunSpec {
        let mut json = serde_json::json!({
            "dataset": "synthetic:breastmnist", "arch": "net", "lr": 0.001,
            "class_weighting": "none", "pos_weight": "none", "folds": "none",
            "fold": fold, "seed": 0,
            "train": serde_json::to_value(sweep_core::train_options::TrainOptions::default()).unwrap(),
        });
        json["folds"] = serde_json::from_str(folds).unwrap();
        json["train"]["subset"] = serde_json::json!(subset);
        serde_json::from_value(json).unwrap()
    }

    fn pool(sizes: [usize; 3]) -> Pool {
        let n: usize = sizes.iter().sum();
        Pool {
            data_file: PathBuf::from("x.npz"),
            sizes,
            labels: (0..n).map(|i| (i % 2) as u8).collect(),
            label_width: 1,
            image: ImageShape {
                height: 28,
                width: 28,
                channels: 1,
            },
        }
    }

    #[test]
    fn official_split_and_folds_index_the_pool() {
        let p = pool([10, 4, 6]);
        let official = split_indices(&spec("\"none\"", None, None), &p).unwrap();
        assert_eq!(official.val, [10, 11, 12, 13]);
        assert_eq!(official.test, (14..20).collect::<Vec<_>>());
        let kfold = r#"{"kfold": {"k": 2, "stratified": true, "split_seed": 0}}"#;
        let mut seen: Vec<usize> = Vec::new();
        for fold in 0..2 {
            let s = split_indices(&spec(kfold, Some(fold), None), &p).unwrap();
            assert_eq!(s.train.len() + s.val.len(), 14);
            assert_eq!(s.test, (14..20).collect::<Vec<_>>());
            seen.extend(&s.val);
        }
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..14).collect::<Vec<_>>(),
            "every sample held out once"
        );
        let all = r#"{"kfold": {"k": 2, "stratified": true, "split_seed": 0, "over": "all"}}"#;
        let s = split_indices(&spec(all, Some(1), None), &p).unwrap();
        assert_eq!(s.val, s.test);
        assert_eq!(s.train.len() + s.val.len(), 20);
    }

    #[test]
    fn generated_data_is_written_in_the_medmnist_layout_the_indices_refer_to() {
        let tmp = tempfile::tempdir().unwrap();
        let mut run = spec(
            r#"{"kfold": {"k": 3, "stratified": true, "split_seed": 1}}"#,
            Some(2),
            None,
        );
        run.dataset = "synthetic:dermamnist".into();
        let input = sweep_core::hash::KeyInput::new(run, "0".repeat(64));
        let file = SpecFile {
            key: input.key(),
            input,
            data_file: None,
            experiments: vec![],
            label: None,
            workdir: None,
        };
        let (inputs, pool) = prepare(tmp.path(), &file).unwrap();
        assert_eq!(inputs.data_file, tmp.path().join(DATA_FILE));
        assert_eq!((inputs.num_outputs, inputs.label_width), (7, 1));
        assert_eq!(inputs.task, TaskKind::MultiClass);
        assert_eq!(inputs.image.channels, 3);
        let dataset = sweep_data::catalog::DatasetRef::parse("dermamnist").unwrap();
        let back = sweep_data::medmnist::load_medmnist(&inputs.data_file, &dataset).unwrap();
        let labels: Vec<u8> = [&back.train, &back.val, &back.test]
            .iter()
            .flat_map(|s| s.labels.clone())
            .collect();
        assert_eq!(labels, pool.labels);
        assert_eq!(inputs.pool, [back.train.n, back.val.n, back.test.n]);
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(tmp.path().join(INPUTS_FILE)).unwrap()).unwrap();
        assert_eq!(
            written["indices"]["val"],
            serde_json::json!(inputs.indices.val)
        );
        assert_eq!(written["task"], "multi-class");
    }

    #[test]
    fn subsets_cap_training_and_shrink_the_rest_as_the_trainer_does() {
        let p = pool([1000, 200, 400]);
        let s = split_indices(&spec("\"none\"", None, Some(100)), &p).unwrap();
        assert_eq!(s.train.len(), 100);
        assert_eq!(s.train[..3], [0, 10, 20]);
        assert_eq!(s.val.len(), 32, "20 in proportion, at least 32");
        assert_eq!(s.test.len(), 40);
        assert_eq!(s.test[0], 1200);
    }
}
